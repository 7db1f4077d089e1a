"""One webhook request: signed the Standard Webhooks way, bounded in every direction.

Standard Webhooks (https://www.standardwebhooks.com): `webhook-id` (the event id,
which receivers deduplicate by), `webhook-timestamp` (Unix seconds of this attempt;
receivers refuse one more than five minutes off) and `webhook-signature`
(`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per secret, space-separated,
during a rotation's overlap). Signed with `standardwebhooks.Webhook`, so the
receiving side's library verifies exactly what was sent.

The URL is the administrator's, and still: only http(s); redirects are never followed
(a 3xx is a failed attempt); at most `MAX_RESPONSE` bytes of the answer are read; the
whole attempt, connect to last byte, is cut off at the timeout. Nothing but the event
goes out: no SCIM token, no secret.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from ..display import safe_text

MAX_RESPONSE = 64 * 1024
ERROR_LIMIT = 300
USER_AGENT = "scim-appliance-webhooks/1"


@dataclass(frozen=True)
class Attempt:
    """How one request went: the HTTP status (None if none came) and, unless it was a
    2xx, why it counts as failed, neutralised for display."""

    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and self.error is None


def signed_headers(event_id: str, payload: str, secrets: list[str],
                   at: float | None = None) -> dict[str, str]:
    """The Standard Webhooks headers for `payload`, signed with every secret."""
    stamp = datetime.fromtimestamp(int(at if at is not None else time.time()), UTC)
    signatures = " ".join(Webhook(secret).sign(event_id, stamp, payload)
                          for secret in secrets)
    return {"webhook-id": event_id, "webhook-timestamp": str(int(stamp.timestamp())),
            "webhook-signature": signatures}


def _error(text: str) -> str:
    return safe_text(text)[:ERROR_LIMIT]


def post(url: str, payload: str, headers: dict[str, str], timeout: float) -> Attempt:
    """POST `payload` (JSON) to `url`; never raises for what the network does."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return Attempt(None, "refused: only http:// and https:// URLs are delivered to")
    try:
        port = parts.port
    except ValueError:
        return Attempt(None, "refused: the URL's port is not a number")
    if scheme == "https":
        connection = http.client.HTTPSConnection(parts.hostname, port, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    body = payload.encode()
    expired = threading.Event()
    cut = threading.Timer(timeout, _cut_off, (connection, expired))
    cut.daemon = True
    cut.start()
    try:
        connection.request("POST", target, body=body, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT,
            "Content-Length": str(len(body)), **headers})
        response = connection.getresponse()
        head = response.read(MAX_RESPONSE)  # the rest is never read: the connection closes
        status = response.status
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if expired.is_set() or isinstance(exc, TimeoutError):
            return Attempt(None, f"no complete answer within {timeout:g} s")
        reason = str(exc) or type(exc).__name__
        return Attempt(None, _error(f"{type(exc).__name__}: {reason}"))
    finally:
        cut.cancel()
        connection.close()
    if 200 <= status < 300:
        return Attempt(status)
    if 300 <= status < 400:
        where = response.getheader("Location") or "no Location"
        return Attempt(status, _error(f"HTTP {status} redirect to {where} (not followed; "
                                      "give the final URL)"))
    snippet = head[:200].decode("utf-8", "replace").strip()
    return Attempt(status, _error(f"HTTP {status}" + (f": {snippet}" if snippet else "")))


def _cut_off(connection: http.client.HTTPConnection, expired: threading.Event) -> None:
    """The attempt's time is up: shut the socket, so any read or write in progress ends."""
    expired.set()
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
