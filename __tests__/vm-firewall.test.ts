import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IMDS_ADDRESS, renderVmBootstrap, WIRE_SERVER_ADDRESS } from "../bootstrap/azure-vm";
import { openclaw } from "../runtimes/openclaw";
import { exampleFleet } from "./support/fleet";
import { requireTool, run } from "./support/tools";

/**
 * The rendered container firewall, applied for real with iptables in network namespaces made for
 * this test: a "VM" that forwards for a "container" on the Docker bridge (FORWARD jumps to
 * DOCKER-USER, as Docker sets it up), and an "Azure" namespace that answers on the instance
 * metadata and WireServer addresses. No packet leaves the namespaces.
 */
const fleet = exampleFleet();
const bootstrap = renderVmBootstrap(fleet, fleet.bots[0], openclaw);
const file = (path: string) => bootstrap.files.find((f) => f.path === path)!.content;
const rules = file("/etc/botfleet/agent-firewall.rules");

test("the rules load with iptables-restore, twice without duplicates", () => {
  requireTool("iptables-restore", "iptables");
  const dir = mkdtempSync(join(tmpdir(), "botfleet-fw-"));
  writeFileSync(join(dir, "rules"), rules);
  const r = run("unshare", [
    "-n",
    "sh",
    "-c",
    `iptables-restore --test --noflush "$1" && iptables-restore --noflush "$1" && iptables-restore --noflush "$1" && iptables -S DOCKER-USER`,
    "sh",
    join(dir, "rules"),
  ]);
  expect(r.status).toBe(0);
  expect(r.output.trim().split("\n")).toEqual([
    "-N DOCKER-USER",
    `-A DOCKER-USER -d ${IMDS_ADDRESS}/32 -j DROP`,
    `-A DOCKER-USER -d ${WIRE_SERVER_ADDRESS}/32 -p udp -m udp --dport 53 -j RETURN`,
    `-A DOCKER-USER -d ${WIRE_SERVER_ADDRESS}/32 -p tcp -m tcp --dport 53 -j RETURN`,
    `-A DOCKER-USER -d ${WIRE_SERVER_ADDRESS}/32 -j DROP`,
    "-A DOCKER-USER -j RETURN",
  ]);
});

test("a container cannot reach the instance metadata service or the WireServer (but its DNS), while the host still can", () => {
  requireTool("iptables-restore", "iptables");
  requireTool("ip", "iproute2");
  const dir = mkdtempSync(join(tmpdir(), "botfleet-fw-"));
  writeFileSync(join(dir, "rules"), rules);
  const id = String(process.pid);
  const script = `
set -eu
VM=bfvm${id} CTR=bfctr${id} AZ=bfaz${id}
cleanup() { for n in $VM $CTR $AZ; do ip netns pids $n 2>/dev/null | xargs -r kill 2>/dev/null; ip netns del $n 2>/dev/null; done; }
trap cleanup EXIT
for n in $VM $CTR $AZ; do ip netns add $n; ip -n $n link set lo up; done
ip link add bfc${id} netns $VM type veth peer name eth0 netns $CTR
ip link add bfa${id} netns $VM type veth peer name eth0 netns $AZ
ip -n $VM addr add 172.17.0.1/16 dev bfc${id}; ip -n $VM link set bfc${id} up
ip -n $VM addr add 169.254.0.1/16 dev bfa${id}; ip -n $VM addr add 168.63.0.1/16 dev bfa${id}; ip -n $VM link set bfa${id} up
ip -n $CTR addr add 172.17.0.2/16 dev eth0; ip -n $CTR link set eth0 up; ip -n $CTR route add default via 172.17.0.1
ip -n $AZ addr add ${IMDS_ADDRESS}/16 dev eth0; ip -n $AZ addr add ${WIRE_SERVER_ADDRESS}/16 dev eth0; ip -n $AZ link set eth0 up
ip -n $AZ route add 172.17.0.0/16 via 169.254.0.1
ip netns exec $VM sysctl -qw net.ipv4.ip_forward=1
for target in ${IMDS_ADDRESS}:80 ${WIRE_SERVER_ADDRESS}:80 ${WIRE_SERVER_ADDRESS}:53; do
  ip netns exec $AZ python3 -m http.server --bind \${target%:*} \${target#*:} >/dev/null 2>&1 &
done
reach() { ip netns exec "$1" python3 -c 'import sys, urllib.request; urllib.request.urlopen("http://" + sys.argv[1] + "/", timeout=2); print("open")' "$2" 2>/dev/null || echo closed; }
# Each server listens before the first probe (a fixed pause once stood in for this).
for target in ${IMDS_ADDRESS}:80 ${WIRE_SERVER_ADDRESS}:80 ${WIRE_SERVER_ADDRESS}:53; do
  for _ in $(seq 100); do ip netns exec $AZ bash -c ": </dev/tcp/\${target%:*}/\${target#*:}" 2>/dev/null && break; sleep 0.1; done
done
echo "before: container imds=$(reach $CTR ${IMDS_ADDRESS}:80)"
# As Docker sets it up: forwarded packets pass DOCKER-USER first.
ip netns exec $VM iptables -N DOCKER-USER
ip netns exec $VM iptables -A FORWARD -j DOCKER-USER
ip netns exec $VM iptables-restore --noflush "$1"
echo "after: container imds=$(reach $CTR ${IMDS_ADDRESS}:80) wireserver=$(reach $CTR ${WIRE_SERVER_ADDRESS}:80) dns=$(reach $CTR ${WIRE_SERVER_ADDRESS}:53)"
echo "after: host imds=$(reach $VM ${IMDS_ADDRESS}:80) wireserver=$(reach $VM ${WIRE_SERVER_ADDRESS}:80)"
`;
  const r = run("bash", ["-c", script, "bash", join(dir, "rules")]);
  expect(r.output).toContain("before: container imds=open");
  expect(r.output).toContain("after: container imds=closed wireserver=closed dns=open");
  expect(r.output).toContain("after: host imds=open wireserver=open");
  expect(r.status).toBe(0);
});

test("the firewall unit applies the rules after Docker, again after every Docker restart, and before the agent", () => {
  const unit = file("/etc/systemd/system/botfleet-firewall.service");
  expect(unit).toMatch(/^ExecStart=\/usr\/sbin\/iptables-restore --noflush \/etc\/botfleet\/agent-firewall\.rules$/m);
  expect(unit).toMatch(/^PartOf=docker\.service$/m);
  expect(unit).toMatch(/^After=docker\.service$/m);
  expect(unit).toMatch(/^WantedBy=multi-user\.target docker\.service$/m);
  const agent = file("/etc/systemd/system/botfleet-agent.service");
  expect(agent).toMatch(/^Requires=docker\.service botfleet-firewall\.service$/m);
  expect(agent).toMatch(/^After=docker\.service botfleet-firewall\.service /m);
});

test("the agent container runs read-only, without capabilities or privilege escalation, within the tier's CPU, memory and process limits", () => {
  const runAgent = file("/usr/local/lib/botfleet/run-agent.sh").replace(/\\\n\s*/g, " ");
  for (const flag of ["--read-only", "--cap-drop ALL", "--security-opt no-new-privileges", "--pids-limit 1024", "--memory '3g'", "--cpus '1.8'", "--tmpfs '/tmp:rw,nosuid,nodev,size=256m'"])
    expect(runAgent).toContain(flag);
  expect(runAgent).not.toMatch(/docker\.sock|--privileged|--network[= ]host/);
  const light = renderVmBootstrap(
    fleet,
    fleet.bots.find((b) => b.tier === "light")!,
    openclaw,
  ).files.find((f) => f.path.endsWith("run-agent.sh"))!.content;
  expect(light).toContain("--memory '2560m'");
});
