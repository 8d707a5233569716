#!/usr/bin/env bash
# Deploys the bot stacks named in a file (the review's changed-stacks.txt), exactly as synthesized.
# Shared stacks and hcp-terraform are not deployed here: they hold the roles and the federation the
# deploy identity itself relies on, so an owner applies them, by hand or through the workflow's
# owner jobs (BOTFLEET_OWNER_STACKS=before or after: what scripts/owner-stacks.sh decided for them;
# docs/secrets-and-operations.md#the-owner-job).
# A removed stack is destroyed only when the previous commit retired it (`retired: true`, its
# `retired` output): what ran the bot is gone already and the pull request accepted the loss of
# its state and secrets (the review's consent check); it is destroyed from the previous commit's
# checkout, the last that synthesizes it. Any other removed stack is reported, never destroyed. A
# bot whose HCP Terraform workspace does not exist yet is not deployed (init would create it
# without credentials): the others are, then the script fails, naming the owner's step.
# After the deploy, each Container Apps or Cloud Run bot's new release (its BOTFLEET_RELEASE
# changed) must pass the launcher's health gate (`botfleet release wait`; a VM's updater gates and
# rolls back by itself). One that fails it is rolled back whole: its state is asked back as of the
# deploy's start, at the previous release's next start (so the older agent never reads what the
# newer one migrated), and the previous commit's stack is deployed again, its older image with
# it; then the script fails.
#   bash scripts/deploy-changed.sh <changed-stacks.txt> [<removed-stacks.txt>] [<synth output dir>] [<previous commit's checkout>]
set -euo pipefail
# shellcheck source=SCRIPTDIR/hcp-workspace.sh
. "$(dirname "$0")/hcp-workspace.sh"
changed="$1"
removed="${2:-/dev/null}"
synth="${3:-cdktf.out}"
previous="${4:-previous}"
# release_of <stack JSON>: the release a Container Apps or Cloud Run bot's revision carries (its
# launcher's BOTFLEET_RELEASE), or nothing (a VM bot, no such stack).
release_of() {
  jq -r '[.. | objects | select(.name? == "BOTFLEET_RELEASE") | .value] | first // empty' "$1" 2>/dev/null || true
}
bots=()
waiting=()
while IFS= read -r stack; do
  case "$stack" in
    "") ;;
    azure-shared-* | gcp-shared-* | hcp-terraform)
      if [ "${BOTFLEET_OWNER_STACKS:-}" = before ] || [ "${BOTFLEET_OWNER_STACKS:-}" = after ]; then
        echo "$stack changed: the owner job applies it ($BOTFLEET_OWNER_STACKS the bots)"
      else
        echo "::warning::$stack changed; it is not deployed from CI. An owner applies it: npx cdktf deploy $stack"
      fi ;;
    *)
      if workspace_missing "$synth/stacks/$stack"; then
        echo "::error::$stack is not deployed: its workspace $MISSING_WORKSPACE does not exist yet (or this token may not read it). An owner applies hcp-terraform first (npx cdktf deploy hcp-terraform; the owner job does, after the bots when a retired bot leaves in the same change), then re-runs this workflow"
        waiting+=("$stack")
      else
        bots+=("$stack")
      fi ;;
  esac
done <"$changed"
retired=()
while IFS= read -r stack; do
  [ -n "$stack" ] || continue
  if owner_stack "$stack"; then
    echo "::warning::$stack is no longer in the fleet (its last bot left) and was not destroyed: an owner destroys it by hand, from the previous commit's checkout (npx cdktf destroy $stack)"
    continue
  fi
  if [ "$(jq -r '.output.retired.value // empty' "$previous/cdktf.out/stacks/$stack/cdk.tf.json" 2>/dev/null)" = true ]; then
    # Destroyed by an earlier run, whose owner job then deleted its workspace: nothing is left,
    # and `terraform init` would create the workspace again, without credentials.
    if workspace_missing "$previous/cdktf.out/stacks/$stack"; then
      echo "$stack: destroyed already (its workspace $MISSING_WORKSPACE is gone)"
      continue
    fi
    retired+=("$stack")
  else
    echo "::warning::$stack left the fleet without being retired first, and was not destroyed: its bot may still run. Put it back with \"retired: true\" and deploy, then remove it (docs/day-2.md#removing-a-bot)"
  fi
done <"$removed"
rolled_back=()
if [ "${#bots[@]}" -eq 0 ]; then
  echo "deploy-changed: no bot stack to deploy"
else
  echo "deploy-changed: ${bots[*]}"
  started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  npx cdktf deploy "${bots[@]}" --skip-synth --auto-approve
  for bot in "${bots[@]}"; do
    # Only a new release starts a revision whose gate decides (a change of alerts or grants starts
    # none); a VM's updater gates its own.
    previous_release=$(release_of "$previous/cdktf.out/stacks/$bot/cdk.tf.json")
    release=$(release_of "$synth/stacks/$bot/cdk.tf.json")
    if [ -z "$release" ] || [ "$release" = "$previous_release" ]; then continue; fi
    gate=0
    npx botfleet release wait "$bot" --since "$started" || gate=$?
    case "$gate" in
      0) ;;
      1)
        if [ ! -f "$previous/cdktf.out/stacks/$bot/cdk.tf.json" ]; then
          echo "::error::$bot failed its health gate, and the previous commit has no $bot to go back to (the launcher runs its last good config, if any)"
        else
          echo "::error::$bot failed its health gate: going back to the previous commit's $bot, with its state as of $started"
          # The state first: without it, the older agent would start on what the newer one wrote.
          # Keyed to the previous release: the failed one's own restarts must leave it alone.
          if ! npx botfleet backups restore "$bot" --at "$started" --at-next-start ${previous_release:+--release "$previous_release"} --yes; then
            echo "::error::$bot was not rolled back: its state could not be asked back (above). The launcher runs its last good config on the new image; roll back by hand (docs/day-2.md)"
          else
            back=$(date -u +%Y-%m-%dT%H:%M:%SZ)
            (cd "$previous" && npx cdktf deploy "$bot" --skip-synth --auto-approve)
            npx botfleet release wait "$bot" --since "$back" ||
              echo "::error::$bot: the previous commit's release did not pass its health gate either: npx botfleet status $bot; npx botfleet logs $bot"
          fi
        fi
        rolled_back+=("$bot") ;;
      *) echo "::warning::$bot: its health gate could not be read (botfleet release wait exit $gate): watch npx botfleet status $bot, and roll back by hand if it failed (docs/day-2.md)" ;;
    esac
  done
fi
if [ "${#retired[@]}" -gt 0 ]; then
  # cdktf destroy finds only stacks the fleet file synthesizes: the previous commit's.
  echo "deploy-changed: destroying the retired ${retired[*]}"
  (cd "$previous" && npx cdktf destroy "${retired[@]}" --skip-synth --auto-approve)
fi
[ "${#waiting[@]}" -eq 0 ] && [ "${#rolled_back[@]}" -eq 0 ]
