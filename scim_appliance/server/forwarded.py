"""X-Forwarded-* taken only from the proxies the appliance trusts (TRUSTED_PROXY_ADDRESSES).

ProxyFix (TRUSTED_PROXIES hops) believes whoever connects: a client that reaches the
appliance directly, past nginx, could write any X-Forwarded-For and have the
provisioning log name a client of its choosing, or X-Forwarded-Host a host. So a
request is handed to ProxyFix with those headers only when its peer, the address the
TCP connection comes from, is a trusted proxy's; from any other peer they are dropped
and the request is taken as the peer sent it.
"""

from __future__ import annotations

import functools
import ipaddress

# Every header ProxyFix reads (it takes only -For, -Proto and -Host here, but none of
# them may reach the application from an untrusted peer).
FORWARDED_KEYS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                  "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")


def parse_networks(value) -> tuple:
    """TRUSTED_PROXY_ADDRESSES as networks: a list, or a comma-separated string (the
    environment's form), of addresses or CIDR networks."""
    if isinstance(value, str):
        value = value.split(",")
    networks = []
    for item in value or ():
        item = str(item).strip()
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"TRUSTED_PROXY_ADDRESSES: {item!r} is not an IP address "
                                 "or network") from None
    return tuple(networks)


class TrustedPeers:
    """WSGI middleware in front of ProxyFix: forwarded headers only from trusted peers."""

    def __init__(self, proxied, networks: tuple):
        self.proxied = proxied
        self.networks = networks
        self.trusted = functools.lru_cache(maxsize=256)(self._trusted)

    def _trusted(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer.partition("%")[0])
        except ValueError:
            return False
        if getattr(address, "ipv4_mapped", None):
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def __call__(self, environ, start_response):
        if not self.trusted(environ.get("REMOTE_ADDR") or ""):
            for key in FORWARDED_KEYS:
                environ.pop(key, None)
        return self.proxied(environ, start_response)
