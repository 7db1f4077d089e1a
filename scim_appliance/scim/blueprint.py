"""The SCIM blueprint and what every SCIM request goes through first: auth and sync."""

from __future__ import annotations

from flask import Blueprint, current_app, g, request

from ..database import reset_write_intent, set_write_intent
from ..domain import appliance
from ..extensions import db

bp = Blueprint("scim", __name__)

PREFIXES = {"scim": "/scim", "scim_v2": "/scim/v2"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@bp.before_request
def _authenticate():
    # Writers open their transaction with BEGIN IMMEDIATE (see database.py); the
    # flag must be set before the first query, which is the auth check below.
    g.write_intent_token = set_write_intent(request.method in WRITE_METHODS)
    result = appliance.authenticate(db.session, current_app.config["SECRET_KEY"],
                                    request.headers.get("Authorization"))
    g.touch_token = result.touch_due


def _record_token_use() -> None:
    """Note when the token was last used, in its own short transaction."""
    from sqlalchemy.orm import Session

    from ..database import write_intent

    try:
        with write_intent(), Session(db.engine) as session, session.begin():
            appliance.record_token_use(session)
    except Exception:  # noqa: BLE001 - bookkeeping must never fail a request
        current_app.logger.warning("could not record the Secret Token's last use")


@bp.teardown_request
def _after_request(_exc):
    token = g.pop("write_intent_token", None)
    if token is not None:
        reset_write_intent(token)
    if g.pop("touch_token", False):
        # End the request's transaction first: a second connection cannot write
        # while this one still holds SQLite's write lock.
        db.session.close()
        _record_token_use()


def base_url() -> str:
    """The absolute URL of the SCIM root this request came through."""
    prefix = PREFIXES.get(request.blueprint or "scim", "/scim")
    public = current_app.config.get("PUBLIC_URL")
    root = public.rstrip("/") if public else request.host_url.rstrip("/")
    return root + prefix
