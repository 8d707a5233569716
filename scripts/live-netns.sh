#!/bin/sh
# Runs the live suite inside the private network namespace `unshare -n` gives it: only lo, up,
# plus the addresses the tests play: Docker's bridge gateway (the VM's proxy peer), a client and
# a managed platform's front end. Nothing the gateway tries can leave the machine.
set -eu
ip link set lo up
ip addr add 172.17.0.1/32 dev lo
ip addr add 192.0.2.10/32 dev lo
ip addr add 169.254.1.1/32 dev lo
exec npx jest --ci -c jest.live.config.js "$@"
