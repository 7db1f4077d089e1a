"""A real nginx (deploy/nginx/scim-appliance.conf, self-signed certificate) in front of
a real appliance on loopback (TRUSTED_PROXIES=1, PUBLIC_URL), driven over HTTPS.

The client connects from 127.0.0.2 (all of 127.0.0.0/8 is loopback on Linux) so the
address nginx saw differs from nginx's own (127.0.0.1), and the log can show which
one it recorded; a client going past nginx connects from 127.0.0.3.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.appliance_server import RunningAppliance
from tests.deploy.https_client import (
    ERROR_SCHEMA,
    PUBLIC_HOST,
    PUBLIC_URL,
    SCIM_JSON,
    Client,
    logged_clients,
)
from tests.deploy.nginx_proxy import RunningNginx, established_from, nginx_binary

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="binds 127.0.0.2 and reads /proc/net/tcp")

@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    nginx_binary()  # skip (or fail under CI) before starting anything
    appliance = RunningAppliance(tmp_path_factory.mktemp("deploy") / "instance", env={
        "SCIM_APPLIANCE_TRUSTED_PROXIES": "1",
        "SCIM_APPLIANCE_PUBLIC_URL": PUBLIC_URL,
        # 127.0.0.1 for the start-up check of tests/appliance_server.py (/healthz).
        "SCIM_APPLIANCE_TRUSTED_HOSTS": f"{PUBLIC_HOST},127.0.0.1",
        "SCIM_APPLIANCE_PROCESSES": "1"}).start()
    nginx = RunningNginx(appliance.port)
    try:
        nginx.start()
    except BaseException:
        appliance.stop()
        nginx.cleanup()
        raise
    yield appliance, nginx
    nginx.stop()
    appliance.stop()
    nginx.cleanup()


def via_nginx(stack, source="127.0.0.2", **kw) -> Client:
    appliance, nginx = stack
    return Client(nginx.https_port, source=source, cafile=nginx.cert,
                  token=kw.pop("token", appliance.token), **kw)


def test_links_carry_the_public_https_url(stack):
    client = via_nginx(stack)
    status, headers, user = client.request("POST", "/scim/Users",
                                           {"userName": "links@contoso.com"})
    assert status == 201, user
    assert headers["Location"].startswith(f"{PUBLIC_URL}/scim/Users/")
    assert user["meta"]["location"] == headers["Location"]
    status, _, again = client.request("GET", f"/scim/Users/{user['id']}")
    assert status == 200 and again["meta"]["location"] == headers["Location"]
    status, headers, group = client.request(
        "POST", "/scim/v2/Groups", {"displayName": "Links", "members": [{"value": user["id"]}]})
    assert status == 201, group
    assert group["meta"]["location"] == headers["Location"]
    assert headers["Location"].startswith(f"{PUBLIC_URL}/scim/v2/Groups/")
    client.close()


def test_the_log_records_the_client_nginx_saw_and_ignores_forged_headers(stack):
    appliance, _ = stack
    through = via_nginx(stack)
    # nginx appends the address it saw to what the client claimed.
    status, headers, _ = through.request(
        "GET", "/scim/Users?filter=userName%20eq%20%22nobody%40contoso.com%22",
        headers={"X-Forwarded-For": "198.51.100.66", "X-Forwarded-Host": "evil.example"})
    assert status == 200
    proxied = headers["X-Request-Id"]
    through.close()
    # Past nginx, straight to the appliance: its forwarded headers must be dropped.
    direct = Client(appliance.port, source="127.0.0.3", token=appliance.token)
    status, headers, user = direct.request(
        "POST", "/scim/Users", {"userName": "direct@contoso.com"},
        headers={"X-Forwarded-For": "198.51.100.77", "X-Forwarded-Proto": "https",
                 "X-Forwarded-Host": "evil.example"})
    assert status == 201, user
    assert headers["Location"].startswith(f"{PUBLIC_URL}/scim/Users/")
    forged = headers["X-Request-Id"]
    direct.close()
    assert logged_clients(appliance, [proxied, forged]) == {
        proxied: "127.0.0.2", forged: "127.0.0.3"}



def test_the_access_log_keeps_no_filter(stack):
    """A SCIM filter names a person: the shipped log format leaves query strings out."""
    _, nginx = stack
    client = via_nginx(stack)
    status, _, _ = client.request(
        "GET", "/scim/Users?filter=userName%20eq%20%22private.person%40contoso.com%22")
    assert status == 200
    client.close()
    logged = "\n".join(nginx.access_log("scim-appliance.access.log"))
    assert '"GET /scim/Users HTTP/1.1" 200' in logged
    assert "private.person" not in logged and "filter" not in logged


def test_keep_alive_holds_across_requests_to_nginx_and_to_the_appliance(stack):
    appliance, nginx = stack
    client = via_nginx(stack)
    status, _, user = client.request("POST", "/scim/Users", {"userName": "keep@contoso.com"})
    assert status == 201
    upstream = established_from(appliance.port)
    assert upstream, "nginx holds no connection open to the appliance"
    answers = [status]
    path = f"/scim/Users/{user['id']}"
    for method, url, body in [
            ("GET", path, None),
            ("PATCH", path, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                             "Operations": [{"op": "replace", "path": "displayName",
                                             "value": "Keep"}]}),
            ("GET", "/scim/Users?filter=userName%20eq%20%22keep%40contoso.com%22", None),
            ("POST", "/scim/Groups", {"displayName": "Keepers"}),
            ("DELETE", path, None),  # 204: no body, the connection stays open
            ("GET", path, None),  # 404
            ("GET", "/scim/ServiceProviderConfig", None)]:
        status, headers, _ = client.request(method, url, body)
        answers.append(status)
        assert headers.get("Connection", "").lower() != "close"
        # Neither nginx nor the appliance closed the upstream connection, and nginx
        # opened no other: the same ones carry every request.
        assert established_from(appliance.port) == upstream
    assert answers == [201, 200, 200, 200, 201, 204, 404, 200]
    client.close()
    # nginx's side: every request came on one client connection, counted 1..8.
    mine = [line for line in nginx.access_log() if line.startswith("127.0.0.2 ")]
    last = mine[-len(answers):]
    assert len({line.split()[1] for line in last}) == 1, last
    assert [line.split()[2] for line in last] == [f"req={n}" for n in range(1, 9)]


def test_a_body_over_the_limit_is_refused_with_a_scim_error(stack):
    appliance, _ = stack
    client = via_nginx(stack)
    big = json.dumps({"userName": "big@contoso.com",
                      "displayName": "x" * (4 * 1024 * 1024)}).encode()
    status, headers, error = client.request("POST", "/scim/Users", big)
    assert status == 413
    assert headers["Content-Type"] == SCIM_JSON
    assert error["schemas"] == [ERROR_SCHEMA] and error["status"] == "413"
    assert "4194304 bytes" in error["detail"]
    assert headers["Cache-Control"] == "no-store"
    # Nothing reached the appliance: no such user.
    check = via_nginx(stack)
    status, _, found = check.request(
        "GET", "/scim/Users?filter=userName%20eq%20%22big%40contoso.com%22")
    assert status == 200 and found["totalResults"] == 0
    check.close()


def test_only_requests_without_a_token_are_rate_limited(stack):
    """From one address: requests without a Secret Token get 429 (a SCIM error) once
    past the burst; authenticated requests from the same address never do."""
    appliance, _ = stack
    client = via_nginx(stack, source="127.0.0.4")
    refused = []
    for _ in range(40):
        status, headers, body = client.request("GET", "/scim/Users", token=False)
        refused.append(status)
        if status == 429:
            break
    assert refused[-1] == 429 and set(refused[:-1]) == {401}, refused
    assert len(refused) > 10  # a burst is let through first
    assert headers["Content-Type"] == SCIM_JSON and headers["Retry-After"] == "60"
    assert body["schemas"] == [ERROR_SCHEMA] and body["status"] == "429"
    # Another scheme or a value no token looks like: the same bucket, still full.
    for value in ("Basic dXNlcjpwYXNz", "Bearer not-a-token"):
        status, _, _ = client.request("GET", "/scim/Users", token=False,
                                      headers={"Authorization": value})
        assert status == 429
    # A token-shaped but wrong one reaches the appliance, which refuses it itself.
    status, _, body = client.request(
        "GET", "/scim/Users", token=False,
        headers={"Authorization": "Bearer scimapp_AAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBB"})
    assert status == 401 and body["schemas"] == [ERROR_SCHEMA]
    # Entra's requests from that very address: never limited.
    statuses = {client.request("GET", "/scim/Users?count=1")[0] for _ in range(60)}
    assert statuses == {200}
    client.close()


def test_the_appliance_down_is_a_scim_error_from_nginx(stack):
    """Last in this module: it stops the appliance."""
    appliance, _ = stack
    appliance.stop()
    client = via_nginx(stack)
    status, headers, error = client.request("GET", "/scim/Users")
    assert status == 502
    assert headers["Content-Type"] == SCIM_JSON and headers["Retry-After"] == "30"
    assert error["schemas"] == [ERROR_SCHEMA] and error["status"] == "502"
    client.close()
