"""What the proxy tests share: a client on one connection from a chosen loopback
address, and the provisioning log's client addresses."""

from __future__ import annotations

import http.client
import json
import ssl
import time

PUBLIC_HOST = "scim.example.com"
PUBLIC_URL = f"https://{PUBLIC_HOST}"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_JSON = "application/scim+json"


class Client:
    """One HTTP/1.1 connection, from a chosen loopback address, that never reconnects
    behind the test's back: `request` fails if the connection was closed."""

    def __init__(self, port: int, *, source: str, cafile=None, token=None):
        if cafile is not None:
            context = ssl.create_default_context(cafile=str(cafile))
            self.conn = http.client.HTTPSConnection("127.0.0.1", port, context=context,
                                                    source_address=(source, 0), timeout=60)
        else:
            self.conn = http.client.HTTPConnection("127.0.0.1", port,
                                                   source_address=(source, 0), timeout=60)
        self.conn.connect()
        self.sock = self.conn.sock
        self.token = token

    def request(self, method, path, body=None, headers=None, *, token=True):
        assert self.conn.sock is self.sock, "the connection was closed"
        sent = {"Host": PUBLIC_HOST}
        if token and self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            sent["Content-Type"] = f"{SCIM_JSON}; charset=utf-8"
            body = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent.update(headers or {})
        self.conn.request(method, path, body=body, headers=sent)
        resp = self.conn.getresponse()
        data = resp.read()
        return resp.status, resp.headers, json.loads(data) if data else None

    def close(self):
        self.conn.close()


def logged_clients(appliance, request_ids: list[str]) -> dict[str, str]:
    """request id -> client address in the provisioning log, once every id is there
    (the log writer stores entries a fraction of a second after the answer)."""
    found: dict[str, str] = {}
    for _ in range(60):
        entries = json.loads(appliance.cli("log", "--json", "--limit", "500"))
        found = {e["request_id"]: e["client"] for e in entries if e["request_id"] in request_ids}
        if len(found) == len(request_ids):
            break
        time.sleep(0.5)
    return found
