#!/usr/bin/env bash
# Deploys the bot stacks named in a file (the review's changed-stacks.txt), exactly as synthesized.
# Shared stacks are reported, not deployed: they hold the roles and the federation the deploy
# identity itself relies on, so an owner applies them (docs/secrets-and-operations.md#deploying-from-github-actions).
# Removed stacks are reported too: destroying a bot is never automatic. A bot whose HCP Terraform
# workspace does not exist yet is not deployed (init would create it without credentials): the
# others are, then the script fails, naming the owner's step.
#   bash scripts/deploy-changed.sh <changed-stacks.txt> [<removed-stacks.txt>] [<synth output dir>]
set -euo pipefail
# shellcheck source=SCRIPTDIR/hcp-workspace.sh
. "$(dirname "$0")/hcp-workspace.sh"
changed="$1"
removed="${2:-/dev/null}"
synth="${3:-cdktf.out}"
bots=()
waiting=()
while IFS= read -r stack; do
  case "$stack" in
    "") ;;
    azure-shared-* | gcp-shared-* | hcp-terraform)
      echo "::warning::$stack changed; it is not deployed from CI. An owner applies it: npx cdktf deploy $stack" ;;
    *)
      if workspace_missing "$synth/stacks/$stack"; then
        echo "::error::$stack is not deployed: its workspace $MISSING_WORKSPACE does not exist yet (or this token may not read it). An owner applies hcp-terraform first (npx cdktf deploy hcp-terraform), then re-runs this workflow"
        waiting+=("$stack")
      else
        bots+=("$stack")
      fi ;;
  esac
done <"$changed"
while IFS= read -r stack; do
  # cdktf destroy finds only stacks the fleet file still synthesizes: not this commit's.
  [ -n "$stack" ] && echo "::warning::$stack is no longer in the fleet and was not destroyed. This commit does not synthesize it, so destroy it deliberately from a checkout of the commit before, where it is still in the fleet file: npx cdktf destroy $stack (a Cloud Run bot first needs deletionProtection: false deployed from there: docs/targets/gcp-cloud-run.md)"
done <"$removed"
if [ "${#bots[@]}" -eq 0 ]; then
  echo "deploy-changed: no bot stack to deploy"
else
  echo "deploy-changed: ${bots[*]}"
  npx cdktf deploy "${bots[@]}" --skip-synth --auto-approve
fi
[ "${#waiting[@]}" -eq 0 ]
