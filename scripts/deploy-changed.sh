#!/usr/bin/env bash
# Deploys the bot stacks named in a file (the review's changed-stacks.txt), exactly as synthesized.
# Shared stacks are reported, not deployed: they hold the roles and the federation the deploy
# identity itself relies on, so an owner applies them (README "Deploying from GitHub Actions").
# Removed stacks are reported too: destroying a bot is never automatic.
#   bash scripts/deploy-changed.sh <changed-stacks.txt> [<removed-stacks.txt>]
set -euo pipefail
changed="$1"
removed="${2:-/dev/null}"
bots=()
while IFS= read -r stack; do
  case "$stack" in
    "") ;;
    azure-shared-* | gcp-shared-* | hcp-terraform)
      echo "::warning::$stack changed; it is not deployed from CI. An owner applies it: npx cdktf deploy $stack" ;;
    *) bots+=("$stack") ;;
  esac
done <"$changed"
while IFS= read -r stack; do
  [ -n "$stack" ] && echo "::warning::$stack is no longer in the fleet; destroy it deliberately: npx cdktf destroy $stack"
done <"$removed"
if [ "${#bots[@]}" -eq 0 ]; then
  echo "deploy-changed: no bot stack changed"
  exit 0
fi
echo "deploy-changed: ${bots[*]}"
npx cdktf deploy "${bots[@]}" --skip-synth --auto-approve
