#!/usr/bin/env bash
# Installs the validators the tests run on rendered artifacts, from Debian's packages:
# caddy (caddy validate), cloud-init (cloud-init schema), shellcheck, jq, systemd-analyze, and
# openssl (the state-sync suite's throwaway certificate for Azurite's HTTPS), iptables and
# iproute2 (the container firewall, applied in network namespaces), faketime (libfaketime: the
# state-sync suite's engines on shifted clocks).
# Does nothing when they are all present.
set -euo pipefail
declare -A package_of=([caddy]=caddy [cloud-init]=cloud-init [shellcheck]=shellcheck [jq]=jq [systemd-analyze]=systemd [iptables-restore]=iptables [ip]=iproute2 [openssl]=openssl [faketime]=faketime)
missing=()
for tool in "${!package_of[@]}"; do
  command -v "$tool" >/dev/null || missing+=("${package_of[$tool]}")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "test tools: all present"
  exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "test tools: missing ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "test tools: installing ${missing[*]}"
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
