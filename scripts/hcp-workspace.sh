# shellcheck shell=bash
# Sourced by speculative-plans.sh and deploy-changed.sh.
#
# workspace_missing <stack dir>: succeeds, and sets MISSING_WORKSPACE, when the stack's `cloud`
# block names an HCP Terraform workspace the API answers 404 for: it does not exist, or this token
# may not read it (HCP Terraform answers both alike; a bad token gets 401). It fails when
# the workspace exists, when the stack has no `cloud` block, and when the API cannot answer:
# Terraform then reports whatever is wrong. Why ask first: `terraform init` creates a missing
# workspace by itself (terraform v1.11 internal/cloud/backend.go, StateMgr), with no run
# credentials, so the plan or deploy fails there, and the hcp-terraform stack then fails to create
# a workspace that already exists. The workspaces are the hcp-terraform stack's to create.
workspace_missing() {
  local cloud host org name var code
  [ -f "$1/cdk.tf.json" ] || return 1
  cloud=$(node -e '
    const c = (JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).terraform ?? {}).cloud;
    if (c?.workspaces?.name) console.log([c.hostname ?? "app.terraform.io", c.organization, c.workspaces.name].join(" "));
  ' "$1/cdk.tf.json") || return 1
  [ -n "$cloud" ] || return 1
  read -r host org name <<<"$cloud"
  # Terraform's own credential variable for the host: dots become _, hyphens __.
  var="TF_TOKEN_${host//./_}"
  var="${var//-/__}"
  code=$(curl -s --max-time 30 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${!var:-}" \
    "https://$host/api/v2/organizations/$org/workspaces/$name") || return 1
  [ "$code" = 404 ] || return 1
  # shellcheck disable=SC2034 # read by the scripts that source this file
  MISSING_WORKSPACE="$name"
}
