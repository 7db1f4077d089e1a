"""Record every SCIM request in the provisioning log and tag it with `X-Request-Id`.

App-level hooks rather than blueprint hooks: requests for unknown SCIM URLs (404) or
methods (405) never reach the blueprint, and 401/403 are raised by the blueprint's own
before_request, yet all of them must be logged and carry a request id. The hooks only
collect facts (status, timings, the bodies Flask already holds); interpreting and
storing them is the log writer's job, on its own thread (server/log_writer.py).

Under TESTING the request waits until its entry is stored (the request's own session is
closed first, so the writer's BEGIN IMMEDIATE cannot wait on it): tests then read the
log without sleeping, and no background commit lands between a test's own read and
write (SQLite reports that as "database is locked").
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request

from ..domain.access import tokens
from ..domain.clock import utcnow
from ..domain.log import auth_failures
from ..domain.log.entries import RequestFacts
from ..server.log_writer import log_writer
from ..storage.extensions import db

log = logging.getLogger(__name__)

HEADER = "X-Request-Id"
# A reverse proxy's id (nginx $request_id, a UUID) is kept so both logs correlate.
# Matched with fullmatch: "^...$" would accept the id followed by a newline.
_INCOMING_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
RESPONSE_BODY_LIMIT = 64 * 1024


def register_request_log(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_submit)


def _is_scim(path: str) -> bool:
    return path == "/scim" or path.startswith("/scim/")


def _start() -> None:
    if not _is_scim(request.path):
        return
    incoming = request.headers.get(HEADER, "")
    g.request_id = incoming if _INCOMING_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.request_log_started = (time.perf_counter(), utcnow())


def _finish(response: Response) -> Response:
    started = g.pop("request_log_started", None)
    if started is None:
        return response
    response.headers[HEADER] = g.request_id
    try:
        g.request_log_facts = _facts(response, started)
    except Exception:  # noqa: BLE001 - a failure to log must not fail the request
        log.exception("could not record SCIM request %s in the provisioning log",
                      g.get("request_id"))
    return response


def _submit(_exc) -> None:
    facts = g.pop("request_log_facts", None)
    if facts is None:
        return
    try:
        app = current_app._get_current_object()
        writer = log_writer(app)
        if app.testing:
            db.session.close()
        writer.submit(facts)
        if app.testing:
            writer.flush()
    except Exception:  # noqa: BLE001 - a failure to log must not fail the request
        log.exception("could not record SCIM request %s in the provisioning log",
                      facts.request_id)


def _refusal(matched: bool, status: int) -> str | None:
    """Why the request did not pass the token check, or None when it did.

    Told apart here, not by the 401's wording (one wording for all on the wire): only
    a token this appliance signed, yet not the active one, is worth an email.
    """
    if not matched:
        return auth_failures.UNKNOWN_URL
    if status != 401:
        return None
    scheme, _, presented = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return auth_failures.NO_TOKEN
    try:
        tokens.check_signature(current_app.config["SECRET_KEY"], presented.strip())
    except (tokens.InvalidToken, RuntimeError):
        return auth_failures.INVALID_TOKEN
    return auth_failures.REPLACED_TOKEN


def _facts(response: Response, started) -> RequestFacts:
    perf, at = started
    status = response.status_code
    matched = request.url_rule is not None
    refusal = _refusal(matched, status)
    if refusal is not None:
        # Counted, never stored as sent (domain/log/auth_failures.py): keep no filter,
        # no body, and not more of the path than is shown.
        return RequestFacts(
            request_id=g.request_id, at=at, client=request.remote_addr,
            method=request.method[:16], path=request.path[:auth_failures.PATH_LIMIT],
            filter=None, status=status,
            duration_us=int((time.perf_counter() - perf) * 1_000_000),
            authenticated=False, refusal=refusal)
    request_body = None
    if matched and request.method in ("POST", "PUT", "PATCH") and status not in (401, 403, 413):
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if limit is None or (request.content_length or 0) <= limit:
            request_body = request.get_data(cache=True)  # the route already read it
    response_body = None
    if not response.is_streamed and not response.direct_passthrough:
        data = response.get_data()
        # A long list is only needed for its totalResults, which comes first.
        response_body = data if len(data) <= RESPONSE_BODY_LIMIT else data[:2048]
    return RequestFacts(
        request_id=g.request_id, at=at, client=request.remote_addr, method=request.method,
        path=request.path, filter=request.args.get("filter"), status=status,
        duration_us=int((time.perf_counter() - perf) * 1_000_000),
        authenticated=matched and status != 401,
        request_body=request_body, response_body=response_body)
