#!/usr/bin/env bash
# Entry point of every npm script: installs what is missing (scripts/bootstrap.sh: Node 24 into
# .local/node, the npm packages, and for the tasks that start databases redis-server, FerretDB
# and its PostgreSQL), then runs the task on the project's Node 24, whatever `node` the machine has.
#   scripts/run.sh dev           the API and a worker with local Redis and FerretDB (Ctrl-C stops all)
#   scripts/run.sh test          type check, lint and the whole tap suite against real services
#   scripts/run.sh start         the API alone           } against the configured services; without
#   scripts/run.sh worker        one upload worker alone } REDIS_URL / MONGODB_URL (environment or
#   scripts/run.sh variant-worker  one variant worker alone (jemalloc when the machine has it), likewise
#   scripts/run.sh backfill-variants  queue the renderings of images stored before them, likewise
#   scripts/run.sh create-admin  an admin account        } .env), those of a running `npm run dev`
#   scripts/run.sh create-api-key  a client app's API key (--name NAME; --revoke NAME; --list), likewise
#   scripts/run.sh typecheck     tsc --noEmit
#   scripts/run.sh lint          eslint .
#   scripts/run.sh tap           tap with the given arguments (REDIS_URL / MONGODB_URL as you set them)
#   scripts/run.sh bench         the benchmarks (see BENCHMARKS.md)
#   scripts/run.sh openapi       regenerate openapi/openapi.json from the route schemas
# Arguments after the task are passed on; the task's process replaces this shell (exec), so
# signals reach it. (Under npm a `sh -c` sits above it that does not pass on a SIGTERM sent to npm
# alone: a Ctrl-C reaches the whole process group; a supervisor signals the process or its group.)
set -euo pipefail
cd "$(dirname "$0")/.."
task=${1:?usage: scripts/run.sh dev|test|start|worker|variant-worker|create-admin|create-api-key|backfill-variants|typecheck|lint|tap|bench|openapi [args]}
shift

# What bootstrap.sh installs besides Node and the npm packages: redis-server, FerretDB and PostgreSQL only
# for the tasks that start them (dev also skips those REDIS_URL / MONGODB_URL in .env point away).
case "$task" in
  dev) export BOOTSTRAP_SERVICES=1 BOOTSTRAP_SERVICES_DOTENV=1 ;;
  test | bench) export BOOTSTRAP_SERVICES=1 BOOTSTRAP_S3=1 ;;
  tap | openapi) export BOOTSTRAP_SERVICES=1 ;;
esac
[ "$task" = test ] && [ "${SKIP_BROWSER_TESTS:-0}" != 1 ] && export BOOTSTRAP_CHROMIUM=1
source scripts/bootstrap.sh

note () { printf '\033[1m[run]\033[0m %s\n' "$*" >&2; }

# The commands that reach the service's databases use the running `npm run dev`'s Redis, FerretDB
# and S3 server (its .data/dev/services.env) for whichever of REDIS_URL / MONGODB_URL / S3_* is
# set neither in the environment nor in .env. A file left by a dev launcher that is gone is ignored.
use_dev_services () {
  local file=.data/dev/services.env pid key value used=()
  [ -f "$file" ] || return 0
  pid=$(sed -n 's/^DEV_PID=//p' "$file")
  if ! [[ "$pid" =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null ||
    { [ -r "/proc/$pid/cmdline" ] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'scripts/dev\.ts'; }; then
    note "ignoring $file: the npm run dev that wrote it (pid ${pid:-?}) is no longer running"
    return 0
  fi
  # The S3 settings are there when it runs an S3 server of its own (STAGING=s3).
  for key in REDIS_URL MONGODB_URL S3_ENDPOINT S3_BUCKET S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY; do
    { [ -n "${!key:-}" ] || set_in_dotenv "$key"; } && continue
    value=$(sed -n "s/^$key=//p" "$file")
    [ -n "$value" ] || continue
    export "$key=$value"
    if [ "$key" = S3_SECRET_ACCESS_KEY ]; then used+=("$key"); else used+=("$key=$value"); fi
  done
  [ ${#used[@]} -eq 0 ] || note "using the running npm run dev's services: ${used[*]}"
}

# How the API and the workers are run: SERVICE_NODE_FLAGS of scripts/lib/spawn.ts, the one place
# that says it (the dev launcher, the tests and the benchmarks read it there too).
service_node_flags () {
  node --input-type=module -e \
    "const { SERVICE_NODE_FLAGS } = await import('./scripts/lib/spawn.ts'); console.log(SERVICE_NODE_FLAGS.join(' '))"
}

case "$task" in
  dev) exec node scripts/dev.ts "$@" ;;
  test) exec node scripts/test.ts "$@" ;;
  start | worker)
    use_dev_services
    flags=$(service_node_flags)
    read -ra flags <<<"$flags"
    if [ "$task" = start ]; then entry=src/server.ts; else entry=workers/upload-worker.ts; fi
    exec node "${flags[@]}" "$entry" "$@" ;;
  # The variant worker with the allocator that keeps sharp's memory bounded (variantWorkerEnv in
  # scripts/lib/spawn.ts), unless the environment chose one.
  variant-worker)
    use_dev_services
    flags=$(service_node_flags)
    read -ra flags <<<"$flags"
    if [ -z "${LD_PRELOAD:-}${MALLOC_ARENA_MAX:-}" ]; then
      while IFS= read -r setting; do export "${setting?}"; done < <(node --input-type=module -e \
        "const { variantWorkerEnv } = await import('./scripts/lib/spawn.ts'); for (const [k, v] of Object.entries(variantWorkerEnv())) console.log(k + '=' + v)")
    fi
    exec node "${flags[@]}" workers/variant-worker.ts "$@" ;;
  # The command-line tools against the service's databases.
  create-admin | create-api-key | backfill-variants)
    use_dev_services
    exec node "scripts/$task.ts" "$@" ;;
  typecheck) exec tsc --noEmit "$@" ;;
  lint) exec eslint . "$@" ;;
  tap) exec tap "$@" ;;
  bench) exec node bench/run.ts "$@" ;;
  openapi) exec node scripts/write-openapi.ts "$@" ;;
  *) echo "unknown task: $task" >&2; exit 2 ;;
esac
