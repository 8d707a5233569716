#!/bin/bash
# npm run hcp:bootstrap -- [cdktf deploy options, e.g. --auto-approve]
#
# Puts the hcp-terraform stack's state in HCP Terraform, in the workspace <prefix>-hcp-terraform
# that the stack creates for itself (Local execution: it runs where its owner is, as the owner).
# The stack cannot keep its state in a workspace before it has created that workspace, so:
#   1. it is applied with its state in a local file (BOTFLEET_HCP_BOOTSTRAP=1): the project, every
#      workspace (its own too), the teams and the clouds' trust; an earlier stack's local state is
#      brought up to date the same way;
#   2. that state is pushed into its workspace, still empty (`terraform state push`);
#   3. a plan against the workspace must show no change; then the local file goes.
# Run again, it does what is left: with the local file still there, 1 to 3 (1 then changes
# nothing); with the workspace there and no local file, nothing (it says so). Everything runs with
# the owner's own credentials (terraform login, az login, gcloud auth application-default login).
# Runs where cdktf.json is (npm runs it there).
set -euo pipefail
# shellcheck source=SCRIPTDIR/hcp-workspace.sh
. "$(dirname "$0")/hcp-workspace.sh"

STACK=hcp-terraform
DIR=cdktf.out/stacks/$STACK
LOCAL_STATE=terraform.$STACK.tfstate
read -r -a CDKTF <<<"${CDKTF:-npx cdktf}"
TERRAFORM=${TERRAFORM:-terraform}

say() { echo "hcp-bootstrap: $*"; }
die() {
  echo "hcp-bootstrap: $*" >&2
  exit 1
}

"${CDKTF[@]}" synth >/dev/null
read -r host organization workspace <<<"$(cloud_of "$DIR")"
[ -n "$workspace" ] || die "the fleet has no HCP Terraform organization: set terraformCloud.organization in the fleet file, or TFC_ORGANIZATION"
[ -n "$(token_for "$host")" ] || [ -f "$HOME/.terraform.d/credentials.tfrc.json" ] || die "no token for $host: run terraform login $host"

if [ ! -f "$LOCAL_STATE" ] && ! workspace_missing "$DIR"; then
  "$TERRAFORM" -chdir="$DIR" init -input=false -reconfigure >/dev/null
  [ -n "$("$TERRAFORM" -chdir="$DIR" state list)" ] ||
    die "$organization/$workspace exists but holds no state of this stack, and there is no $LOCAL_STATE here: import what the stack made (docs/secrets-and-operations.md, HCP Terraform), or delete that workspace and run this again"
  say "the state of $STACK is in $organization/$workspace already; nothing to do"
  exit 0
fi

say "1/3: applying $STACK with its state in $LOCAL_STATE"
BOTFLEET_HCP_BOOTSTRAP=1 "${CDKTF[@]}" deploy "$STACK" "$@"
[ -f "$LOCAL_STATE" ] || die "the apply wrote no $LOCAL_STATE; nothing to push"

say "2/3: pushing it into $organization/$workspace"
"${CDKTF[@]}" synth >/dev/null
# -reconfigure: the working directory last knew the local backend (step 1), and nothing is to be
# migrated through init; the push below is the one copy.
"$TERRAFORM" -chdir="$DIR" init -input=false -reconfigure >/dev/null
"$TERRAFORM" -chdir="$DIR" state push "$PWD/$LOCAL_STATE"

say "3/3: planning against $organization/$workspace"
set +e
"$TERRAFORM" -chdir="$DIR" plan -input=false -lock-timeout=60s -detailed-exitcode >/dev/null
planned=$?
set -e
[ "$planned" -eq 0 ] || die "the plan against $organization/$workspace shows changes or failed (exit $planned); $LOCAL_STATE is kept: run terraform -chdir=$DIR plan to see why"
rm -f "$LOCAL_STATE" "$LOCAL_STATE.backup"
say "done: the state of $STACK is in $organization/$workspace (Local execution); $LOCAL_STATE removed"
