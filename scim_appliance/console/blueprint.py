"""The console blueprint and what every console request goes through: the sign-in
gate, CSRF on every POST, the security headers, and what views share (the acting
administrator, paging, the navigation)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from ..domain.admins import administrators
from ..domain.admins.audit import Actor
from ..domain.display import safe_text
from ..domain.protocol.errors import ScimError
from ..storage.database import reset_write_intent, set_write_intent
from ..storage.extensions import db

bp = Blueprint("console", __name__, template_folder="templates", static_folder="static",
               static_url_path="/console/static")
# Checked in the blueprint only (WTF_CSRF_CHECK_DEFAULT is off): the SCIM API is
# authenticated by its bearer token, never by a cookie, and needs no CSRF token.
csrf = CSRFProtect()

# The navigation, in order: (label, endpoint). The labels are part of the contract
# (issue 14; the browser tests find the links by these names).
NAV = (
    ("Dashboard", "console.dashboard"),
    ("SCIM", "console.scim_settings"),
    ("Users", "console.users"),
    ("Groups", "console.groups"),
    ("Provisioning log", "console.log"),
    ("Name adjustments", "console.names"),
    ("Notifications", "console.notifications"),
    ("Webhooks", "console.webhooks"),
    ("Migration", "console.migration"),
    ("Administrators", "console.administrators"),
)
# Reachable signed out.
PUBLIC = frozenset({"console.sign_in", "console.no_admin", "console.static"})

# default-src 'self' with no inline script or style; Pico draws its check marks and
# select arrows as data: SVG images. frame-ancestors: never inside another site's frame
# (clickjacking); form-action: forms post only here.
CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def actor() -> Actor:
    """The signed-in administrator and the address they came from (after ProxyFix)."""
    return Actor(current_user.name, request.remote_addr or "unknown")


@dataclass(frozen=True)
class Paging:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def pages(self, total: int) -> int:
        return max(1, -(-total // self.per_page))


def paging(per_page: int = 50, max_page: int = 1_000_000) -> Paging:
    """?page=N from the query, clamped (never an error: a bad number is page 1)."""
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    return Paging(min(max(page, 1), max_page), per_page)


@bp.before_request
def _gate():
    # A POST writes: its transaction begins with BEGIN IMMEDIATE behind the write gate
    # (storage/database.py), before the session check reads anything.
    if request.method == "POST":
        g.console_write_intent = set_write_intent(True)
        csrf.protect()
    if "\x00" in request.path or any("\x00" in key or "\x00" in value
                                     for key, value in request.args.items(multi=True)):
        # PostgreSQL text cannot hold NUL; refused before any look-up, as SCIM does.
        return render_page("error.html", 400, title="Bad request",
                           message="The address holds a NUL character (%00).")
    if request.endpoint in PUBLIC:
        return None
    if current_user.is_authenticated:
        return None
    if administrators.count(db.session) == 0:
        return redirect(url_for("console.no_admin"))
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("console.sign_in", next=target))


@bp.teardown_request
def _reset_write_intent(_exc):
    token = g.pop("console_write_intent", None)
    if token is not None:
        reset_write_intent(token)


@bp.after_request
def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


@bp.app_template_filter("shown")
def _shown(value) -> str:
    """Outside text as a person may see it: controls and bidi overrides made visible
    (domain/display.py); Jinja's autoescape then takes care of HTML."""
    return "" if value is None else safe_text(str(value))


@bp.app_context_processor
def _navigation():
    return {"nav": NAV}


def render_page(template: str, status: int = 200, **context):
    return render_template(f"console/{template}", **context), status


@bp.errorhandler(CSRFError)
def _csrf_refused(exc):
    db.session.rollback()
    return render_page("error.html", 400, title="Form expired",
                       message="This form was not accepted: it expired or did not come "
                               "from this console. Go back, reload the page and try again.")


@bp.errorhandler(ScimError)
def _domain_refused(exc: ScimError):
    """A domain function refused the input (the SCIM error it would answer the API
    with): the page says why, nothing was changed."""
    db.session.rollback()
    return render_page("error.html", exc.status if 400 <= exc.status < 500 else 500,
                       title="Not accepted", message=exc.detail)


@bp.errorhandler(HTTPException)
def _http_error(exc):
    db.session.rollback()
    return render_page("error.html", exc.code or 500, title=exc.name,
                       message=exc.description or exc.name)


@bp.errorhandler(Exception)
def _unexpected(exc):
    from flask import current_app

    db.session.rollback()
    current_app.logger.exception("unexpected error on %s %s", request.method, request.path)
    return render_page("error.html", 500, title="Internal error",
                       message="Something went wrong in the appliance; nothing was changed. "
                               "The appliance log has the details.")
