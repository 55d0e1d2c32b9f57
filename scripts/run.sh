#!/usr/bin/env bash
# Entry point of the README's commands: installs what is missing, then runs the task.
#   scripts/run.sh dev     the API and a worker with local Redis and FerretDB (Ctrl-C stops all)
#   scripts/run.sh test    type check, lint and the whole tap suite against real services
#   scripts/run.sh bench   the benchmarks (see BENCHMARKS.md)
#   scripts/run.sh openapi regenerate openapi/openapi.json from the route schemas
set -euo pipefail
cd "$(dirname "$0")/.."
task=${1:?usage: scripts/run.sh dev|test|bench [args]}
shift
[ "$task" = test ] && [ "${SKIP_BROWSER_TESTS:-0}" != 1 ] && export BOOTSTRAP_CHROMIUM=1
source scripts/bootstrap.sh
case "$task" in
  dev) exec node scripts/dev.ts "$@" ;;
  test) exec node scripts/test.ts "$@" ;;
  bench) exec node bench/run.ts "$@" ;;
  openapi) exec node scripts/write-openapi.ts "$@" ;;
  *) echo "unknown task: $task" >&2; exit 2 ;;
esac
