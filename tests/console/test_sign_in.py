"""Signing in and out, the session cookie, CSRF, the security headers, and the wall
between the console and the SCIM API (Flask test client, real SQLite file)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from scim_appliance.console.auth import COOKIE_NAME, SIGN_IN_REFUSED
from scim_appliance.domain.admins import administrators, audit, throttle
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import AuditEntry, ConsoleSession
from tests.console.conftest import PASSWORD, Console, create_admin, csrf_of


def test_without_an_administrator_every_page_names_the_command(app):
    client = app.test_client()
    for path in ("/", "/sign-in", "/users", "/settings/scim"):
        resp = client.get(path, follow_redirects=True)
        assert resp.status_code == 200
        assert "scim-appliance admin create NAME" in resp.get_data(as_text=True)


def test_signed_out_pages_lead_to_the_sign_in_form(anonymous):
    resp = anonymous.get("/users?page=2")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/sign-in?next=")
    page = anonymous.get("/sign-in").get_data(as_text=True)
    for text in ('<label for="username">Username</label>',
                 '<label for="password">Password</label>', ">Sign in</button>",
                 "sign-in is paused"):
        assert text in page


def test_every_failure_gets_the_same_message(anonymous):
    for name, password in (("alex", "wrong password!!"), ("nobody", PASSWORD), ("", ""),
                           ("alex", "x" * 5000)):
        resp = anonymous.sign_in(name, password)
        assert resp.status_code == 401
        assert SIGN_IN_REFUSED in resp.get_data(as_text=True)


def test_throttling_is_stated_and_answers_429(anonymous):
    for _ in range(throttle.PER_ACCOUNT):
        anonymous.sign_in("alex", "wrong password!!")
    resp = anonymous.sign_in("alex", PASSWORD)  # even the right password
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 0
    assert "Sign-in is paused" in resp.get_data(as_text=True)


def test_sign_in_sets_a_fresh_httponly_lax_cookie_and_goes_where_asked(anonymous):
    before = anonymous.client.get_cookie(COOKIE_NAME)
    resp = anonymous.post_form("/sign-in?next=/users", "/sign-in?next=/users",
                               {"username": "alex", "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/users"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    after = anonymous.client.get_cookie(COOKIE_NAME)
    assert before is None or before.value != after.value
    assert anonymous.get("/").status_code == 200


def test_the_cookie_is_secure_over_https_from_a_trusted_proxy(tmp_path):
    from scim_appliance import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "k", "TRUSTED_PROXIES": 1,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"})
    with app.app_context():
        db.create_all()
    create_admin(app)
    client = Console(app.test_client())
    https = {"X-Forwarded-Proto": "https"}
    page = client.client.get("/sign-in", headers=https, base_url="https://localhost")
    resp = client.client.post("/sign-in", headers={**https, "Referer": "https://localhost/"},
                              base_url="https://localhost",
                              data={"csrf_token": csrf_of(page.get_data(as_text=True)),
                                    "username": "alex", "password": PASSWORD})
    assert resp.status_code == 302
    assert "Secure" in resp.headers["Set-Cookie"]


def test_an_open_redirect_is_not_followed(anonymous):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        resp = anonymous.post_form("/sign-in", f"/sign-in?next={target}",
                                   {"username": "alex", "password": PASSWORD})
        assert resp.headers["Location"] == "/"
        anonymous.client.delete_cookie(COOKIE_NAME)


def test_sign_out_ends_the_session_on_the_server(app, console):
    cookie = console.client.get_cookie(COOKIE_NAME).value
    resp = console.post_form("/", "/sign-out")
    assert resp.status_code == 302 and resp.headers["Location"] == "/sign-in"
    with app.app_context():
        assert db.session.scalars(select(ConsoleSession)).all() == []
    # the old cookie, replayed, opens nothing
    replay = app.test_client()
    replay.set_cookie(COOKIE_NAME, cookie)
    assert replay.get("/").status_code == 302


def test_a_password_change_ends_every_session(app, console):
    with app.app_context():
        administrators.reset_password(db.session, "alex", "a brand new password",
                                      audit.Actor("cli"))
        db.session.commit()
    assert console.get("/").status_code == 302


def test_idle_sessions_end(app, console):
    with app.app_context():
        row = db.session.scalars(select(ConsoleSession)).one()
        row.last_seen_at -= timedelta(seconds=app.config["CONSOLE_IDLE_TIMEOUT"] + 1)
        db.session.commit()
    assert console.get("/").status_code == 302


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(app, console):
    resp = console.client.post("/settings/scim/new-key", data={})
    assert resp.status_code == 400
    assert "This form was not accepted" in resp.get_data(as_text=True)
    resp = console.client.post("/settings/scim/sync", data={"csrf_token": "forged"})
    assert resp.status_code == 400
    with app.app_context():
        assert not db.session.scalars(select(AuditEntry)
                                      .where(AuditEntry.action != audit.ADMIN_CREATED)
                                      .where(AuditEntry.action != audit.SIGNED_IN)).all()


def test_console_pages_carry_the_security_headers(console, anonymous):
    for client, path in ((console, "/"), (console, "/settings/scim"), (anonymous, "/sign-in"),
                         (console, "/console/static/console.css")):
        resp = client.get(path)
        assert resp.status_code == 200, path
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["X-Frame-Options"] == "DENY"


def test_no_inline_script_or_style_in_any_page(console):
    for path in ("/", "/settings/scim", "/settings/scim/new-key", "/users", "/groups", "/log",
                 "/names", "/notifications", "/migration", "/administrators"):
        page = console.get(path).get_data(as_text=True)
        assert "<style" not in page and " style=" not in page, path
        assert "<script>" not in page and "<script src" in page, path


def test_a_console_session_opens_nothing_in_the_scim_api(app, console, token):
    resp = console.get("/scim/Users")
    assert resp.status_code == 401
    assert "Set-Cookie" not in resp.headers


def test_the_secret_token_opens_nothing_in_the_console(app, anonymous, token):
    resp = anonymous.get("/", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/sign-in")


def test_scim_answers_set_no_cookie(scim):
    resp = scim.get("/scim/Users")
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers


def test_sign_in_and_out_are_audited(app, console):
    console.post_form("/", "/sign-out")
    with app.app_context():
        actions = [r.action for r in db.session.scalars(select(AuditEntry)
                                                        .order_by(AuditEntry.id))]
    assert actions[-2:] == [audit.SIGNED_IN, audit.SIGNED_OUT]


def test_signing_in_again_replaces_the_session(app, console):
    with app.app_context():
        before = set(db.session.scalars(select(ConsoleSession.id)))
    again = console.post_form("/", "/sign-in", {"username": "alex", "password": PASSWORD})
    assert again.status_code == 302
    with app.app_context():
        after = set(db.session.scalars(select(ConsoleSession.id)))
    assert len(after) == 1 and after != before
