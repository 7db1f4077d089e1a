"""The SCIM blueprint and what every SCIM request goes through first: auth and sync."""

from __future__ import annotations

import functools
import itertools

from flask import Blueprint, current_app, g, request
from sqlalchemy.exc import DBAPIError

from ..domain.access import appliance
from ..domain.events import outbox
from ..domain.protocol.errors import InvalidValue
from ..domain.query.direct_reads import Reads
from ..storage.database import (
    reset_write_intent,
    retry_pause,
    retryable,
    set_write_intent,
)
from ..storage.extensions import db


class _ScimBlueprint(Blueprint):
    """Routes without Flask's automatic OPTIONS answer: an empty `text/html` 200 for
    anyone with the token. SCIM has no use for OPTIONS (RFC 7644 §3.2 lists the
    methods; there is no CORS here), so it gets the same 405 SCIM error, with `Allow`,
    as any other method a route does not serve."""

    def add_url_rule(self, rule, endpoint=None, view_func=None,
                     provide_automatic_options=None, **options):
        if view_func is not None and WRITE_METHODS & set(options.get("methods") or ()):
            view_func = _retrying(view_func)
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options=False,
                             **options)


def _retrying(view):
    """Run a write route again, from the start, when its transaction failed in a way
    PostgreSQL asks to retry (a deadlock, a serialization failure) or lost its
    connection, as long as nothing was committed: the request is one transaction, so
    the rerun sees the database as it is and decides afresh (storage/database.py).
    SQLite never raises these: its writers queue on the write gate."""
    @functools.wraps(view)
    def run(**kwargs):
        for attempt in itertools.count(1):
            try:
                return view(**kwargs)
            except DBAPIError as exc:
                if not g.get("writes") or g.get("write_committed") or \
                        not retryable(exc, attempt):
                    raise
                current_app.logger.info("retrying %s %s after: %s", request.method,
                                        request.path, (str(exc.orig).splitlines() or [""])[0])
            db.session.rollback()
            retry_pause(attempt)
    return run


bp = _ScimBlueprint("scim", __name__)

PREFIXES = {"scim": "/scim", "scim_v2": "/scim/v2"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@bp.before_request
def _authenticate():
    # Writers open their session transaction with BEGIN IMMEDIATE (storage/database.py);
    # POST .search is a query.
    writes = request.method in WRITE_METHODS and not request.path.endswith("/.search")
    g.write_intent_token = set_write_intent(writes)
    g.writes = writes
    if writes:  # the events this write records name its request (domain/events/outbox.py)
        outbox.bind(db.session, g.get("request_id"), base_url())
    # The token check and a read's queries run on a pooled connection of their own
    # (direct_reads.py). A write gives it back at once: its work, and SQLite's write
    # lock, begin only when the route first touches the session.
    reads = g.reads = Reads.checkout(db.engine)
    try:
        result = appliance.authenticate(reads, current_app.config["SECRET_KEY"],
                                        request.headers.get("Authorization"))
    except appliance.TokenRefused as refused:
        # Why, for the provisioning log (the answer is the same for every reason).
        g.auth_failure = refused.reason
        raise
    finally:
        if writes:
            reads.close()
            del g.reads
    g.touch_token = result.touch_due


@bp.before_request
def _refuse_nul_in_url():
    """PostgreSQL text cannot hold NUL: a URL path or query with `%00` is refused on every
    backend before a route looks anything up with it (bodies: domain/protocol/json_input).
    Runs after the token check, so a request without a valid token still gets its 401."""
    if "\x00" in request.path or any("\x00" in key or "\x00" in value
                                     for key, value in request.args.items(multi=True)):
        raise InvalidValue("the request URL holds a NUL character (%00), which the appliance "
                           "cannot store or look up")


def commit_write() -> None:
    """Commit the request's write. What the route reads afterwards (the response: a
    user's groups, a group's members) is a plain read, so neither the write gate nor
    SQLite's write lock stays held while the response is built and logged."""
    db.session.commit()
    g.write_committed = True  # from here a failure must not run the write again
    set_write_intent(False)  # the teardown's reset still restores the default


def request_reads() -> Reads:
    """The reads of this request: its own connection on a read, the session's on a write
    (so the response shows what the write just did)."""
    reads = g.get("reads")
    return reads if reads is not None else Reads.within(db.session)


def _record_token_use() -> None:
    """Note when the token was last used, in its own short transaction."""
    from sqlalchemy.orm import Session

    from ..storage.database import write_intent

    try:
        with write_intent(), Session(db.engine) as session, session.begin():
            appliance.record_token_use(session)
    except Exception:  # noqa: BLE001 - bookkeeping must never fail a request
        current_app.logger.warning("could not record the Secret Token's last use")


@bp.teardown_request
def _after_request(_exc):
    reads = g.pop("reads", None)
    if reads is not None:
        reads.close()
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
    # Not request.host_url: its IRI decoding of the whole URL showed up in profiles.
    root = public.rstrip("/") if public else f"{request.scheme}://{request.host}{request.root_path}"
    return root + prefix
