/**
 * Peers the gateway trusts as its proxy on the managed targets. On Cloud Run and Container Apps
 * the container's port is reachable only through the platform's front end (Google's front end,
 * Container Apps' Envoy ingress), which adds X-Forwarded-For and connects from platform-internal
 * addresses that neither platform publishes. Every peer is therefore that front end; trusting
 * the private, shared and link-local ranges it can connect from lets the gateway credit the
 * forwarded client (without it, token-authenticated operator connections through the platform
 * URL are refused with proxy_attribution_required). The gateway reads the forwarded chain from
 * the right, so a client can only prepend addresses inside these ranges, never replace its own.
 */
export const MANAGED_FRONT_END_PROXIES: readonly string[] = ["10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"];
