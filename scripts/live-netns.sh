#!/bin/sh
# Runs the live suite inside the private network namespace `unshare -n` gives it: only lo, up,
# plus the addresses the tests play: Docker's bridge gateway (the VM's proxy peer), a client and
# a managed platform's front end. Nothing the gateway tries can leave the machine.
set -eu
ip link set lo up
ip addr add 172.17.0.1/32 dev lo
ip addr add 192.0.2.10/32 dev lo
ip addr add 169.254.1.1/32 dev lo
status=0
npx jest --ci -c jest.live.config.js "$@" || status=$?
# The namespace is this script's alone: whatever a gateway left running in it goes with it.
self="$(readlink /proc/$$/ns/net)"
for p in /proc/[0-9]*; do
  pid="${p#/proc/}"
  if [ "$pid" != "$$" ] && [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$self" ]; then kill -9 "$pid" 2>/dev/null || true; fi
done
exit "$status"
