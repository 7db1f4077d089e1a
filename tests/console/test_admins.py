"""Administrators, sessions, throttling and the audit trail (domain/admins/), on a real
SQLite file; and the `admin` commands as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from scim_appliance.domain.admins import administrators, audit, sessions, throttle
from scim_appliance.domain.admins.passwords import MIN_LENGTH
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import AuditEntry, ConsoleSession, SignInFailure
from tests.console.conftest import PASSWORD

CLI_ACTOR = audit.Actor("cli")


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield db.session


def test_a_password_is_stored_as_an_argon2id_hash_only(ctx):
    admin = administrators.create_admin(ctx, "alex", PASSWORD, CLI_ACTOR)
    ctx.commit()
    assert admin.password_hash.startswith("$argon2id$")
    assert PASSWORD not in admin.password_hash


@pytest.mark.parametrize("name", ["", " ", "-lead", "a b", "x" * 65, "ñame", "a/b"])
def test_bad_names_are_refused_with_the_rule(ctx, name):
    with pytest.raises(administrators.AdminError, match="1 to 64 characters"):
        administrators.create_admin(ctx, name, PASSWORD, CLI_ACTOR)


def test_short_passwords_and_duplicate_names_are_refused(ctx):
    with pytest.raises(administrators.AdminError, match=f"at least {MIN_LENGTH}"):
        administrators.create_admin(ctx, "alex", "short", CLI_ACTOR)
    administrators.create_admin(ctx, "alex", PASSWORD, CLI_ACTOR)
    with pytest.raises(administrators.AdminError, match="exists already"):
        administrators.create_admin(ctx, "ALEX", PASSWORD, CLI_ACTOR)


def test_sign_in_starts_a_session_and_one_failure_message_for_name_and_password(ctx):
    administrators.create_admin(ctx, "alex", PASSWORD, CLI_ACTOR)
    with pytest.raises(administrators.SignInRefused):
        administrators.sign_in(ctx, "alex", "wrong password!!", "10.0.0.1")
    with pytest.raises(administrators.SignInRefused):
        administrators.sign_in(ctx, "nobody", PASSWORD, "10.0.0.1")
    admin, token = administrators.sign_in(ctx, "Alex", PASSWORD, "10.0.0.1")
    ctx.commit()
    assert sessions.resolve(ctx, token, sessions.Timeouts()).administrator.id == admin.id
    stored = ctx.scalars(select(ConsoleSession.id)).all()
    assert token not in stored and len(stored) == 1  # only its hash
    # the success forgets the account's failures, not the other name's
    assert [f.account for f in ctx.scalars(select(SignInFailure))] == ["nobody"]


def test_the_account_is_throttled_after_repeated_failures_whatever_the_address(ctx):
    administrators.create_admin(ctx, "alex", PASSWORD, CLI_ACTOR)
    for n in range(throttle.PER_ACCOUNT):
        with pytest.raises(administrators.SignInRefused):
            administrators.sign_in(ctx, "alex", "wrong password!!", f"10.0.0.{n}")
    with pytest.raises(throttle.Throttled) as refused:
        administrators.sign_in(ctx, "alex", PASSWORD, "10.9.9.9")
    assert 0 < refused.value.retry_after <= throttle.WINDOW.total_seconds() + 1
    # a throttled attempt adds no row
    assert throttle.failures(ctx) == throttle.PER_ACCOUNT


def test_one_address_is_throttled_across_names(ctx):
    for n in range(throttle.PER_CLIENT):
        with pytest.raises(administrators.SignInRefused):
            administrators.sign_in(ctx, f"user{n}", PASSWORD, "10.0.0.1")
    with pytest.raises(throttle.Throttled):
        administrators.sign_in(ctx, "someone-else", PASSWORD, "10.0.0.1")
    throttle.check(ctx, "10.0.0.2", "someone-else")  # another address is not


def test_failures_leave_the_window(ctx):
    now = throttle.utcnow()
    old = now - throttle.WINDOW - timedelta(seconds=1)
    for _ in range(throttle.PER_ACCOUNT):
        throttle.record_failure(ctx, "10.0.0.1", "alex", now=old)
    throttle.check(ctx, "10.0.0.1", "alex", now=now)
    throttle.record_failure(ctx, "10.0.0.1", "alex", now=now)
    assert throttle.failures(ctx) == 1  # the old rows were pruned


def test_sessions_end_on_idle_timeout_and_absolute_lifetime(ctx):
    admin = administrators.create_admin(ctx, "alex", PASSWORD, CLI_ACTOR)
    token = sessions.start(ctx, admin, "10.0.0.1")
    ctx.flush()
    row = ctx.scalars(select(ConsoleSession)).one()
    timeouts = sessions.Timeouts(idle=timedelta(minutes=30), lifetime=timedelta(hours=12))
    assert sessions.resolve(ctx, token, timeouts).touch_due is False
    row.last_seen_at -= timedelta(minutes=31)
    assert sessions.resolve(ctx, token, timeouts) is None
    token = sessions.start(ctx, admin, "10.0.0.1", timeouts)
    ctx.flush()
    row = ctx.scalars(select(ConsoleSession)).one()  # the timed-out one was deleted
    row.created_at -= timedelta(hours=13)  # seen a moment ago, but too old
    assert sessions.resolve(ctx, token, timeouts) is None
    assert sessions.resolve(ctx, "not-a-token", timeouts) is None
    assert sessions.resolve(ctx, "x" * 500, timeouts) is None


def test_a_password_reset_and_a_removal_end_the_sessions(ctx):
    alex = administrators.create_admin(ctx, "alex", PASSWORD, CLI_ACTOR)
    administrators.create_admin(ctx, "sam", PASSWORD, CLI_ACTOR)
    token = sessions.start(ctx, alex, None)
    administrators.reset_password(ctx, "alex", "another long password", CLI_ACTOR)
    assert sessions.resolve(ctx, token, sessions.Timeouts()) is None
    token = sessions.start(ctx, alex, None)
    administrators.delete_admin(ctx, "alex", CLI_ACTOR)
    ctx.flush()
    assert sessions.resolve(ctx, token, sessions.Timeouts()) is None


def test_the_last_administrator_is_never_deleted(ctx):
    administrators.create_admin(ctx, "alex", PASSWORD, CLI_ACTOR)
    with pytest.raises(administrators.AdminError, match="last administrator"):
        administrators.delete_admin(ctx, "alex", CLI_ACTOR)


def test_every_change_is_audited_with_who_and_from_where(ctx):
    console = audit.Actor("sam", "192.0.2.7")
    administrators.create_admin(ctx, "alex", PASSWORD, CLI_ACTOR)
    administrators.create_admin(ctx, "sam", PASSWORD, console)
    administrators.reset_password(ctx, "alex", "another long password", console)
    administrators.delete_admin(ctx, "alex", console)
    ctx.commit()
    rows, total = audit.entries(ctx)
    assert total == 4
    assert [(r.actor, r.origin, r.action, r.detail) for r in rows] == [
        ("sam", "192.0.2.7", audit.ADMIN_DELETED, "alex"),
        ("sam", "192.0.2.7", audit.ADMIN_PASSWORD_RESET, "alex"),
        ("sam", "192.0.2.7", audit.ADMIN_CREATED, "sam"),
        ("cli", "cli", audit.ADMIN_CREATED, "alex"),
    ]
    assert all(r.at is not None for r in ctx.scalars(select(AuditEntry)))


# --- the CLI, as a real process -------------------------------------------------------

def run(instance, *args, stdin=None, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_APPLIANCE_")}
    env["SCIM_APPLIANCE_INSTANCE_PATH"] = str(instance)
    proc = subprocess.run([sys.executable, "-m", "scim_appliance", *args], env=env,
                          input=stdin, capture_output=True, text=True, timeout=60)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_admin_commands_create_list_reset_and_never_delete_the_last(tmp_path):
    instance = tmp_path / "instance"
    run(instance, "init")
    assert "No administrator yet" in run(instance, "admin", "list").stdout
    run(instance, "admin", "create", "alex", "--password-stdin", stdin=PASSWORD + "\n")
    run(instance, "admin", "create", "sam", "--password-stdin", stdin=PASSWORD + "\n")
    listed = run(instance, "admin", "list").stdout
    assert "alex" in listed and "sam" in listed and "last sign-in never" in listed
    out = run(instance, "admin", "reset-password", "alex", "--password-stdin",
              stdin="a brand new password\n").stdout
    assert "sessions were ended" in out
    run(instance, "admin", "delete", "sam")
    last = run(instance, "admin", "delete", "alex", check=False)
    assert last.returncode == 1 and "last administrator" in last.stderr
    weak = run(instance, "admin", "create", "kim", "--password-stdin", stdin="short\n",
               check=False)
    assert weak.returncode == 1 and "at least" in weak.stderr
    assert "Traceback" not in weak.stderr


def test_admin_create_without_a_terminal_asks_for_password_stdin(tmp_path):
    instance = tmp_path / "instance"
    run(instance, "init")
    proc = run(instance, "admin", "create", "alex", stdin="", check=False)
    assert proc.returncode == 1 and "--password-stdin" in proc.stderr
