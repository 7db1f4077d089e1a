"""X-Forwarded-* only from the proxy's own address (TRUSTED_PROXY_ADDRESSES).

With TRUSTED_PROXIES=1 ProxyFix believes whoever connects; a client that reaches the
appliance past nginx must not choose the address the provisioning log records, nor
the scheme and host of the links it hands out. The end-to-end check through a real
nginx is tests/deploy/test_nginx_e2e.py.
"""

from __future__ import annotations

import pytest

from scim_appliance.server.forwarded import parse_networks
from tests.scim.test_host_and_proxy import FORWARDED, USER, build, clients  # noqa: F401


def post_from(scim, peer: str):
    return scim.post("/scim/Users", USER, headers=FORWARDED,
                     environ_base={"REMOTE_ADDR": peer})


def test_forwarded_headers_from_the_proxy_on_loopback_are_taken(build):  # noqa: F811
    app, scim = build(TRUSTED_PROXIES=1)
    resp = post_from(scim, "127.0.0.1")
    assert resp.headers["Location"].startswith("https://scim.contoso.com/scim/Users/")
    assert clients(app) == ["203.0.113.7"]


def test_forwarded_headers_from_any_other_peer_are_dropped(build):  # noqa: F811
    app, scim = build(TRUSTED_PROXIES=1)
    resp = post_from(scim, "192.0.2.44")
    assert resp.status_code == 201
    assert resp.headers["Location"].startswith("http://localhost/scim/Users/")
    assert clients(app) == ["192.0.2.44"]


def test_a_proxy_elsewhere_is_trusted_by_its_network(build):  # noqa: F811
    app, scim = build(TRUSTED_PROXIES=1, TRUSTED_PROXY_ADDRESSES="10.0.0.0/24, ::1")
    post_from(scim, "10.0.0.9")
    post_from(scim, "127.0.0.1")  # loopback is no longer in the list
    assert clients(app) == ["203.0.113.7", "127.0.0.1"]


def test_a_bad_address_stops_the_app_with_a_clear_message():
    with pytest.raises(ValueError, match="TRUSTED_PROXY_ADDRESSES: 'nginx' is not an IP"):
        parse_networks(["127.0.0.1", "nginx"])
    assert [str(n) for n in parse_networks('::ffff:10.1.2.3, 10.1.0.0/16')] == [
        "::ffff:a01:203/128", "10.1.0.0/16"]
