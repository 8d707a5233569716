# botfleet: one `botfleet pairing` request, run as the agent's user beside it (by the container
# launcher, or through `docker exec` into the gateway's container on a VM): the request state-sync
# wrote into the state directory (state-sync.mjs, PAIRING_FILE), the runtime's pairing command run
# with the agent's environment on its state, its time bounded below state-sync's wait (120 s), the
# answer renamed into place (PAIRING_DONE: the request's id and the exit status; .stdout, .stderr).
# Usage: sh pair.sh STATE_DIR 'PAIRING COMMAND (shell words)'
set -u
dir=$1
command=$2
answer="$dir/.botfleet-pairing-result"
id=""
action=""
channel=""
code=""
read -r id action channel code <"$dir/.botfleet-pairing-request" || true
# Only what state-sync writes (it checks the same): anything else gets no answer, and state-sync's
# wait runs out.
case "$id" in '' | *[!A-Za-z0-9_-]*) exit 0 ;; esac
case "$action:$channel:$code" in
  list:[a-z]*:*) set -- list --json "$channel" ;;
  approve:[a-z]*:?*) set -- approve "$channel" "$code" ;;
  *) set -- ;;
esac
case "$channel$code" in *[!A-Za-z0-9_-]*) set -- ;; esac
result=64
if [ $# -gt 0 ]; then
  if eval "timeout 100 $command" '"$@"' >"$answer.stdout.new" 2>"$answer.stderr.new"; then result=0; else result=$?; fi
  mv -f "$answer.stdout.new" "$answer.stdout"
  mv -f "$answer.stderr.new" "$answer.stderr"
fi
printf '%s\n%s\n' "$id" "$result" >"$answer.new"
mv -f "$answer.new" "$answer"
