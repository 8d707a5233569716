# botfleet launcher for managed containers (Cloud Run, Container Apps), run as `sh -c` before
# the agent: the platform injects secrets from the vault as environment variables; this checks
# them, writes the agent config from the fleet file, and hands over to the agent's own command.
set -eu

# Operator secrets hold BOTFLEET_UNSET until someone sets them. A required one stops the bot with
# the command that fixes it; an optional one is removed so the agent sees it as absent.
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
if [ -n "$missing" ]; then
  echo "botfleet: FAILED: required secrets not set:$missing. $BOTFLEET_SECRET_HINT" >&2
  exit 78
fi

# The fleet file owns the agent config on these targets: written fresh at every start, atomically.
umask 077
mkdir -p "$(dirname "$BOTFLEET_CONFIG_PATH")"
printf '%s\n' "$BOTFLEET_AGENT_CONFIG" > "$BOTFLEET_CONFIG_PATH.botfleet-new"
mv -f "$BOTFLEET_CONFIG_PATH.botfleet-new" "$BOTFLEET_CONFIG_PATH"
unset BOTFLEET_AGENT_CONFIG BOTFLEET_REQUIRED_SECRETS BOTFLEET_OPTIONAL_SECRETS BOTFLEET_SECRET_HINT BOTFLEET_CONFIG_PATH
# The pinned external plugins the agent needs (bootstrap/container.ts renders the script).
if [ -n "${BOTFLEET_PLUGIN_SCRIPT:-}" ]; then sh -c "$BOTFLEET_PLUGIN_SCRIPT" botfleet-plugins; fi
unset BOTFLEET_PLUGIN_SCRIPT
echo "botfleet: starting $1" >&2
exec "$@"
