#!/usr/bin/env bash
# Runs one Opsbase job through its HTTP trigger, for system cron. Reads CRON_SECRET (and PORT) from
# the env file, so no secret is ever written into the crontab. Exits non-zero when the job fails,
# is skipped, or the app does not answer, so cron's mail or your log shows it.
#   usage: cron-run.sh <job> [env-file]      e.g. cron-run.sh leads /opt/opsbase/.env.production
set -euo pipefail
job="${1:?usage: cron-run.sh <job> [env-file]}"
env_file="${2:-${OPSBASE_ENV_FILE:-/opt/opsbase/.env.production}}"
if [ -r "$env_file" ]; then
  set -a
  # shellcheck disable=SC1090
  . "$env_file"
  set +a
fi
: "${CRON_SECRET:?CRON_SECRET is not set in $env_file}"
url="${OPSBASE_URL:-http://127.0.0.1:${PORT:-3000}}/api/cron/${job}"
printf '[%s] %s ' "$(date -u +%FT%TZ)" "$job"
curl -sS --fail-with-body --max-time "${OPSBASE_CRON_TIMEOUT:-3600}" -X POST "$url" \
  -H "Authorization: Bearer ${CRON_SECRET}"
echo
