# shellcheck shell=bash
# Sourced by speculative-plans.sh, deploy-changed.sh and owner-stacks.sh.
#
# owner_stack <stack>: succeeds for the stacks only an owner's rights apply (hcp-terraform, the
# shared stacks; config/terraform-cloud.ts isOwnerStack names the same).
owner_stack() {
  case "$1" in hcp-terraform | azure-shared-* | gcp-shared-*) return 0 ;; *) return 1 ;; esac
}

# workspace_missing <stack dir>: succeeds, and sets MISSING_WORKSPACE, when the stack's `cloud`
# block names an HCP Terraform workspace the API answers 404 for: it does not exist, or this token
# may not read it (HCP Terraform answers both alike; a bad token gets 401). It fails when
# the workspace exists, when the stack has no `cloud` block, and when the API cannot answer:
# Terraform then reports whatever is wrong. Why ask first: `terraform init` creates a missing
# workspace by itself (terraform v1.11 internal/cloud/backend.go, StateMgr), with no run
# credentials, so the plan or deploy fails there, and the hcp-terraform stack then fails to create
# a workspace that already exists. The workspaces are the hcp-terraform stack's to create.
workspace_missing() {
  local host org name code
  read -r host org name <<<"$(cloud_of "$1")"
  [ -n "$name" ] || return 1
  code=$(curl -s --max-time 30 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(token_for "$host")" \
    "https://$host/api/v2/organizations/$org/workspaces/$name") || return 1
  [ "$code" = 404 ] || return 1
  # shellcheck disable=SC2034 # read by the scripts that source this file
  MISSING_WORKSPACE="$name"
}

# cloud_of <stack dir>: "<host> <organization> <workspace>" of the stack's `cloud` block, or nothing.
cloud_of() {
  [ -f "$1/cdk.tf.json" ] || return 0
  node -e '
    const c = (JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).terraform ?? {}).cloud;
    if (c?.workspaces?.name) console.log([c.hostname ?? "app.terraform.io", c.organization, c.workspaces.name].join(" "));
  ' "$1/cdk.tf.json"
}

# token_for <host>: Terraform's own credential variable for the host (dots become _, hyphens __).
token_for() {
  local var="TF_TOKEN_${1//./_}"
  var="${var//-/__}"
  printf '%s' "${!var:-}"
}

# plan_json <stack dir> <run id>: the run's plan as JSON, redacted, as HCP Terraform serves it to a
# token that may read the run: the run names its plan, whose json-output-redacted the CLI itself
# reads while it plans (terraform v1.11.4 internal/cloud/backend_common.go:558-590); -L follows
# the redirect to the archive, where curl sends no Authorization header.
plan_json() {
  local host org name plan
  read -r host org name <<<"$(cloud_of "$1")"
  [ -n "$host" ] || { echo "the stack has no cloud block" >&2; return 1; }
  plan=$(curl -sf --max-time 60 -H "Authorization: Bearer $(token_for "$host")" "https://$host/api/v2/runs/$2" |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).data.relationships.plan.data.id))' 2>/dev/null) ||
    { echo "run $2 unreadable" >&2; return 1; }
  curl -sfL --max-time 120 -H "Authorization: Bearer $(token_for "$host")" "https://$host/api/v2/plans/$plan/json-output-redacted" ||
    { echo "plan $plan of run $2: no JSON output readable" >&2; return 1; }
}
