"""What waitress answers itself, and keep-alive, over a real socket (server/http_server.py).

Waitress refuses some requests before Flask sees them (a body over the limit, oversize
headers, a NUL in a header, a transfer coding it does not know). Those answers must be
SCIM errors too, and a 204 or 304 must not cost the client its connection.
"""

from __future__ import annotations

import http.client
import json
import socket

import pytest

from tests.appliance_server import RunningAppliance

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIMIT = 65536


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    appliance = RunningAppliance(tmp_path_factory.mktemp("http") / "instance", env={
        "SCIM_APPLIANCE_PROCESSES": "1", "SCIM_APPLIANCE_MAX_CONTENT_LENGTH": str(LIMIT)})
    yield appliance.start()
    appliance.stop()


def exchange(server, request: bytes) -> http.client.HTTPResponse:
    """Send raw bytes on a new connection; the parsed answer (body read)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock, method=request.split(b" ", 1)[0].decode())
        response.begin()
        response.body = response.read()
        return response
    finally:
        sock.close()


def scim_error(response, status: int) -> dict:
    assert response.status == status, response.body
    assert response.getheader("Content-Type", "").startswith("application/scim+json")
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("Cache-Control") == "no-store"
    body = json.loads(response.body)
    assert body["schemas"] == [ERROR] and body["status"] == str(status)
    assert body["detail"] and "waitress" not in body["detail"]
    return body


def _head(method: str, path: str, *lines: str) -> bytes:
    return "\r\n".join([f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *lines, "", ""]).encode()


def test_a_nul_in_the_authorization_header_is_a_scim_400(server):
    nul = f"Authorization: Bearer {server.token[:12]}\x00{server.token[12:]}"
    scim_error(exchange(server, _head("GET", "/scim/Users", nul)), 400)


def test_a_body_over_the_limit_is_refused_with_a_scim_413_before_it_is_read(server):
    request = _head("POST", "/scim/Users", f"Authorization: Bearer {server.token}",
                    "Content-Type: application/scim+json", f"Content-Length: {LIMIT + 1}")
    body = scim_error(exchange(server, request), 413)  # the body itself is never sent
    assert str(LIMIT) in body["detail"]


def test_a_chunked_body_over_the_limit_is_a_scim_413(server):
    # waitress counts the chunk framing too. The body sent ends exactly where waitress
    # stops reading (LIMIT + 1 bytes): data left unread would turn its close into a
    # reset that can swallow the answer.
    size = LIMIT + 1 - len(b"fff9\r\n\r\n")
    chunk = b"%x\r\n" % size + b"x" * size + b"\r\n"
    assert len(chunk) == LIMIT + 1
    request = _head("POST", "/scim/Users", f"Authorization: Bearer {server.token}",
                    "Content-Type: application/scim+json", "Transfer-Encoding: chunked")
    scim_error(exchange(server, request + chunk), 413)


def test_a_body_at_the_limit_reaches_the_appliance(server):
    """waitress's limit is MAX_CONTENT_LENGTH itself: what it lets through, Flask takes."""
    document = json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                           "userName": "at.the.limit@contoso.com"}).encode()
    payload = document + b" " * (LIMIT - len(document))
    request = _head("POST", "/scim/Users", f"Authorization: Bearer {server.token}",
                    "Content-Type: application/scim+json", f"Content-Length: {len(payload)}")
    response = exchange(server, request + payload)
    assert response.status == 201, response.body


def test_oversize_headers_are_a_scim_431(server):
    from scim_appliance.server.http_server import MAX_HEADER_BYTES

    # Exactly the limit, unterminated: waitress refuses once it has read it all.
    start = _head("GET", "/scim/Users", f"Authorization: Bearer {server.token}")[:-2]
    request = start + b"X-Padding: " + b"p" * (MAX_HEADER_BYTES - len(start) - 11)
    assert len(request) == MAX_HEADER_BYTES
    scim_error(exchange(server, request), 431)


def test_an_unknown_transfer_coding_is_a_scim_501(server):
    request = _head("POST", "/scim/Users", f"Authorization: Bearer {server.token}",
                    "Transfer-Encoding: gzip, chunked")
    scim_error(exchange(server, request + b"0\r\n\r\n"), 501)


@pytest.mark.parametrize("token", [True, False])
def test_options_is_a_scim_405_naming_the_methods(server, token):
    auth = [f"Authorization: Bearer {server.token}"] if token else []
    response = exchange(server, _head("OPTIONS", "/scim/Users", *auth, "Connection: close"))
    scim_error(response, 405)
    allowed = {m.strip() for m in response.getheader("Allow").split(",")}
    assert {"GET", "POST"} <= allowed and "OPTIONS" not in allowed


def test_keep_alive_holds_across_204_and_304(server):
    """One connection for a whole Entra-like sequence, a 204 and a 304 in the middle.

    RFC 9112 §6.3: a 204 or 304 ends with its header section, so the server needs no
    Content-Length to keep the connection (and must send none for 204, RFC 9110 §8.6).
    """
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Authorization": f"Bearer {server.token}",
               "Content-Type": "application/scim+json"}
    seen = []

    def call(method, path, body=None, extra=None):
        conn.request(method, path, None if body is None else json.dumps(body),
                     {**headers, **(extra or {})})
        response = conn.getresponse()
        data = response.read()
        assert not response.will_close, (method, path, response.getheaders())
        assert response.getheader("Connection") is None
        seen.append(conn.sock)
        return response, json.loads(data) if data else None

    _, user = call("POST", "/scim/Users", {"userName": "keep.alive@contoso.com"})
    _, group = call("POST", "/scim/Groups", {"displayName": "Keep Alive"})
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "add", "path": "members", "value": [{"value": user["id"]}]}]}
    response, _ = call("PATCH", f"/scim/Groups/{group['id']}", patch)
    assert response.status == 204
    assert response.getheader("Content-Length") is None
    assert response.getheader("Transfer-Encoding") is None
    response, _ = call("GET", f"/scim/Users/{user['id']}")
    etag = response.getheader("ETag")
    response, _ = call("GET", f"/scim/Users/{user['id']}", extra={"If-None-Match": etag})
    assert response.status == 304
    response, _ = call("DELETE", f"/scim/Users/{user['id']}")
    assert response.status == 204
    response, _ = call("GET", f"/scim/Users/{user['id']}")
    assert response.status == 404
    assert len(seen) == 7 and all(sock is seen[0] for sock in seen)
    conn.close()


def test_a_client_that_asks_to_close_gets_its_204_and_a_closed_connection(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Authorization": f"Bearer {server.token}",
               "Content-Type": "application/scim+json"}
    conn.request("POST", "/scim/Users", json.dumps({"userName": "closing@contoso.com"}),
                 headers)
    created = conn.getresponse()
    user = json.loads(created.read())
    conn.request("DELETE", f"/scim/Users/{user['id']}", headers={**headers,
                                                                 "Connection": "close"})
    response = conn.getresponse()
    response.read()
    assert response.status == 204 and response.will_close
    conn.close()


def test_the_waitress_limits_are_the_configured_ones(app):
    from scim_appliance.server import http_server

    app.config.update(MAX_CONTENT_LENGTH=123456, CONNECTION_LIMIT=7, CHANNEL_TIMEOUT=42)
    server = http_server.create_server(app, threads=1, host="127.0.0.1", port=0)
    try:
        adj = server.adj
        assert (adj.max_request_body_size, adj.connection_limit, adj.channel_timeout) == \
            (123457, 7, 42)
        assert adj.max_request_header_size == http_server.MAX_HEADER_BYTES
        assert adj.clear_untrusted_proxy_headers  # TRUSTED_PROXIES is 0
        assert server.channel_class is http_server.ScimChannel
    finally:
        server.close()


def test_every_listener_uses_the_appliance_channel(app):
    """Two addresses (as `localhost` may resolve to) make one listener each."""
    from waitress.server import BaseWSGIServer

    from scim_appliance.server import http_server

    server = http_server.create_server(app, threads=1, listen="127.0.0.1:0 127.0.0.2:0")
    try:
        listeners = [d for d in server.map.values() if isinstance(d, BaseWSGIServer)]
        assert len(listeners) == 2
        assert all(d.channel_class is http_server.ScimChannel for d in listeners)
    finally:
        server.close()
