# Sourced by scripts/run.sh: makes this checkout runnable on a fresh machine. Each step is skipped
# when already done, so it costs little after the first run.
#   - Node 24 (the project's runtime) into .local/node when the machine's node is another major;
#     either way the Node 24 and then node_modules/.bin come first on PATH afterwards
#   - npm dependencies, reinstalled when package-lock.json changes
#   only with BOOTSTRAP_SERVICES=1 (the tasks that start local databases):
#   - redis-server (Debian package) unless REDIS_URL points at a server
#   - FerretDB (MongoDB wire protocol) built from tools/ferretdb unless MONGODB_URL is set
#     (with BOOTSTRAP_SERVICES_DOTENV=1 a setting in .env counts too, as for `npm run dev`)
#   - PostgreSQL's server programs (Debian package `postgresql`), which FerretDB keeps its data in,
#     likewise, unless EMBEDDED_DB=sqlite (FerretDB's SQLite backend) or POSTGRES_BIN_DIR names them
#   - versitygw (an S3 server) built from the Go module proxy, only when BOOTSTRAP_S3=1 (the tests
#     and benchmarks) or STAGING=s3 (`npm run dev`), and S3_ENDPOINT does not name a server
#   - Chromium (Debian package) for the admin browser tests, only when BOOTSTRAP_CHROMIUM=1 and
#     CHROMIUM_PATH does not name one already
# Installers never read standard input (a password piped to create-admin is not theirs) and
# write to standard error only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOCAL="$ROOT/.local"
NODE_VERSION=24.21.0
mkdir -p "$LOCAL/bin"

say () { printf '\033[1m[bootstrap]\033[0m %s\n' "$*" >&2; }
fail () { say "ERROR: $*"; exit 1; }
stamp_ok () { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
# Whether .env (in the checkout) gives the setting a value, as the service would read it.
set_in_dotenv () {
  [ -f "$ROOT/.env" ] && grep -Eq "^[[:space:]]*(export[[:space:]]+)?$1[[:space:]]*=[[:space:]]*['\"]?[^[:space:]'\"#]" "$ROOT/.env"
}
# Whether the environment (or, when asked, .env) gives the setting a value.
service_configured () {
  [ -n "${!1:-}" ] || { [ "${BOOTSTRAP_SERVICES_DOTENV:-0}" = 1 ] && set_in_dotenv "$1"; }
}
# The setting's value from the environment, else (when asked) from .env's last line setting it.
setting_value () {
  if [ -n "${!1:-}" ]; then
    printf '%s' "${!1}"
  elif [ "${BOOTSTRAP_SERVICES_DOTENV:-0}" = 1 ] && [ -f "$ROOT/.env" ]; then
    sed -n -E "s/^[[:space:]]*(export[[:space:]]+)?$1[[:space:]]*=[[:space:]]*['\"]?([A-Za-z0-9_-]*).*/\2/p" "$ROOT/.env" | tail -n 1
  fi
}

apt_install () {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    fail "$1 is missing. Install the Debian/Ubuntu package '$1' (or set $2 to point at an existing server)."
  fi
  say "installing $1 from Debian packages"
  local log="$LOCAL/apt-$1.log"
  # Never a prompt (it would hang with nothing on screen); update and retry once when the
  # package lists are stale or a mirror hiccups; show apt's words when it still fails.
  export DEBIAN_FRONTEND=noninteractive
  (apt-get install -y --no-install-recommends "$1" </dev/null >"$log" 2>&1) ||
    (apt-get update </dev/null >>"$log" 2>&1 && apt-get install -y --no-install-recommends "$1" </dev/null >>"$log" 2>&1) ||
    { tail -n 20 "$log" >&2; fail "could not install $1 with apt-get (log: $log)"; }
}

# --- Node 24 ----------------------------------------------------------------------------------
# `node -v` answers without starting V8: the check costs a few milliseconds.
machine_node=$(node -v 2>/dev/null || true)
if [ "${machine_node%%.*}" != v24 ]; then
  if [ "$("$LOCAL/node/bin/node" -v 2>/dev/null)" != "v$NODE_VERSION" ]; then
    command -v npm >/dev/null || fail "npm is needed to fetch Node $NODE_VERSION (install any Node.js with npm first)"
    case "$(uname -m)" in
      x86_64) arch=x64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *) fail "no Node $NODE_VERSION package for $(uname -m): install Node 24 yourself" ;;
    esac
    say "installing Node $NODE_VERSION into .local/node (the machine has ${machine_node:-no node})"
    tmp=$(mktemp -d)
    # Node's own binaries, as published on the npm registry.
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_VERSION" </dev/null >/dev/null)
    rm -rf "$LOCAL/node" && mkdir -p "$LOCAL/node"
    tar xzf "$tmp"/node-linux-*.tgz -C "$LOCAL/node" --strip-components=1 package/bin/node
    rm -rf "$tmp"
  fi
  export PATH="$LOCAL/node/bin:$PATH"
fi

# --- npm dependencies -------------------------------------------------------------------------
lock_sum=$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)
if [ ! -d "$ROOT/node_modules" ] || ! stamp_ok "$LOCAL/npm.stamp" "$lock_sum"; then
  say "installing npm dependencies"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error </dev/null >&2)
  echo "$lock_sum" > "$LOCAL/npm.stamp"
fi
export PATH="$ROOT/node_modules/.bin:$PATH"

# --- Redis ------------------------------------------------------------------------------------
if [ "${BOOTSTRAP_SERVICES:-0}" = 1 ] && ! service_configured REDIS_URL && ! command -v redis-server >/dev/null; then
  apt_install redis-server REDIS_URL
fi

# --- FerretDB ---------------------------------------------------------------------------------
if [ "${BOOTSTRAP_SERVICES:-0}" = 1 ] && ! service_configured MONGODB_URL; then
  ferret_sum=$(cat "$ROOT"/tools/ferretdb/{go.mod,go.sum,main.go} | sha256sum | cut -d' ' -f1)
  if [ ! -x "$LOCAL/bin/ferretdb" ] || ! stamp_ok "$LOCAL/ferretdb.stamp" "$ferret_sum"; then
    go_minor=$(go env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
    [ "${go_minor:-0}" -ge 24 ] || fail "Go >= 1.24 is needed to build FerretDB (found: $(go version 2>/dev/null || echo none)); or set MONGODB_URL to a MongoDB server"
    say "building FerretDB (first run only; takes a minute or two)"
    # Built beside, then renamed over: a FerretDB running from the old binary keeps running.
    (cd "$ROOT/tools/ferretdb" && go build -o "$LOCAL/bin/ferretdb.$$" . </dev/null >&2)
    mv -f "$LOCAL/bin/ferretdb.$$" "$LOCAL/bin/ferretdb"
    echo "$ferret_sum" > "$LOCAL/ferretdb.stamp"
  fi
fi

# --- versitygw (an S3 server, for the tests and benchmarks of STAGING=s3) ------------------------
# For the tasks that ask (BOOTSTRAP_S3=1: tests, benchmarks) and for `npm run dev` with
# STAGING=s3, unless S3_ENDPOINT points at a server.
VERSITYGW_VERSION=v1.8.0
if { [ "${BOOTSTRAP_S3:-0}" = 1 ] || { [ "${BOOTSTRAP_SERVICES:-0}" = 1 ] && [ "$(setting_value STAGING)" = s3 ]; }; } && ! service_configured S3_ENDPOINT; then
  if [ ! -x "$LOCAL/bin/versitygw" ] || ! stamp_ok "$LOCAL/versitygw.stamp" "$VERSITYGW_VERSION"; then
    go_minor=$(go env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
    [ "${go_minor:-0}" -ge 24 ] || fail "Go >= 1.24 is needed to build versitygw, the tests' S3 server (found: $(go version 2>/dev/null || echo none)); or set S3_ENDPOINT (with S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY) to an S3 server"
    say "building versitygw $VERSITYGW_VERSION, the tests' S3 server (first run only; takes a minute or two)"
    tmp_bin=$(mktemp -d)
    (GOBIN="$tmp_bin" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" </dev/null >&2)
    mv -f "$tmp_bin/versitygw" "$LOCAL/bin/versitygw" && rm -rf "$tmp_bin"
    echo "$VERSITYGW_VERSION" > "$LOCAL/versitygw.stamp"
  fi
fi

# --- PostgreSQL (FerretDB's storage; scripts/lib/postgres.ts finds and runs it) ----------------
# Debian puts the server programs in /usr/lib/postgresql/<major>/bin, off the PATH.
postgres_found () {
  if [ -n "${POSTGRES_BIN_DIR:-}" ]; then [ -x "$POSTGRES_BIN_DIR/initdb" ]; return; fi
  { command -v initdb && command -v postgres; } >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}
if [ "${BOOTSTRAP_SERVICES:-0}" = 1 ] && ! service_configured MONGODB_URL && [ "$(setting_value EMBEDDED_DB)" != sqlite ] && ! postgres_found; then
  [ "$(id -u)" = 0 ] || fail "PostgreSQL's server programs are missing: install the Debian/Ubuntu package 'postgresql' (or set POSTGRES_BIN_DIR to where initdb and postgres are, MONGODB_URL to a server, or EMBEDDED_DB=sqlite for FerretDB on SQLite)"
  apt_install postgresql MONGODB_URL
fi

# --- Chromium (browser tests) -----------------------------------------------------------------
if [ "${BOOTSTRAP_CHROMIUM:-0}" = 1 ] && [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null; then
  apt_install chromium CHROMIUM_PATH
fi
