#!/usr/bin/env bash
# Runs a speculative plan (plan only, never applied) of each stack named in a file, through the
# stack's `cloud` backend: a bot's workspace (created by the hcp-terraform stack) plans remotely in
# HCP Terraform with its plan identity, so no cloud credential is on the runner. Shared stacks
# run where their owner is (Local execution): where BOTFLEET_PLAN_SHARED names their cloud ("azure
# gcp": the workflow has a read-only plan identity of that cloud for the runner) they are planned
# here, their state read through the plan token; otherwise, and hcp-terraform always (its plan
# needs the organization's owner), they are marked skipped. Writes <out>/<stack>.log and <out>/<stack>.exit for scripts/pr-comment.ts, which links
# the runs in the review comment, and <out>/<stack>.plan.json, the run's plan as JSON, which it
# checks against the review's actions (or <out>/<stack>.plan-json.error saying why there is none).
# A bot whose workspace does not exist yet (added in this change; hcp-terraform not applied) is
# marked no-workspace, not planned: init would create the workspace without credentials.
#   bash scripts/speculative-plans.sh <changed-stacks.txt> <out dir> [<synth output dir>]
set -uo pipefail
# shellcheck source=SCRIPTDIR/hcp-workspace.sh
. "$(dirname "$0")/hcp-workspace.sh"
list="$1"
out="$2"
synth="${3:-cdktf.out}"
mkdir -p "$out"
while IFS= read -r stack; do
  [ -n "$stack" ] || continue
  here=""
  case "$stack" in
    azure-shared-* | gcp-shared-*)
      if [[ " ${BOTFLEET_PLAN_SHARED:-} " == *" ${stack%%-*} "* ]]; then
        here=1
      else
        echo "speculative-plans: $stack is planned and applied by its owner, not here (no plan identity on this runner)"
        echo skipped >"$out/$stack.exit"
        continue
      fi ;;
    hcp-terraform)
      echo "speculative-plans: $stack is planned and applied by its owner, not here"
      echo skipped >"$out/$stack.exit"
      continue ;;
  esac
  dir="$synth/stacks/$stack"
  if [ ! -f "$dir/cdk.tf.json" ]; then
    echo "speculative-plans: no synthesized stack $stack in $synth" >&2
    echo 2 >"$out/$stack.exit"
    continue
  fi
  if workspace_missing "$dir"; then
    echo "speculative-plans: $stack: workspace $MISSING_WORKSPACE does not exist yet (or this token may not read it); an owner applies hcp-terraform first (npx cdktf deploy hcp-terraform)"
    echo no-workspace >"$out/$stack.exit"
    continue
  fi
  echo "speculative-plans: $stack${here:+ (on this runner)}"
  if [ -n "$here" ]; then
    (
      cd "$dir" &&
        terraform init -input=false -no-color &&
        terraform plan -input=false -no-color -lock=false -out=speculative.tfplan
    ) >"$out/$stack.log" 2>&1
    status=$?
    # Each resource's address and actions only: the whole plan holds the state's values, secrets
    # among them, and the plans are uploaded with the review.
    if [ "$status" -eq 0 ]; then
      (cd "$dir" && terraform show -json speculative.tfplan) 2>"$out/$stack.plan-json.error" |
        jq '{resource_changes: [.resource_changes[]? | {address, mode, type, name, module_address, change: {actions: .change.actions}}]}' >"$out/$stack.plan.json.new" 2>>"$out/$stack.plan-json.error" &&
        mv "$out/$stack.plan.json.new" "$out/$stack.plan.json" && rm -f "$out/$stack.plan-json.error"
      rm -f "$out/$stack.plan.json.new"
    fi
    rm -f "$dir/speculative.tfplan"
    echo runner >"$out/$stack.where"
    echo "$status" >"$out/$stack.exit"
    continue
  fi
  (
    cd "$dir" &&
      terraform init -input=false -no-color &&
      terraform plan -input=false -no-color -lock=false
  ) >"$out/$stack.log" 2>&1
  status=$?
  # The plan's JSON, for the comparison with the review (scripts/pr-comment.ts): what went wrong
  # fetching it is kept instead, and said in the comment.
  run=$(grep -o 'runs/run-[A-Za-z0-9]*' "$out/$stack.log" | head -1 | cut -d/ -f2)
  if [ "$status" -eq 0 ] && [ -n "$run" ]; then
    plan_json "$dir" "$run" >"$out/$stack.plan.json.new" 2>"$out/$stack.plan-json.error" &&
      mv "$out/$stack.plan.json.new" "$out/$stack.plan.json" && rm -f "$out/$stack.plan-json.error"
    rm -f "$out/$stack.plan.json.new"
  elif [ "$status" -eq 0 ]; then
    echo "no run link in the plan's log" >"$out/$stack.plan-json.error"
  fi
  echo "$status" >"$out/$stack.exit"
done <"$list"
