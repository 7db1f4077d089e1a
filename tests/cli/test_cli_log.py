"""`scim-appliance log` and `scim-appliance notify`: filters, JSON, one-line errors."""

from __future__ import annotations

import json

import pytest

from tests.appliance_server import free_port
from tests.conftest import make_user
from tests.notify.test_notifications import smtp_config
from tests.smtp_sink import SmtpSink, text_of


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def one_line_error(result) -> str:
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def history(app, scim):
    """Adele is created, renamed and disabled; Sales gets her; a duplicate is refused."""
    adele = make_user(scim, "adele@contoso.com")
    url = f"/scim/Users/{adele['id']}"
    scim.patch(url, {"Operations": [{"op": "Replace", "path": "displayName", "value": "A"}]})
    scim.patch(url, {"Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
    sales = scim.post("/scim/Groups", {"displayName": "Sales"}).get_json()
    scim.patch(f"/scim/Groups/{sales['id']}", {"Operations": [
        {"op": "Add", "path": "members", "value": [{"value": adele["id"]}]}]})
    scim.post("/scim/Users", {"userName": "Adele@contoso.com"})
    return adele, sales


def test_log_lists_newest_first(app, history):
    lines = invoke(app, "log").stdout.splitlines()
    assert len(lines) == 6
    assert " 409  rejected " in lines[0] and "[duplicate] uniqueness: userName" in lines[0]
    assert " 204  members_changed  Group Sales  (PATCH /scim/Groups/" in lines[1]
    assert "members +1" in lines[1]
    assert " 200  disabled " in lines[3] and "active=false" in lines[3]
    assert " 200  updated " in lines[4] and "displayName" in lines[4]
    assert " 201  created " in lines[5] and "User adele@contoso.com" in lines[5]


def test_log_filters_by_failure_object_time_and_count(app, history):
    adele, sales = history
    failures = invoke(app, "log", "--failures").stdout.splitlines()
    assert len(failures) == 1 and "409" in failures[0]
    by_name = json.loads(invoke(app, "log", "--user", "ADELE@contoso.com", "--json").stdout)
    by_id = json.loads(invoke(app, "log", "--user", adele["id"], "--json").stdout)
    assert [e["action"] for e in by_name] == ["rejected", "disabled", "updated", "created"]
    assert [e["action"] for e in by_id] == ["disabled", "updated", "created"]
    group = json.loads(invoke(app, "log", "--group", "sales", "--json").stdout)
    assert [(e["action"], e["changes"]) for e in group] == [
        ("members_changed", {"members_added": 1}), ("created", None)]
    assert group[0]["resource_id"] == sales["id"]
    both = json.loads(invoke(app, "log", "--group", "Sales", "--user", adele["id"],
                             "--json").stdout)
    assert len(both) == 5
    assert len(json.loads(invoke(app, "log", "--limit", "2", "--json").stdout)) == 2
    assert len(json.loads(invoke(app, "log", "--since", "1h", "--json").stdout)) == 6
    assert invoke(app, "log", "--since", "2999-01-01T00:00Z").stdout == "No matching entries.\n"


def test_log_json_has_every_field(app, history):
    (entry,) = json.loads(invoke(app, "log", "--failures", "--json").stdout)
    assert set(entry) == {
        "time", "request_id", "client", "method", "path", "resource_type", "resource_id",
        "resource_name", "operation", "action", "changes", "status", "scim_type", "detail",
        "failure_kind", "email", "duration_ms"}
    assert entry["email"] is None  # failure email is off in this app
    assert entry["time"].endswith("Z") and entry["duration_ms"] > 0


def test_a_bad_since_is_a_one_line_error(app):
    line = one_line_error(invoke(app, "log", "--since", "last tuesday"))
    assert line.startswith("Error: --since 'last tuesday': use an ISO date/time")


def test_notify_test_reports_success_or_the_smtp_error_in_one_line(app):
    sink = SmtpSink().start()
    try:
        app.config.update(smtp_config(sink.port))
        result = invoke(app, "notify", "test")
        assert result.exit_code == 0, result.output
        assert result.stdout == ("Sent a test email to admin@contoso.com, ops@contoso.com "
                                 f"via 127.0.0.1:{sink.port} (none).\n")
        (message,) = sink.received()
        assert message["Subject"] == "[scim-appliance] test email"
    finally:
        sink.stop()
    port = free_port()
    app.config.update(smtp_config(port))
    assert one_line_error(invoke(app, "notify", "test")) == \
        f"Error: cannot connect to 127.0.0.1:{port} (none): connection refused"
    app.config.update(SMTP_SECURITY="tls")
    assert "SMTP_SECURITY must be one of" in one_line_error(invoke(app, "notify", "test"))


def test_notify_is_off_until_configured(app):
    assert one_line_error(invoke(app, "notify", "test")) == \
        "Error: failure email is off: set SMTP_HOST and NOTIFY_TO"
    assert invoke(app, "notify", "status").stdout.startswith("failure email: off")


def test_notify_flush_sends_pending_failures_now(app, scim):
    sink = SmtpSink().start()
    try:
        app.config.update(smtp_config(sink.port))
        make_user(scim, "a@contoso.com")
        scim.post("/scim/Users", {"userName": "a@contoso.com"})
        assert "failures waiting: 1" in invoke(app, "notify", "status").stdout
        result = invoke(app, "notify", "flush")
        assert result.stdout == "Sent a digest of 1 failure to admin@contoso.com, " \
                                "ops@contoso.com.\n"
        assert invoke(app, "notify", "flush").stdout == "No failures are waiting to be mailed.\n"
        (message,) = sink.received()
        assert "userName 'a@contoso.com' is already taken" in text_of(message)
        status = invoke(app, "notify", "status").stdout
        assert "failures waiting: 0" in status and "last digest: sent, 1 failures" in status
        assert json.loads(invoke(app, "log", "--failures", "--json").stdout)[0]["email"] == \
            "mailed"
    finally:
        sink.stop()
    app.config.update(smtp_config(free_port()))
    scim.post("/scim/Users", {"userName": "a@contoso.com"})
    assert "connection refused" in one_line_error(invoke(app, "notify", "flush"))
