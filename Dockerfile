# syntax=docker/dockerfile:1
# Opsbase for production on Node 22 (alpine). Built by docker-compose.yml / ./deploy.sh:
#   docker build --build-arg DEPLOY_COMMIT=$(git rev-parse --short HEAD) \
#                --build-arg DEPLOY_TIME=$(date -u +%FT%TZ) -t opsbase .
# TypeScript runs through tsx (a production dependency), as `npm start` does: there is no
# compile step, so the final image is the sources plus production dependencies only.

FROM node:22-alpine AS base
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

# Production dependencies only, from the lockfile. Its own stage so npm's cache and the
# toolchain a native module might need never reach the final image.
FROM base AS deps
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev

FROM base AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/app/.data
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY functions ./functions
COPY lib ./lib
COPY local ./local
COPY migrations ./migrations
COPY schema ./schema
# The code stays owned by root (read-only for the app); only the data dir is the app's.
RUN mkdir -p /app/.data && chown node:node /app/.data
# Last, so a new commit only rebuilds these layers: /api/health and the admin deploy view show them.
ARG DEPLOY_COMMIT=unknown
ARG DEPLOY_TIME=unknown
ENV DEPLOY_COMMIT=$DEPLOY_COMMIT DEPLOY_TIME=$DEPLOY_TIME
# The image's own unprivileged user (uid 1000).
USER node
EXPOSE 3000
# No curl in alpine's node image: Node's own fetch asks /api/health (200 only when the database
# and storage answer).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Pending migrations first (exit 1 naming the failed one stops the container), then the server
# as PID 1 (exec), so `docker stop`'s SIGTERM reaches it and it shuts down gracefully.
CMD ["sh", "-c", "node bin/opsbase.mjs migrate latest && exec node --import tsx functions/node.ts"]
