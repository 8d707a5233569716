#!/usr/bin/env bash
# Deploys the bot stacks named in a file (the review's changed-stacks.txt), exactly as synthesized.
# Shared stacks are reported, not deployed: they hold the roles and the federation the deploy
# identity itself relies on, so an owner applies them (docs/secrets-and-operations.md#deploying-from-github-actions).
# A removed stack is destroyed only when the previous commit retired it (`retired: true`, its
# `retired` output): what ran the bot is gone already and the pull request accepted the loss of
# its state and secrets (the review's consent check); it is destroyed from the previous commit's
# checkout, the last that synthesizes it. Any other removed stack is reported, never destroyed. A
# bot whose HCP Terraform workspace does not exist yet is not deployed (init would create it
# without credentials): the others are, then the script fails, naming the owner's step.
#   bash scripts/deploy-changed.sh <changed-stacks.txt> [<removed-stacks.txt>] [<synth output dir>] [<previous commit's checkout>]
set -euo pipefail
# shellcheck source=SCRIPTDIR/hcp-workspace.sh
. "$(dirname "$0")/hcp-workspace.sh"
changed="$1"
removed="${2:-/dev/null}"
synth="${3:-cdktf.out}"
previous="${4:-previous}"
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
retired=()
while IFS= read -r stack; do
  [ -n "$stack" ] || continue
  if [ "$(jq -r '.output.retired.value // empty' "$previous/cdktf.out/stacks/$stack/cdk.tf.json" 2>/dev/null)" = true ]; then
    retired+=("$stack")
  else
    echo "::warning::$stack left the fleet without being retired first, and was not destroyed: its bot may still run. Put it back with \"retired: true\" and deploy, then remove it (docs/day-2.md#removing-a-bot)"
  fi
done <"$removed"
if [ "${#bots[@]}" -eq 0 ]; then
  echo "deploy-changed: no bot stack to deploy"
else
  echo "deploy-changed: ${bots[*]}"
  npx cdktf deploy "${bots[@]}" --skip-synth --auto-approve
fi
if [ "${#retired[@]}" -gt 0 ]; then
  # cdktf destroy finds only stacks the fleet file synthesizes: the previous commit's.
  echo "deploy-changed: destroying the retired ${retired[*]}"
  (cd "$previous" && npx cdktf destroy "${retired[@]}" --skip-synth --auto-approve)
fi
[ "${#waiting[@]}" -eq 0 ]
