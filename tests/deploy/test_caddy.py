"""deploy/Caddyfile: `caddy validate` as shipped, and a real Caddy (self-signed
certificate) in front of a real appliance, driven over HTTPS like the nginx site
(tests/deploy/test_nginx_e2e.py)."""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import subprocess
import sys

import pytest

from scim_appliance.config import DEFAULTS
from tests.appliance_server import RunningAppliance
from tests.deploy.caddy_proxy import CADDYFILE, RunningCaddy, caddy_binary, caddy_env
from tests.deploy.https_client import (
    ERROR_SCHEMA,
    PUBLIC_HOST,
    PUBLIC_URL,
    SCIM_JSON,
    Client,
    logged_clients,
)
from tests.deploy.nginx_proxy import established_from

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="binds 127.0.0.2 and reads /proc/net/tcp")


def test_caddy_validates_the_caddyfile_as_shipped(tmp_path):
    caddy = caddy_binary()
    proc = subprocess.run([caddy, "validate", "--config", str(CADDYFILE), "--adapter",
                           "caddyfile"], env=caddy_env(tmp_path), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Valid configuration" in proc.stdout + proc.stderr
    # Caddy warns about a file `caddy fmt` would change.
    assert '"level":"warn"' not in proc.stderr, proc.stderr


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    caddy_binary()
    appliance = RunningAppliance(tmp_path_factory.mktemp("caddy") / "instance", env={
        "SCIM_APPLIANCE_TRUSTED_PROXIES": "1",
        "SCIM_APPLIANCE_PUBLIC_URL": PUBLIC_URL,
        "SCIM_APPLIANCE_TRUSTED_HOSTS": f"{PUBLIC_HOST},127.0.0.1",
        "SCIM_APPLIANCE_PROCESSES": "1"}).start()
    caddy = RunningCaddy(appliance.port)
    try:
        caddy.start()
    except BaseException:
        appliance.stop()
        caddy.cleanup()
        raise
    yield appliance, caddy
    caddy.stop()
    appliance.stop()
    caddy.cleanup()


def via_caddy(stack, source="127.0.0.2") -> Client:
    appliance, caddy = stack
    return Client(caddy.https_port, source=source, cafile=caddy.cert, token=appliance.token)


def test_through_caddy_links_log_and_keep_alive(stack):
    appliance, caddy = stack
    client = via_caddy(stack)
    status, headers, user = client.request(
        "POST", "/scim/Users", {"userName": "caddy@contoso.com"},
        headers={"X-Forwarded-For": "198.51.100.66", "X-Forwarded-Host": "evil.example"})
    assert status == 201, user
    assert headers["Location"].startswith(f"{PUBLIC_URL}/scim/Users/")
    assert user["meta"]["location"] == headers["Location"]
    created = headers["X-Request-Id"]
    upstream = established_from(appliance.port)
    assert upstream, "Caddy holds no connection open to the appliance"
    path = f"/scim/Users/{user['id']}"
    answers = []
    named = "/scim/Users?filter=userName%20eq%20%22caddy%40contoso.com%22&count=1"
    for method, url in [("GET", path), ("DELETE", path), ("GET", path), ("GET", named)]:
        status, headers, _ = client.request(method, url)
        answers.append(status)
        assert established_from(appliance.port) == upstream
    assert answers == [200, 204, 404, 200]
    client.close()
    # Caddy replaces a client's X-Forwarded-For with the address it saw.
    assert logged_clients(appliance, [created]) == {created: "127.0.0.2"}
    # Its access log keeps the query string, less the filter (which names a person).
    logged = (caddy.folder / "access.log").read_text(encoding="utf-8")
    assert '"uri":"/scim/Users?count=1"' in logged and "caddy%40contoso" not in logged


def test_the_content_length_pattern_matches_exactly_what_the_appliance_refuses():
    pattern = re.search(r'@too_large header_regexp Content-Length "([^"]+)"',
                        CADDYFILE.read_text()).group(1)
    limit = DEFAULTS["MAX_CONTENT_LENGTH"]
    sizes = [0, 999, limit - 1, limit, limit + 1, *range(4194300, 4200100, 7),
             4199999, 4200000, 4999999, 5000000, 9999999, 10**7, 10**12]
    wrong = [n for n in sizes if bool(re.match(pattern, str(n))) != (n > limit)]
    assert not wrong
    assert re.match(pattern, f"000{limit + 1}") and not re.match(pattern, f"00{limit}")


def test_a_body_over_the_limit_is_refused_with_a_scim_error_before_it_is_read(stack):
    """Caddy answers on the headers alone: the client sends no byte of the body."""
    _, caddy = stack
    context = ssl.create_default_context(cafile=str(caddy.cert))
    with socket.create_connection(("127.0.0.1", caddy.https_port), timeout=60) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(f"POST /scim/Users HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\n"
                    f"Content-Type: {SCIM_JSON}\r\nContent-Length: 4194305\r\n\r\n"
                    .encode())
        response = http.client.HTTPResponse(tls, method="POST")
        response.begin()
        error = json.loads(response.read())
    assert response.status == 413
    assert response.headers["Content-Type"] == SCIM_JSON
    assert error["schemas"] == [ERROR_SCHEMA] and error["status"] == "413"
    assert "4194304 bytes" in error["detail"]


def test_the_appliance_down_is_a_scim_error_from_caddy(stack):
    """Last in this module: it stops the appliance."""
    appliance, _ = stack
    appliance.stop()
    client = via_caddy(stack)
    status, headers, error = client.request("GET", "/scim/Users")
    assert status == 502
    assert headers["Content-Type"] == SCIM_JSON
    assert error["schemas"] == [ERROR_SCHEMA] and error["status"] == "502"
    client.close()
