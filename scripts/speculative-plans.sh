#!/usr/bin/env bash
# Runs a speculative plan (plan only, never applied) of each stack named in a file, through the
# stack's `cloud` backend, so HCP Terraform records each run. Writes <out>/<stack>.log and
# <out>/<stack>.exit for scripts/pr-comment.ts, which links the runs in the review comment.
#   bash scripts/speculative-plans.sh <changed-stacks.txt> <out dir> [<synth output dir>]
set -uo pipefail
list="$1"
out="$2"
synth="${3:-cdktf.out}"
mkdir -p "$out"
while IFS= read -r stack; do
  [ -n "$stack" ] || continue
  dir="$synth/stacks/$stack"
  if [ ! -f "$dir/cdk.tf.json" ]; then
    echo "speculative-plans: no synthesized stack $stack in $synth" >&2
    echo 2 >"$out/$stack.exit"
    continue
  fi
  echo "speculative-plans: $stack"
  (
    cd "$dir" &&
      terraform init -input=false -no-color &&
      terraform plan -input=false -no-color -lock=false
  ) >"$out/$stack.log" 2>&1
  echo $? >"$out/$stack.exit"
done <"$list"
