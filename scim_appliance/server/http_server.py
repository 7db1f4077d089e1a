"""The waitress server `serve` runs: its limits, its own error answers, and keep-alive.

Waitress answers some requests itself, before the application sees them: a body over
`max_request_body_size`, oversize headers, a request that is not valid HTTP/1.1 (a NUL
in a header, a bare CR), a transfer coding it cannot decode, an application that
raised. Its own answers are `text/plain`; Entra and the operator must get a SCIM error
(RFC 7644 §3.12) from every layer, so the error task here renders them as one.

Waitress also closes the connection after every 204 and 304: it keeps a connection open
only for a response with a Content-Length or a chunked body, and those two may carry
neither (RFC 9110 §8.6 forbids Content-Length on a 204). Their message ends with the
header section (RFC 9112 §6.3, rule 1), so there is nothing to close for; the task here
keeps the connection unless the client asked to close it. Entra's group PATCH and every
DELETE answer 204, so without this every group update cost a new TCP (and TLS) handshake.
"""

from __future__ import annotations

import ipaddress
import socket

import orjson
import waitress
from flask import Flask
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.task import ErrorTask, WSGITask
from waitress.utilities import (
    BadRequest,
    InternalServerError,
    RequestEntityTooLarge,
    RequestHeaderFieldsTooLarge,
    ServerNotImplemented,
)

from ..domain.protocol.errors import ScimError

SCIM_JSON = "application/scim+json"
# The request line and headers together. Entra's are well under 4 KB; a long filter in
# the query string counts here too.
MAX_HEADER_BYTES = 64 * 1024
# Headers every answer carries, the server's own included (app_headers in create_app
# sets the same on the application's answers).
SAFE_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store"))


def server_options(config) -> dict:
    """waitress's adjustments for this configuration (README, "Configuration")."""
    return {
        # Flask's limit: a body over MAX_CONTENT_LENGTH is refused before it is
        # buffered, and what waitress lets through Flask accepts. waitress refuses a
        # body of its limit itself (>=), Flask one above it (>): hence the 1. (A chunked
        # body is counted with its chunk framing, so it is cut a few bytes earlier.)
        "max_request_body_size": int(config["MAX_CONTENT_LENGTH"]) + 1,
        "max_request_header_size": MAX_HEADER_BYTES,
        "connection_limit": int(config["CONNECTION_LIMIT"]),
        "channel_timeout": int(config["CHANNEL_TIMEOUT"]),
        # waitress deletes X-Forwarded-* unless told otherwise; with TRUSTED_PROXIES set
        # they must reach ProxyFix (create_app), which takes only the trusted hops.
        "clear_untrusted_proxy_headers": not int(config.get("TRUSTED_PROXIES") or 0),
        "expose_tracebacks": False,
        "ident": "scim-appliance",
    }


def is_loopback(host: str) -> bool:
    """Whether every address `host` names is a loopback one (127.0.0.0/8, ::1)."""
    if not host:
        return False  # all interfaces
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return False
    return bool(infos) and all(
        ipaddress.ip_address(info[4][0].partition("%")[0]).is_loopback for info in infos)


def create_server(app: Flask, *, threads: int, **where):
    """A waitress server for `app` (not started); `where` is host/port or sockets."""
    dispatchers: dict = {}
    server = waitress.create_server(app, map=dispatchers, threads=threads,
                                    **server_options(app.config), **where)
    # One listening dispatcher per address (a name such as localhost may give two).
    for dispatcher in dispatchers.values():
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.channel_class = ScimChannel
    return server


def _detail(error, adj) -> str:
    if isinstance(error, RequestEntityTooLarge):
        return (f"the request body is larger than the configured limit "
                f"({adj.max_request_body_size - 1} bytes)")
    if isinstance(error, RequestHeaderFieldsTooLarge):
        return (f"the request line and headers are larger than the limit "
                f"({adj.max_request_header_size} bytes)")
    if isinstance(error, BadRequest):
        # waitress's own reason may quote the request; it is not repeated here.
        return ("the request is not valid HTTP/1.1 (RFC 9112): a malformed request line, "
                "header or chunk, or a character HTTP does not allow in a header such as "
                "NUL or a bare CR or LF")
    if isinstance(error, ServerNotImplemented):
        return ("the request's Transfer-Encoding is not supported; send the body with "
                "Content-Length or Transfer-Encoding: chunked")
    if isinstance(error, InternalServerError):
        return ("internal error in the appliance; nothing was changed. The appliance log "
                "has the details.")
    return error.reason


class ScimErrorTask(ErrorTask):
    """waitress's answer to a request it refused, as an RFC 7644 §3.12 error body."""

    def execute(self):
        error = self.request.error
        body = orjson.dumps(
            ScimError(_detail(error, self.channel.adj), status=error.code).to_dict())
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", SCIM_JSON), *SAFE_HEADERS])
        # The request could not be read to its end: what follows on the connection
        # cannot be trusted to start a new request.
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class KeepAliveTask(WSGITask):
    """waitress's WSGI task, except that a 204 or 304 keeps the connection (see above)."""

    _bodiless = False

    def build_response_header(self):
        keep = (self.version == "1.1" and not self.has_body and not self.close_on_finish
                and self.request.headers.get("CONNECTION", "").lower() != "close")
        self._bodiless = keep
        try:
            return super().build_response_header()
        finally:
            self._bodiless = False

    def set_close_on_finish(self) -> None:
        if self._bodiless:
            # Called by waitress only because there is no Content-Length, which a 204
            # must not have and a 304 does not need.
            return
        super().set_close_on_finish()


class ScimChannel(HTTPChannel):
    task_class = KeepAliveTask
    error_task_class = ScimErrorTask
