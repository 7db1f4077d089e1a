"""The operator CLI contract, run as a real process against a real instance folder."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest


def run(instance, *args, env=None, check=True):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_APPLIANCE_")}
    full_env.update({"SCIM_APPLIANCE_INSTANCE_PATH": str(instance), **(env or {})})
    proc = subprocess.run([sys.executable, "-m", "scim_appliance", *args], env=full_env,
                          capture_output=True, text=True, timeout=60)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def instance(tmp_path):
    path = tmp_path / "instance"
    run(path, "init")
    return path


def _assert_one_line_error(proc):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_init_creates_a_private_config_and_the_database_idempotently(instance):
    config = instance / "config.py"
    assert (instance / "scim-appliance.db").exists()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE((instance / "scim-appliance.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    before = config.read_text()
    assert "SECRET_KEY = " in before
    run(instance, "init")
    assert config.read_text() == before


def test_commands_before_init_fail_with_one_line(tmp_path):
    line = _assert_one_line_error(run(tmp_path / "nowhere", "token", "issue", check=False))
    assert "scim-appliance init" in line


def test_token_issue_prints_the_token_last_and_voids_the_previous_one(instance):
    first = run(instance, "token", "issue").stdout.splitlines()[-1]
    assert first.startswith("scimapp_")
    second_out = run(instance, "token", "issue").stdout
    second = second_out.splitlines()[-1]
    assert second != first and "previous Secret Token no longer works" in second_out
    # Only the newest one authenticates.
    from scim_appliance import create_app
    from scim_appliance.domain.access import appliance
    from scim_appliance.domain.protocol.errors import Unauthorized
    from scim_appliance.domain.query.direct_reads import Reads
    from scim_appliance.storage.extensions import db

    os.environ["SCIM_APPLIANCE_INSTANCE_PATH"] = str(instance)
    try:
        app = create_app()
    finally:
        del os.environ["SCIM_APPLIANCE_INSTANCE_PATH"]
    with app.app_context():
        appliance.set_sync(db.session, True)
        db.session.commit()
        reads = Reads.within(db.session)
        appliance.authenticate(reads, app.config["SECRET_KEY"], f"Bearer {second}")
        with pytest.raises(Unauthorized):
            appliance.authenticate(reads, app.config["SECRET_KEY"], f"Bearer {first}")
        db.engine.dispose()


def test_token_issue_if_missing_keeps_the_active_token(instance):
    first = run(instance, "token", "issue", "--if-missing").stdout.splitlines()[-1]
    again = run(instance, "token", "issue", "--if-missing").stdout
    assert first not in again and "already active" in again


def test_token_status_never_shows_the_token(instance):
    assert "active: no" in run(instance, "token", "status").stdout
    token = run(instance, "token", "issue").stdout.splitlines()[-1]
    out = run(instance, "token", "status").stdout
    assert "active: yes" in out and "last used: never" in out and token not in out
    data = json.loads(run(instance, "token", "status", "--json").stdout)
    assert data["active"] is True and data["issued"].endswith("Z")


def test_sync_switch(instance):
    assert run(instance, "sync", "status").stdout.strip() == "disabled"
    run(instance, "sync", "enable")
    assert run(instance, "sync", "status").stdout.strip() == "enabled"
    run(instance, "sync", "disable")
    assert run(instance, "sync", "status").stdout.strip() == "disabled"


def test_endpoint_prints_the_tenant_url(instance):
    assert run(instance, "endpoint").stdout.strip() == "http://127.0.0.1:8080/scim"
    out = run(instance, "endpoint", env={"SCIM_APPLIANCE_PORT": "9000"}).stdout.strip()
    assert out == "http://127.0.0.1:9000/scim"
    out = run(instance, "endpoint",
              env={"SCIM_APPLIANCE_PUBLIC_URL": "https://scim.contoso.com/"}).stdout.strip()
    assert out == "https://scim.contoso.com/scim"


def test_init_creates_config_py_private_from_the_start(tmp_path, monkeypatch):
    """0600 when it is created, not narrowed afterwards (with os.chmod doing nothing, a
    file opened with the default mode stays world-readable)."""
    from scim_appliance import create_app

    monkeypatch.setattr(os, "chmod", lambda *_args, **_kwargs: None)
    monkeypatch.setenv("SCIM_APPLIANCE_INSTANCE_PATH", str(tmp_path / "instance"))
    old = os.umask(0o022)
    try:
        app = create_app()
        result = app.test_cli_runner().invoke(args=["init"])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "instance" / "config.py").stat().st_mode) == 0o600
