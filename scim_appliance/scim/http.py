"""The HTTP edge of SCIM: body parsing, response rendering and the one error handler.

Requests are parsed as JSON whatever their Content-Type says (Entra sends
`application/scim+json; charset=utf-8`, other clients `application/json`), and
every answer, including failures the framework raises itself (404, 405, 413), is
`application/scim+json` with an RFC 7644 §3.12 error body. No input may produce a
stack trace: unexpected exceptions are logged server-side and answered with a
generic 500 body.
"""

from __future__ import annotations

import orjson
from flask import Flask, current_app, redirect, request
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, SecurityError

from ..domain.protocol import json_input
from ..domain.protocol.errors import InvalidSyntax, ScimError
from ..domain.protocol.schema import ERROR
from ..storage.extensions import db

SCIM_JSON = "application/scim+json"


def scim_response(body, status: int = 200, headers: dict | None = None):
    # orjson: about a tenth of the stdlib's time for a user, the same compact UTF-8.
    data = b"" if body is None else orjson.dumps(body)
    return current_app.response_class(data, status=status, headers=headers,
                                      mimetype=SCIM_JSON)


def read_json():
    """The request body as JSON, or a SCIM invalidSyntax error a human can act on."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise InvalidSyntax("the request body is empty; send a JSON object")
    try:
        return json_input.loads(raw)
    except json_input.UnpairedSurrogate as exc:
        raise InvalidSyntax(f"the request body is not valid: {exc}") from None
    except UnicodeDecodeError:
        raise InvalidSyntax("the request body is not UTF-8 encoded JSON") from None
    except RecursionError:
        raise InvalidSyntax("the request body is nested too deeply") from None
    except ValueError as exc:
        raise InvalidSyntax(f"the request body is not valid JSON: {exc}") from None


def _error_body(status: int, detail: str, scim_type: str | None = None) -> dict:
    body = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return body


_HTTP_DETAIL = {
    404: "no such SCIM endpoint; the appliance serves /Users, /Groups, /Schemas, "
         "/ResourceTypes and /ServiceProviderConfig under /scim and /scim/v2",
    405: "this endpoint does not support the {method} method",
    413: "the request body is larger than the configured limit ({limit} bytes)",
}


_UNTRUSTED_HOST = ("the Host of this request is not one the appliance answers to "
                   "(TRUSTED_HOSTS); use the Tenant URL that 'scim-appliance endpoint' prints")


_TENANT_PATHS = ("/scim", "/scim/", "/scim/v2", "/scim/v2/")


def _browser_at_tenant_url() -> bool:
    accept = request.accept_mimetypes
    return (request.method == "GET" and request.path in _TENANT_PATHS
            and "Authorization" not in request.headers
            and "console" in current_app.blueprints
            and accept["text/html"] > max(accept["application/json"],
                                          accept["application/scim+json"]))


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ScimError)
    def _scim_error(exc: ScimError):
        return scim_response(exc.to_dict(), exc.status, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        if status == 404 and _browser_at_tenant_url():
            # A person who opened the Tenant URL in a browser wants the console, not a
            # SCIM error; SCIM clients send a token and ask for JSON (RFC 7644 §3.8).
            return redirect("/", code=303)
        # werkzeug's text for an untrusted Host repeats the header.
        template = _UNTRUSTED_HOST if isinstance(exc, SecurityError) else \
            _HTTP_DETAIL.get(status)
        detail = template.format(method=request.method,
                                 limit=app.config.get("MAX_CONTENT_LENGTH")) if template \
            else (exc.description or exc.name)
        headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
        return scim_response(_error_body(status, detail), status, headers)

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)  # every pooled connection busy for 30 s (DATABASE_POOL_SIZE)
    def _database_busy(exc: OperationalError | PoolTimeout):
        db.session.rollback()
        app.logger.error("database error: %s", getattr(exc, "orig", None) or exc)
        return scim_response(
            _error_body(503, "the appliance database is busy or unavailable; retry later"),
            503, {"Retry-After": "5"})

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        db.session.rollback()
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        return scim_response(
            _error_body(500, "internal error in the appliance; nothing was changed. "
                             "The appliance log has the details."), 500)
