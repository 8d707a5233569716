# botfleet launcher for managed containers (Cloud Run, Container Apps), run as `sh -c` before
# the agent: the platform injects secrets from the vault as environment variables; this checks
# them, writes the agent config from the fleet file, and hands over to the agent's own command.
set -eu

# Operator secrets hold BOTFLEET_UNSET until someone sets them. While a required one is unset the
# bot waits (see below); an optional one is removed so the agent sees it as absent.
missing=""
for name in $BOTFLEET_REQUIRED_SECRETS; do
  eval "value=\${$name:-}"
  if [ -z "$value" ] || [ "$value" = "BOTFLEET_UNSET" ]; then
    missing="$missing $name"
  fi
done
for name in $BOTFLEET_OPTIONAL_SECRETS; do
  eval "value=\${$name:-}"
  if [ "$value" = "BOTFLEET_UNSET" ]; then
    unset "$name"
  fi
done
# Waiting for secrets is a state, not a failure: exiting would fail the revision (Cloud Run then
# leaves the service tainted; Container Apps never provisions it). A small server answers the
# health probes with what is missing and how to fix it, until a restart after the secrets are set.
if [ -n "$missing" ]; then
  BOTFLEET_WAITING="botfleet: WAITING FOR SECRETS:$missing. $BOTFLEET_SECRET_HINT"
  echo "$BOTFLEET_WAITING" >&2
  waiting_server=$BOTFLEET_WAITING_SERVER
  export BOTFLEET_WAITING
  unset BOTFLEET_AGENT_CONFIG BOTFLEET_REQUIRED_SECRETS BOTFLEET_OPTIONAL_SECRETS BOTFLEET_SECRET_HINT BOTFLEET_CONFIG_PATH BOTFLEET_WAITING_SERVER BOTFLEET_STATE_READY
  eval "exec $waiting_server"
fi

# The state-sync sidecar restores the bot's state into the shared local volume and then writes
# the ready file. Until then the agent must not start: it would begin on empty state, and during a
# revision overlap the previous instance still holds the lease and polls the chat channels (one
# poller per bot token). Meanwhile the probes get a waiting answer, so the new revision becomes
# ready, the platform stops the old one, and its final snapshot and lease release let this one go.
if [ -n "${BOTFLEET_STATE_READY:-}" ] && [ ! -f "$BOTFLEET_STATE_READY" ]; then
  BOTFLEET_WAITING="botfleet: WAITING FOR STATE: the state-sync container has not restored the bot's state yet (it waits for the lease while another instance holds it); see its log"
  echo "$BOTFLEET_WAITING" >&2
  export BOTFLEET_WAITING
  (eval "exec $BOTFLEET_WAITING_SERVER") &
  waiting=$!
  while [ ! -f "$BOTFLEET_STATE_READY" ]; do sleep 1; done
  kill "$waiting"
  wait "$waiting" || true
  unset BOTFLEET_WAITING
  echo "botfleet: state restored" >&2
fi

# The fleet file owns the agent config on these targets: written fresh at every start, atomically.
umask 077
mkdir -p "$(dirname "$BOTFLEET_CONFIG_PATH")"
printf '%s\n' "$BOTFLEET_AGENT_CONFIG" > "$BOTFLEET_CONFIG_PATH.botfleet-new"
mv -f "$BOTFLEET_CONFIG_PATH.botfleet-new" "$BOTFLEET_CONFIG_PATH"
unset BOTFLEET_AGENT_CONFIG BOTFLEET_REQUIRED_SECRETS BOTFLEET_OPTIONAL_SECRETS BOTFLEET_SECRET_HINT BOTFLEET_CONFIG_PATH BOTFLEET_WAITING_SERVER BOTFLEET_PORT BOTFLEET_STATE_READY
# The pinned external plugins the agent needs (bootstrap/container.ts renders the script).
if [ -n "${BOTFLEET_PLUGIN_SCRIPT:-}" ]; then sh -c "$BOTFLEET_PLUGIN_SCRIPT" botfleet-plugins; fi
unset BOTFLEET_PLUGIN_SCRIPT
echo "botfleet: starting $1" >&2
exec "$@"
