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
# not_ready WHAT: called while the bot waits; once it has not been ready for
# BOTFLEET_NOT_READY_SECONDS, says so (the not-ready alert reads it), again every as long.
not_ready_seconds=${BOTFLEET_NOT_READY_SECONDS:-900}
not_ready_since=$(date +%s)
not_ready_told=""
not_ready() {
  now=$(date +%s)
  [ $((now - not_ready_since)) -ge "$not_ready_seconds" ] || return 0
  [ -z "$not_ready_told" ] || [ $((now - not_ready_told)) -ge "$not_ready_seconds" ] || return 0
  echo "botfleet: NOT READY for $(((now - not_ready_since) / 60)) min: $1" >&2
  not_ready_told=$now
}

# Waiting for secrets is a state, not a failure: exiting would fail the revision (Cloud Run then
# leaves the service tainted; Container Apps never provisions it). A small server answers the
# health probes with what is missing and how to fix it, until a restart after the secrets are set.
if [ -n "$missing" ]; then
  BOTFLEET_WAITING="botfleet: WAITING FOR SECRETS:$missing. $BOTFLEET_SECRET_HINT"
  echo "$BOTFLEET_WAITING" >&2
  waiting_server=$BOTFLEET_WAITING_SERVER
  export BOTFLEET_WAITING
  unset BOTFLEET_AGENT_CONFIG BOTFLEET_CONFIG_CHECK BOTFLEET_RELEASE BOTFLEET_REQUIRED_SECRETS BOTFLEET_OPTIONAL_SECRETS BOTFLEET_SECRET_HINT BOTFLEET_CONFIG_PATH BOTFLEET_WAITING_SERVER BOTFLEET_STATE_READY
  (eval "exec $waiting_server") &
  server=$!
  trap 'kill "$server" 2>/dev/null; wait "$server"; exit 0' TERM INT
  while kill -0 "$server" 2>/dev/null; do
    not_ready "waiting for secrets:$missing"
    sleep 5 &
    wait $! || true
  done
  wait "$server" || exit $?
  exit 0
fi

# The runtime's own check of this revision's config (BOTFLEET_CONFIG_CHECK), on a scratch state
# directory, before the state or the lease is waited for: a config the runtime refuses fails this
# revision's start before it answers any probe, so the platform never moves to it (Container Apps
# keeps the active revision until a new one is ready; Cloud Run keeps traffic on the last ready
# revision) and the deploy fails with this reason (docs/day-2.md).
if [ -n "${BOTFLEET_CONFIG_CHECK:-}" ]; then
  BOTFLEET_CHECK_DIR=$(mktemp -d)
  export BOTFLEET_CHECK_DIR
  printf '%s\n' "$BOTFLEET_AGENT_CONFIG" > "$BOTFLEET_CHECK_DIR/$(basename "$BOTFLEET_CONFIG_PATH")"
  if ! refused=$(eval "$BOTFLEET_CONFIG_CHECK" 2>&1); then
    echo "botfleet: CONFIG REFUSED by the runtime's check; this revision does not start: $refused" >&2
    rm -rf "$BOTFLEET_CHECK_DIR"
    exit 78
  fi
  rm -rf "$BOTFLEET_CHECK_DIR"
  unset BOTFLEET_CHECK_DIR BOTFLEET_CONFIG_CHECK
  echo "botfleet: config checked by the runtime" >&2
fi

# waiting TEXT: a waiting server answers the probes with TEXT (in the background) until `ready`.
# The platform's liveness probe keeps watching once the startup probe passed: nothing may leave the
# port unanswered for long before the agent's own start.
waiting=""
waiting() {
  ready
  BOTFLEET_WAITING=$1
  echo "$BOTFLEET_WAITING" >&2
  export BOTFLEET_WAITING
  (eval "exec $BOTFLEET_WAITING_SERVER") &
  waiting=$!
}
ready() {
  if [ -n "$waiting" ]; then
    kill "$waiting" 2>/dev/null || true
    wait "$waiting" || true
    waiting=""
  fi
  unset BOTFLEET_WAITING
}
# state-sync inside this container where a sidecar would cost more (Cloud Run: BOTFLEET_STATE_SYNC_*
# set by targets/gcp-cloud-run/bot-service.ts): the image's own node runs the engine, the agent's
# secrets not in its environment. It is stopped after the agent has exited, so its final snapshot
# holds all the agent wrote, and before this container ends, so it releases the lease; a signal
# meanwhile must not cut that short.
sync=""
stop_sync() {
  if [ -n "$sync" ]; then
    trap '' TERM INT
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) botfleet: no agent runs; stopping state-sync (its final snapshot, then the lease)" >&2
    kill -TERM "$sync" 2>/dev/null || true
    wait "$sync" || true
    sync=""
  fi
}
# A launcher that fails (a plugin that does not install) takes its waiting server with it, and
# one stopped while it waits exits at once: as the container's PID 1, sh ignores SIGTERM unless
# trapped, and the platform would wait out its whole grace period. A signal while the engine is
# being started is held until its process is known.
trap 'ready; stop_sync' EXIT
if [ -n "${BOTFLEET_STATE_SYNC_ENGINE:-}" ]; then
  signalled=""
  trap 'signalled=yes' TERM INT
  (
    node=$BOTFLEET_STATE_SYNC_NODE loader=$BOTFLEET_STATE_SYNC_LOADER engine=$BOTFLEET_STATE_SYNC_ENGINE
    for name in $BOTFLEET_REQUIRED_SECRETS $BOTFLEET_OPTIONAL_SECRETS $(env | sed -n 's/^\(BOTFLEET_[A-Z0-9_]*\)=.*/\1/p'); do unset "$name"; done
    exec "$node" -e "$loader" "$engine"
  ) &
  sync=$!
  echo "botfleet: state-sync started in this container" >&2
  [ -z "$signalled" ] || exit 143
fi
trap 'exit 143' TERM INT
unset BOTFLEET_STATE_SYNC_NODE BOTFLEET_STATE_SYNC_LOADER BOTFLEET_STATE_SYNC_ENGINE
for name in $(env | sed -n 's/^\(STATE_SYNC_[A-Z0-9_]*\)=.*/\1/p'); do unset "$name"; done
# An engine that has exited no longer renews the lease, nor will it restore: this container ends
# (exit 75), and the platform starts it again, engine and all.
sync_gone() {
  [ -n "$sync" ] && ! kill -0 "$sync" 2>/dev/null
}

# state-sync (a sidecar, or started above) restores the bot's state into the local volume, then
# writes the ready file. Until then the agent must not start: it would begin on empty state, and during a
# revision overlap the previous instance still holds the lease and polls the chat channels (one
# poller per bot token). Meanwhile the probes get a waiting answer, so the new revision becomes
# ready, the platform stops the old one, and its final snapshot and lease release let this one go.
# The ready file holds the time (epoch seconds) until which state-sync has proven its lease; it
# rewrites it at every renewal and removes it when it loses the lease.
state_ready() {
  held=$(cat "$1" 2>/dev/null) || return 1
  case "$held" in '' | *[!0-9]*) return 1 ;; esac
  [ "$held" -gt "$(date +%s)" ]
}
ready_file=${BOTFLEET_STATE_READY:-}
if [ -n "$ready_file" ] && ! state_ready "$ready_file"; then
  waiting "botfleet: WAITING FOR STATE: state-sync has not restored the bot's state yet (it waits for the lease while another instance holds it); see its log"
  until state_ready "$ready_file"; do
    not_ready "waiting for the state: state-sync has not restored it (it waits for the lease while another instance holds it); see its log"
    if sync_gone; then
      echo "botfleet: STATE-SYNC EXITED before the state was restored (see its log above); this container ends and starts again" >&2
      exit 75
    fi
    sleep 1 &
    wait $! || true
  done
  echo "botfleet: state restored" >&2
fi

umask 077
config_path=$BOTFLEET_CONFIG_PATH
config=$BOTFLEET_AGENT_CONFIG
release=${BOTFLEET_RELEASE:-unknown}
image=${BOTFLEET_IMAGE:-unknown}
health_check=${BOTFLEET_HEALTH_CHECK:-}
gate_seconds=${BOTFLEET_GATE_SECONDS:-80}
gate_checks=${BOTFLEET_GATE_CHECKS:-2}
gate_starts=${BOTFLEET_GATE_STARTS:-2}
gate_interval=${BOTFLEET_GATE_INTERVAL:-5}
memory_limit_percent=${BOTFLEET_MEMORY_RESTART_PERCENT:-90}
memory_checks=${BOTFLEET_MEMORY_RESTART_CHECKS:-3}
memory_interval=${BOTFLEET_MEMORY_INTERVAL:-60}
cgroup=${BOTFLEET_CGROUP:-/sys/fs/cgroup}
unset BOTFLEET_MEMORY_RESTART_PERCENT BOTFLEET_MEMORY_RESTART_CHECKS BOTFLEET_MEMORY_INTERVAL BOTFLEET_CGROUP BOTFLEET_NOT_READY_SECONDS BOTFLEET_AGENT_CONFIG BOTFLEET_RELEASE BOTFLEET_IMAGE BOTFLEET_HEALTH_CHECK BOTFLEET_GATE_SECONDS BOTFLEET_GATE_CHECKS BOTFLEET_GATE_STARTS BOTFLEET_GATE_INTERVAL BOTFLEET_REQUIRED_SECRETS BOTFLEET_OPTIONAL_SECRETS BOTFLEET_SECRET_HINT BOTFLEET_CONFIG_PATH BOTFLEET_STATE_READY
# write_config TEXT: the fleet file owns the agent config on these targets: written fresh at every
# start, atomically.
write_config() {
  mkdir -p "$(dirname "$config_path")"
  printf '%s\n' "$1" > "$config_path.botfleet-new"
  mv -f "$config_path.botfleet-new" "$config_path"
}
# The health gate (docs/day-2.md): a release whose agent does not answer its health check
# $gate_checks times in a row ($gate_interval s apart) within $gate_seconds of its start (before the platform's liveness
# probe would restart it), or that exits first, or that $gate_starts containers started without
# deciding, failed; the agent then runs the config of the last release that passed here, which
# the state keeps (state-sync snapshots it, so every instance knows it).
releases=""
running=$release
if [ -n "$ready_file" ] && [ -n "$health_check" ]; then
  releases="$(dirname "$ready_file")/.botfleet-releases"
  mkdir -p "$releases"
fi
failed_reason() {
  sed -n "s/^$1 //p" "$releases/failed" 2>/dev/null | tail -n 1
}
record_failure() {
  { grep -v "^$1 " "$releases/failed" 2>/dev/null | tail -n 9 || true; printf '%s %s\n' "$1" "$2"; } > "$releases/failed.new"
  mv -f "$releases/failed.new" "$releases/failed"
}
# can_roll_back: a release other than the running one passed here, with its config kept.
can_roll_back() {
  good=$(cat "$releases/good" 2>/dev/null || true)
  [ -n "$good" ] && [ "$good" != "$running" ] && [ -f "$releases/good.config" ]
}
# roll_back WHY: the last good release's config from now on; the image cannot change here.
roll_back() {
  echo "botfleet: ROLLED BACK to release $good: release $running failed: $1$(image_note)" >&2
  running=$good
  config=$(cat "$releases/good.config")
}
image_note() {
  good_image=$(cat "$releases/good.image" 2>/dev/null || true)
  [ -z "$good_image" ] || [ "$good_image" = "$image" ] ||
    printf '; this container keeps its image %s (release %s ran %s): deploy the previous fleet file to go back to that image' "$image" "$good" "$good_image"
}
if [ -n "$releases" ]; then
  tries=$(sed -n "s/^$release //p" "$releases/trying" 2>/dev/null || true)
  if [ -z "$(failed_reason "$release")" ] && [ "${tries:-0}" -ge "$gate_starts" ]; then
    record_failure "$release" "never passed its health gate in $tries starts (restarted before it ended)"
  fi
  why=$(failed_reason "$release")
  if [ -n "$why" ] && can_roll_back; then
    echo "botfleet: RELEASE FAILED here before: $release: $why" >&2
    roll_back "$why (until another release is deployed)"
  else
    printf '%s %s\n' "$release" "$((${tries:-0} + 1))" > "$releases/trying"
  fi
fi
write_config "$config"
# The pinned external plugins the agent needs (bootstrap/container.ts renders the script), while
# the waiting server answers: an install from the registry takes minutes on a first start.
if [ -n "${BOTFLEET_PLUGIN_SCRIPT:-}" ]; then
  waiting "botfleet: INSTALLING PLUGINS: the pinned plugins this bot needs are being installed into its state (first start only)"
  # In the background: a stop during a minutes-long install must reach the trap at once.
  sh -c "$BOTFLEET_PLUGIN_SCRIPT" botfleet-plugins &
  wait $!
fi
# What the previous instance left to keep a second agent off this state (the runtime's own
# single-host guard): state-sync's lease already makes this instance the only one.
if [ -n "${BOTFLEET_RELEASE_STALE_OWNER:-}" ]; then eval "$BOTFLEET_RELEASE_STALE_OWNER"; fi
ready
pairing_command=${BOTFLEET_PAIRING_COMMAND:-}
pairing_script=${BOTFLEET_PAIRING_SCRIPT:-}
# With state-sync inside, the agent's stop is bounded so the final snapshot after it fits the
# platform's grace (Cloud Run: 10 s): the gateway's own drain runs for minutes, and an agent that
# the platform kills takes the unsnapshotted state with it.
stop_seconds=${BOTFLEET_AGENT_STOP_SECONDS:-}
unset BOTFLEET_AGENT_STOP_SECONDS BOTFLEET_PLUGIN_SCRIPT BOTFLEET_WAITING_SERVER BOTFLEET_PORT BOTFLEET_RELEASE_STALE_OWNER BOTFLEET_PAIRING_COMMAND BOTFLEET_PAIRING_SCRIPT
echo "botfleet: starting release $running: $1" >&2
if [ -z "$ready_file" ]; then exec "$@"; fi

# With state-sync beside it, the agent never outlives the lease: a sidecar that lost it, exited or
# froze stops renewing, its ready file goes or runs out, and the agent is stopped (exit 75, the
# platform restarts the container, which waits for the lease again), so two instances never poll
# one bot token or write one state. While the agent may run, the heartbeat file says so: a
# restarted state-sync never restores under it (state-sync.mjs, AGENT_FILE).
state_dir=$(dirname "$ready_file")
heartbeat="$state_dir/.botfleet-agent-running"
# A DM pairing asked for with `botfleet pairing`: state-sync brings the request from the store
# and takes the answer back; the runtime's own pairing command runs here, beside the agent, with
# its environment and on its state (BOTFLEET_PAIRING_SCRIPT: templates/container/pair.sh).
pairing=""
# A stop asked for by the platform: the agent gets SIGTERM (also when the signal came as it
# started), and with state-sync inside, SIGKILL after its budget; the container then exits 0, as
# an agent that stopped by itself would, so a stop is never counted as a crash.
agent=""
stopping=""
asked=""
kill_at=""
trap 'stopping=yes; asked=yes; [ -z "$agent" ] || kill -TERM "$agent" 2>/dev/null || true; [ -z "$stop_seconds" ] || kill_at=$(($(date +%s) + stop_seconds))' TERM INT
status=0
killed=""
# gate_passed: this release is the last good one, its config kept for a rollback.
gate_passed() {
  printf '%s\n' "$config" > "$releases/good.config.new" && mv -f "$releases/good.config.new" "$releases/good.config"
  printf '%s\n' "$image" > "$releases/good.image"
  printf '%s\n' "$running" > "$releases/good"
  rm -f "$releases/trying"
  echo "botfleet: release $running HEALTHY: passed its health gate ($gate_checks checks in a row) $(($(date +%s) - gate_started)) s after its start" >&2
  gate=passed
}
# gate_failed WHY: recorded; back to the last good release's config if there is one (the agent is
# stopped, then started again on it), else the platform's probes decide.
gate_failed() {
  record_failure "$running" "$1"
  rm -f "$releases/trying"
  if can_roll_back; then
    echo "botfleet: RELEASE FAILED: $running: $1" >&2
    gate=rolling
    kill -TERM "$agent" 2>/dev/null || true
    restart_kill_at=$(($(date +%s) + 30))
  else
    echo "botfleet: RELEASE FAILED: $running: $1; no other release passed its health gate here to go back to" >&2
    gate=failed
  fi
}
# memory_percent: the container's memory in use, in percent of its limit (cgroup v2, else v1);
# fails where no limit is set. What the platform kills the container for (Cloud Run counts its
# in-memory volume in it too).
memory_percent() {
  if [ -r "$cgroup/memory.max" ]; then
    mem_used=$(cat "$cgroup/memory.current") && mem_limit=$(cat "$cgroup/memory.max") || return 1
  elif [ -r "$cgroup/memory/memory.limit_in_bytes" ]; then
    mem_used=$(cat "$cgroup/memory/memory.usage_in_bytes") && mem_limit=$(cat "$cgroup/memory/memory.limit_in_bytes") || return 1
  else
    return 1
  fi
  # "max" (v2) or a limit near 2^63 (v1) is no limit.
  case "$mem_used$mem_limit" in '' | *[!0-9]*) return 1 ;; esac
  [ "${#mem_limit}" -lt 19 ] && [ "$mem_limit" -gt 0 ] || return 1
  echo $((mem_used * 100 / mem_limit))
}
# durable_snapshot: the stopped agent's state in the store before it starts again: state-sync in
# this container is asked at once (SIGUSR1), a sidecar takes it at its next interval; up to 120 s.
durable_snapshot() {
  snapshot_asked=$(date -u +%Y-%m-%dT%H:%M:%S)
  [ -z "$sync" ] || kill -USR1 "$sync" 2>/dev/null || true
  waited=0
  while [ "$waited" -lt 120 ] && [ -z "$stopping" ]; do
    current=$(sed -n 's/.*"storeCurrentAt":"\([^"]*\)".*/\1/p' "$state_dir/.botfleet-state-status.json" 2>/dev/null || true)
    if [ -n "$current" ] && [ "$current" != "$snapshot_asked" ] && [ "$(printf '%s\n%s\n' "$snapshot_asked" "$current" | sort | tail -n 1)" = "$current" ]; then
      echo "botfleet: memory: state snapshot in the store (the store holds the state as of $current)" >&2
      return 0
    fi
    sleep 1 &
    wait $! || true
    waited=$((waited + 1))
  done
  echo "botfleet: memory: no snapshot confirmed within $waited s; starting the agent all the same (its stop wrote its state here)" >&2
}
memory_restart=""
while :; do
  gate=""
  [ -n "$releases" ] || gate=off
  gate_started=$(date +%s)
  gate_next=$gate_started
  gate_good=0
  restart_kill_at=""
  memory_next=$(($(date +%s) + memory_interval))
  memory_over=0
  "$@" &
  agent=$!
  [ -z "$asked" ] || kill -TERM "$agent" 2>/dev/null || true
  while kill -0 "$agent" 2>/dev/null; do
    touch "$heartbeat" 2>/dev/null || true
    now=$(date +%s)
    if [ -z "$stopping" ] && [ -z "$gate" ] && [ "$now" -ge "$gate_next" ]; then
      gate_next=$((now + gate_interval))
      # In the background: a stop meanwhile reaches the trap at once.
      if (eval "$health_check") >/dev/null 2>&1 & wait $!; then gate_good=$((gate_good + 1)); else gate_good=0; fi
      if [ "$gate_good" -ge "$gate_checks" ]; then
        gate_passed
      elif [ $((now - gate_started)) -ge "$gate_seconds" ]; then
        gate_failed "its agent did not answer its health check $gate_checks times in a row within $gate_seconds s of its start"
      fi
    fi
    # Memory (issue 36): over its threshold for $memory_checks checks in a row, the agent is
    # restarted gracefully, snapshot first, before the platform kills the container mid-write.
    if [ -z "$stopping" ] && [ -n "$gate" ] && [ "$gate" != rolling ] && [ -z "$memory_restart" ] && [ "$now" -ge "$memory_next" ]; then
      memory_next=$((now + memory_interval))
      if used=$(memory_percent) && [ "$used" -ge "$memory_limit_percent" ]; then
        memory_over=$((memory_over + 1))
        if [ "$memory_over" -ge "$memory_checks" ]; then
          echo "botfleet: memory: the container uses $used% of its memory limit (restart at $memory_limit_percent% for $memory_checks checks $memory_interval s apart): restarting the agent, snapshot first" >&2
          memory_restart=$used
          kill -TERM "$agent" 2>/dev/null || true
          restart_kill_at=$((now + ${stop_seconds:-30}))
        fi
      else
        memory_over=0
      fi
    fi
    if [ -n "$restart_kill_at" ] && [ "$now" -ge "$restart_kill_at" ]; then
      kill -KILL "$agent" 2>/dev/null || true
      restart_kill_at=""
    fi
    if [ -n "$pairing" ] && ! kill -0 "$pairing" 2>/dev/null; then
      wait "$pairing" || true
      pairing=""
    fi
    if [ -n "$pairing_command" ] && [ -z "$pairing" ] && [ -f "$state_dir/.botfleet-pairing-request" ] && [ ! -f "$state_dir/.botfleet-pairing-result" ]; then
      sh -c "$pairing_script" botfleet-pair "$state_dir" "$pairing_command" &
      pairing=$!
    fi
    if [ -n "$kill_at" ] && [ "$(date +%s)" -ge "$kill_at" ]; then
      echo "botfleet: the agent did not stop within $stop_seconds s of SIGTERM; killed, so that state-sync's final snapshot fits the platform's grace" >&2
      kill -KILL "$agent" 2>/dev/null || true
      kill_at=""
      killed=yes
    fi
    if [ -z "$stopping" ] && sync_gone; then
      stopping=yes
      echo "botfleet: STATE-SYNC EXITED (see its log above): nothing renews the lease or snapshots the state; stopping the agent" >&2
      kill -TERM "$agent" 2>/dev/null || true
      status=75
    fi
    if [ -z "$stopping" ] && ! state_ready "$ready_file"; then
      stopping=yes
      echo "botfleet: LEASE NOT HELD: state-sync no longer proves its lease on the bot's state (see its log); stopping the agent" >&2
      kill -TERM "$agent" 2>/dev/null || true
      status=75
    fi
    # Once stopping, every moment of the platform's grace counts.
    if [ -n "$stopping" ]; then sleep 0.2 & else sleep 1 & fi
    wait $! || true
  done
  code=0
  wait "$agent" || code=$?
  # A stop during the gate counts as a start that did not decide only when the platform stopped an
  # agent that never answered (its liveness probe's restart); a lost lease is not the release's.
  if [ -n "$stopping" ] && [ -z "$gate" ] && { [ -z "$asked" ] || [ "$gate_good" -gt 0 ]; }; then rm -f "$releases/trying"; fi
  if [ -z "$stopping" ] && [ -z "$gate" ]; then
    gate_failed "its agent exited with code $code before its health gate passed"
  fi
  if [ -z "$stopping" ] && [ -n "$memory_restart" ]; then
    durable_snapshot
    echo "botfleet: memory: RESTARTED the agent at $memory_restart% of its memory limit" >&2
    memory_restart=""
    echo "botfleet: starting release $running: $1" >&2
    continue
  fi
  if [ -z "$stopping" ] && [ "$gate" = rolling ]; then
    roll_back "$(failed_reason "$running")"
    write_config "$config"
    echo "botfleet: starting release $running: $1" >&2
    continue
  fi
  [ "$code" = 0 ] || [ "$status" = 75 ] || status=$code
  break
done
if [ -n "$killed" ] && [ "$status" != 75 ]; then status=0; fi
rm -f "$heartbeat"
stop_sync
exit "$status"
