#!/usr/bin/env bash
# One-command deploy from a developer machine to the server (README: "VPS guide").
# Pushes the branch, then over SSH: fetches and checks out that exact commit, builds the app image
# with DEPLOY_COMMIT/DEPLOY_TIME, restarts the app container, prunes old images, waits until
# /api/health reports the new commit, and prints the status and URLs. Any failed step stops the
# deploy with a non-zero exit.
set -Eeuo pipefail

usage() {
  cat <<'EOF'
Usage: ./deploy.sh [options]

Deploys the current commit of the deploy branch to the server over SSH.

Options (each also read from the environment variable shown):
  --host HOST        server to deploy to (DEPLOY_HOST, required)
  --user USER        SSH user (DEPLOY_USER, default root)
  --dir DIR          checkout on the server (DEPLOY_DIR, default /opt/opsbase)
  --branch BRANCH    branch to push and deploy (DEPLOY_BRANCH, default main)
  --remote REMOTE    git remote to push to (DEPLOY_REMOTE, default origin)
  --ref COMMIT       deploy this pushed commit instead of HEAD (a rollback); nothing is pushed
  --env-file FILE    env file on the server, relative to DIR (DEPLOY_ENV_FILE, default .env.production)
  --app-url URL      printed at the end (DEPLOY_APP_URL)
  --status-url URL   printed at the end (DEPLOY_STATUS_URL)
  --health-timeout S seconds to wait for the new version to be healthy (DEPLOY_HEALTH_TIMEOUT, default 180)
  --dry-run          print every step and command without running any of them
  -h, --help         this help

SSH options (port, key) belong in ~/.ssh/config for the host.
EOF
}

die() {
  printf 'deploy.sh: %s\n' "$*" >&2
  exit 1
}

host="${DEPLOY_HOST:-}"
user="${DEPLOY_USER:-root}"
dir="${DEPLOY_DIR:-/opt/opsbase}"
branch="${DEPLOY_BRANCH:-main}"
remote="${DEPLOY_REMOTE:-origin}"
env_file="${DEPLOY_ENV_FILE:-.env.production}"
app_url="${DEPLOY_APP_URL:-}"
status_url="${DEPLOY_STATUS_URL:-}"
health_timeout="${DEPLOY_HEALTH_TIMEOUT:-180}"
ref=""
dry_run=""

while [ $# -gt 0 ]; do
  option="$1"
  value=""
  case "$option" in
    --*=*)
      value="${option#*=}"
      option="${option%%=*}"
      ;;
  esac
  case "$option" in
    -h | --help)
      usage
      exit 0
      ;;
    --dry-run) dry_run=1 ;;
    --host | --user | --dir | --branch | --remote | --ref | --env-file | --app-url | --status-url | --health-timeout)
      if [ -z "$value" ]; then
        [ $# -ge 2 ] || die "$option needs a value"
        value="$2"
        shift
      fi
      case "$option" in
        --host) host="$value" ;;
        --user) user="$value" ;;
        --dir) dir="$value" ;;
        --branch) branch="$value" ;;
        --remote) remote="$value" ;;
        --ref) ref="$value" ;;
        --env-file) env_file="$value" ;;
        --app-url) app_url="$value" ;;
        --status-url) status_url="$value" ;;
        --health-timeout) health_timeout="$value" ;;
      esac
      ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done

[ -n "$host" ] || die "no server: set DEPLOY_HOST or pass --host (see --help)"
case "$health_timeout" in '' | *[!0-9]*) die "--health-timeout must be a number of seconds" ;; esac

current_step="start"
step() {
  current_step="$1"
  printf '\n==> %s\n' "$1"
}
trap 'printf "\ndeploy.sh: FAILED at step: %s\n" "$current_step" >&2' ERR

# Runs a command, or only prints it with --dry-run.
run() {
  if [ -n "$dry_run" ]; then
    printf '    [dry-run] would run:'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

# What runs on the server, fed to `bash -s` over SSH. Its arguments come quoted on the command line.
remote_script() {
  cat <<'EOF'
set -Eeuo pipefail
dir="$1" commit="$2" short="$3" deployed_at="$4" env_file="$5" health_timeout="$6"
current="start"
step() { current="$1"; printf -- '--- %s\n' "$1"; }
trap 'printf -- "--- FAILED on the server at: %s\n" "$current" >&2' ERR
cd "$dir"
[ -r "$env_file" ] || { echo "no $env_file in $dir (see README: VPS guide)" >&2; exit 1; }
compose() { docker compose --env-file "$env_file" "$@"; }

step "Fetching and checking out $short"
git fetch --quiet origin
git checkout --quiet --detach "$commit"

step "Building the app image ($short, $deployed_at)"
export DEPLOY_COMMIT="$short" DEPLOY_TIME="$deployed_at"
compose build app

step "Restarting the app container"
compose up -d --no-deps app

step "Removing unused images"
docker image prune -f

step "Waiting for /api/health to report $short"
port="$(sed -n 's/^PORT=\([0-9][0-9]*\).*/\1/p' "$env_file" | tail -n 1)"
url="http://127.0.0.1:${port:-3000}/api/health"
deadline=$((SECONDS + health_timeout))
until body="$(curl -fsS --max-time 5 "$url" 2>/dev/null)" && printf '%s' "$body" | grep -q "\"commit\":\"$short\""; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "the app did not report $short as healthy within ${health_timeout}s; its last log lines:" >&2
    compose logs --tail 50 app >&2 || true
    false
  fi
  sleep 2
done
echo "healthy: $body"

step "Status"
compose ps
EOF
}

step "Checking the working tree"
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || die "not inside a git checkout"
dirty="$(git status --porcelain)"
if [ -n "$dirty" ]; then
  printf '%s\n' "$dirty" >&2
  die "the working tree has uncommitted changes: commit or stash them first, so what is deployed is what is pushed"
fi
if [ -z "$ref" ]; then
  on_branch="$(git rev-parse --abbrev-ref HEAD)"
  [ "$on_branch" = "$branch" ] || die "on branch '$on_branch', but deploys go from '$branch' (switch, or pass --branch)"
fi
commit="$(git rev-parse --verify --quiet "${ref:-HEAD}^{commit}")" || die "unknown commit: ${ref:-HEAD}"
short="$(git rev-parse --short "$commit")"
deployed_at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "    commit $short ($(git log -1 --format=%s "$commit")), deploy time $deployed_at"

if [ -z "$ref" ]; then
  step "Pushing $branch to $remote"
  run git push "$remote" "HEAD:refs/heads/$branch"
else
  step "Rolling back to $short (already pushed; nothing to push)"
fi

step "Deploying $short to $user@$host:$dir"
remote_command="bash -s -- $(printf '%q ' "$dir" "$commit" "$short" "$deployed_at" "$env_file" "$health_timeout")"
if [ -n "$dry_run" ]; then
  printf '    [dry-run] would run: ssh %q %q\n    [dry-run] with this script on the server:\n' "$user@$host" "$remote_command"
  remote_script | sed 's/^/      | /'
else
  remote_script | ssh -o BatchMode=yes "$user@$host" "$remote_command"
fi

step "Done"
if [ -n "$dry_run" ]; then
  echo "Dry run: nothing was pushed or deployed."
else
  echo "Deployed $short at $deployed_at"
fi
[ -z "$app_url" ] || echo "App:    $app_url  (health: ${app_url%/}/api/health)"
[ -z "$status_url" ] || echo "Status: $status_url"
