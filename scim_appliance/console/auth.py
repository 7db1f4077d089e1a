"""Signing in and out of the console, and who is signed in.

The browser holds Flask's signed session cookie, used by the console only: it carries
the CSRF secret and, once signed in, the token of a server-side session
(domain/admins/sessions.py) as Flask-Login's user id. So every request looks the
session up in the database: signing out, a password change or removing an
administrator ends it at once, and the idle and absolute timeouts hold whatever the
cookie says. The cookie is HttpOnly, SameSite=Lax, and Secure whenever the request came
over HTTPS (directly, or through TRUSTED_PROXIES, as ProxyFix reports it).

The SCIM API and /healthz get no session at all (a null session, as before the
console), so a console cookie opens nothing there, and the SCIM Secret Token, a
bearer header, is never read here.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask.sessions import NullSession, SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy.orm import Session

from ..domain.admins import administrators, audit, sessions, throttle
from ..storage.database import write_intent
from ..storage.extensions import db
from .blueprint import bp, render_page
from .forms import SignInForm

login_manager = LoginManager()
SIGN_IN_REFUSED = "The username or password is not correct."
COOKIE_NAME = "scim_appliance_console"


def is_console_path(path: str) -> bool:
    return not (path == "/scim" or path.startswith("/scim/") or path == "/healthz")


class ConsoleOnlySessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session for console pages; none for the SCIM API (where
    building the signer would cost 5% of a filter GET, see create_app)."""

    def open_session(self, app, request):
        if not is_console_path(request.path):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if isinstance(session, NullSession):
            return None
        return super().save_session(app, session, response)

    def get_cookie_secure(self, app) -> bool:
        return request.is_secure


class ConsoleUser(UserMixin):
    """The signed-in administrator; the id Flask-Login keeps is the session token."""

    def __init__(self, administrator_id: int, name: str, token: str):
        self.administrator_id = administrator_id
        self.name = name
        self.token = token

    def get_id(self) -> str:
        return self.token


def timeouts() -> sessions.Timeouts:
    config = current_app.config
    return sessions.Timeouts(idle=timedelta(seconds=float(config["CONSOLE_IDLE_TIMEOUT"])),
                             lifetime=timedelta(
                                 seconds=float(config["CONSOLE_SESSION_LIFETIME"])))


@login_manager.user_loader
def _load_user(token: str):
    resolved = sessions.resolve(db.session, token, timeouts())
    if resolved is None:
        return None
    if resolved.touch_due:
        if request.method == "POST":  # already a write: in the request's transaction
            sessions.touch(db.session, token)
        else:  # a page view stays a read; the touch is a short write of its own
            try:
                with write_intent(), Session(db.engine) as own, own.begin():
                    sessions.touch(own, token)
            except Exception:  # noqa: BLE001 - bookkeeping must never fail a page
                current_app.logger.warning("could not record a console session's use")
    admin = resolved.administrator
    return ConsoleUser(admin.id, admin.name, token)


def init_app(app: Flask) -> None:
    app.config["SESSION_COOKIE_NAME"] = COOKIE_NAME
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.session_interface = ConsoleOnlySessions()
    # The server-side session replaces Flask-Login's own protection and remember-me.
    login_manager.session_protection = None
    login_manager.init_app(app)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host: never an open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//") and "\\" not in target:
            return target
    return url_for("console.dashboard")


def _sign_in_page(form, next_url, status=200, error=None):
    return render_page("sign_in.html", status, form=form, next_url=next_url, title="Sign in",
                       error=error, per_account=throttle.PER_ACCOUNT,
                       per_client=throttle.PER_CLIENT,
                       window=int(throttle.WINDOW.total_seconds() // 60))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if administrators.count(db.session) == 0:
        return redirect(url_for("console.no_admin"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("console.dashboard"))
    form = SignInForm()
    next_url = request.args.get("next")
    if request.method == "GET":
        return _sign_in_page(form, next_url)
    client = request.remote_addr or "unknown"
    try:
        admin, token = administrators.sign_in(db.session, form.username.data or "",
                                              form.password.data or "", client)
    except throttle.Throttled as refused:
        db.session.rollback()
        minutes = -(-refused.retry_after // 60)
        body, status = _sign_in_page(
            form, next_url, 429,
            f"Too many failed sign-ins for this account or from this address. Sign-in "
            f"is paused; try again in {minutes} minute{'s' if minutes > 1 else ''}.")
        return body, status, {"Retry-After": str(refused.retry_after)}
    except administrators.SignInRefused:
        db.session.commit()  # the failure counts towards the throttle
        return _sign_in_page(form, next_url, 401, SIGN_IN_REFUSED)
    if current_user.is_authenticated:  # signing in again ends the session it replaces
        sessions.end(db.session, current_user.token)
    db.session.commit()
    # A fresh session: nothing from before sign-in (the CSRF secret included) survives.
    session.clear()
    login_user(ConsoleUser(admin.id, admin.name, token))
    return redirect(_safe_next(next_url))


@bp.post("/sign-out")
def sign_out():
    sessions.end(db.session, current_user.token)
    audit.record(db.session, audit.Actor(current_user.name, request.remote_addr or "unknown"),
                 audit.SIGNED_OUT)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("console.sign_in"))


@bp.get("/no-administrator")
def no_admin():
    if administrators.count(db.session) > 0:
        return redirect(url_for("console.sign_in"))
    return render_page("no_admin.html", title="No administrator yet")
