#!/usr/bin/env bash
# The stacks only an owner's rights can apply: hcp-terraform (workspaces, teams, the clouds' trust
# in each workspace) and the shared stacks (roles, federation, each Cloud Run bot's runtime
# account). A new bot changes them: its workspace, on Azure a federated credential per workspace
# (a managed identity's subject is matched exactly, no wildcard), on Google Cloud its runtime
# account. The deploy workflow's owner jobs apply them, in the environment `fleet-admin`, whose
# runs an owner approves (docs/secrets-and-operations.md#the-owner-job):
#   bash scripts/owner-stacks.sh when <changed-stacks.txt> <removed-stacks.txt> [<previous checkout>]
#     prints `before` (apply them before the bots: a bot is added or changed), `after` (after the
#     bots: a retired bot leaves the fleet, and its workspace may go only once its stack is
#     destroyed: tfe v0.71.0 resource_tfe_workspace.go:1165-1178 refuses to delete a workspace with
#     resources under management, and the trust in it would go first) or `none`: no owner stack
#     changed; or a bot left without being retired (its bot may still run, and applying would take
#     its identity and runtime account); or a retired bot leaves while another arrives (one needs
#     them before, the other after: two changes); or the base did not synthesize (what left is
#     unknown).
#   bash scripts/owner-stacks.sh apply <changed-stacks.txt> [<synth output dir>]
#     applies the changed ones: hcp-terraform first (the shared stacks grant its run identities),
#     then the shared stacks.
set -euo pipefail
# shellcheck source=SCRIPTDIR/hcp-workspace.sh
. "$(dirname "$0")/hcp-workspace.sh"
usage() {
  echo "usage: owner-stacks.sh when <changed-stacks.txt> <removed-stacks.txt> [<previous checkout>] | apply <changed-stacks.txt> [<synth output dir>]" >&2
  exit 2
}
[ $# -ge 2 ] || usage
mode="$1"
hcp=""
shared=()
while IFS= read -r stack; do
  case "$stack" in
    hcp-terraform) hcp=yes ;;
    azure-shared-* | gcp-shared-*) shared+=("$stack") ;;
  esac
done <"$2"
case "$mode" in
  when)
    [ $# -ge 3 ] || usage
    previous="${4:-previous}"
    if [ -z "$hcp" ] && [ "${#shared[@]}" -eq 0 ]; then
      echo none
      exit 0
    fi
    if [ ! -f "$previous/cdktf.out/manifest.json" ]; then
      echo "::warning::no base was synthesized, so which bots left is unknown: hcp-terraform and the shared stacks are not applied. An owner applies them (npx cdktf deploy hcp-terraform ...), after any removed bot's stack is destroyed" >&2
      echo none
      exit 0
    fi
    leaving=0
    while IFS= read -r stack; do
      # An owner destroys a shared stack that left by hand.
      if [ -z "$stack" ] || owner_stack "$stack"; then continue; fi
      leaving=1
      if [ "$(jq -r '.output.retired.value // empty' "$previous/cdktf.out/stacks/$stack/cdk.tf.json" 2>/dev/null)" != true ]; then
        echo "::warning::$stack left the fleet without being retired first: hcp-terraform and the shared stacks are not applied, since they would take its workspace, identity and runtime account while its bot may still run. Put it back with \"retired: true\" and deploy, then remove it (docs/day-2.md#removing-a-bot)" >&2
        echo none
        exit 0
      fi
    done <"$3"
    if [ "$leaving" = 1 ]; then
      while IFS= read -r stack; do
        if [ -z "$stack" ] || owner_stack "$stack"; then continue; fi
        if [ ! -f "$previous/cdktf.out/stacks/$stack/cdk.tf.json" ]; then
          echo "::warning::$stack joins the fleet while a retired bot leaves it: its workspace must exist before it deploys, the leaving bot's must go after its destroy. hcp-terraform and the shared stacks are not applied: add the bot in a change of its own" >&2
          echo none
          exit 0
        fi
      done <"$2"
      echo after
    else
      echo before
    fi
    ;;
  apply)
    synth="${3:-cdktf.out}"
    if [ -n "$hcp" ]; then
      if workspace_missing "$synth/stacks/hcp-terraform"; then
        echo "::error::hcp-terraform keeps its state in its own workspace $MISSING_WORKSPACE, which does not exist yet (or this token may not read it): an owner runs npm run hcp:bootstrap once, then re-runs this workflow"
        exit 1
      fi
      echo "owner-stacks: hcp-terraform"
      npx cdktf deploy hcp-terraform --skip-synth --auto-approve
    fi
    if [ "${#shared[@]}" -gt 0 ]; then
      echo "owner-stacks: ${shared[*]}"
      npx cdktf deploy "${shared[@]}" --skip-synth --auto-approve
    fi
    ;;
  *) usage ;;
esac
