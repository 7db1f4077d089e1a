"""deploy/scim-appliance.service: valid for systemd, hardened, and its restart policy
matches `serve`'s exit statuses (scim_appliance/cli/serve.py)."""

from __future__ import annotations

import configparser
import subprocess
import sys

import pytest

from scim_appliance.cli.serve import EXIT_CONFIG
from tests.appliance_server import RunningAppliance
from tests.deploy.tools import DEPLOY, INSTALLED_CLI, require, this_cli

UNIT = DEPLOY / "scim-appliance.service"


def unit_settings() -> dict[str, list[str]]:
    """[Service] settings, each with every value it was given (systemd allows repeats)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None,
                                       dict_type=_MultiDict, empty_lines_in_values=False)
    parser.optionxform = str
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return {key: value.split("\n") for key, value in parser["Service"].items()}


class _MultiDict(dict):
    def __setitem__(self, key, value):
        if isinstance(value, list) and key in self:
            self[key].extend(value)
            return
        super().__setitem__(key, value)


@pytest.fixture
def installed_unit(tmp_path):
    """The unit with ExecStart pointing at this environment's scim-appliance, since
    systemd-analyze verify checks that the command exists."""
    text = UNIT.read_text(encoding="utf-8").replace(INSTALLED_CLI, this_cli())
    path = tmp_path / UNIT.name
    path.write_text(text, encoding="utf-8")
    return path


def test_systemd_analyze_verify_finds_nothing_to_say(installed_unit):
    analyze = require("systemd-analyze", "systemd")
    proc = subprocess.run([analyze, "verify", "--man=no", str(installed_unit)],
                          capture_output=True, text=True, timeout=120)
    # A misspelt or unknown setting is only a warning (exit 0): any output is a failure.
    assert proc.returncode == 0 and not proc.stderr.strip() and not proc.stdout.strip(), \
        proc.stdout + proc.stderr


def test_the_hardening_keeps_the_exposure_low(installed_unit):
    """`systemd-analyze security` scores what the service may do, 0 (nothing) to 10;
    the unit is at 1.2. A threshold of 2.0 catches a setting dropped by mistake."""
    analyze = require("systemd-analyze", "systemd")
    proc = subprocess.run([analyze, "security", "--offline=yes", "--threshold=20",
                           str(installed_unit)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_unit_runs_as_its_own_user_read_only_but_for_its_state():
    settings = unit_settings()
    one = {key: values[-1] for key, values in settings.items()}
    assert one["User"] == one["Group"] == "scim-appliance"
    assert one["ProtectSystem"] == "strict"
    assert one["ReadWritePaths"] == "/var/lib/scim-appliance"
    assert one["StateDirectory"] == "scim-appliance"
    assert one["Environment"] == "SCIM_APPLIANCE_INSTANCE_PATH=/var/lib/scim-appliance/instance"
    assert one["WorkingDirectory"] == "/var/lib/scim-appliance"
    for flag in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "PrivateDevices"):
        assert one[flag] == "yes", flag
    assert one["CapabilityBoundingSet"] == "" and one["AmbientCapabilities"] == ""
    assert one["ExecStartPre"] == f"{INSTALLED_CLI} db upgrade"
    assert one["ExecStart"] == f"{INSTALLED_CLI} serve"


def test_restart_on_failure_but_never_into_a_configuration_error():
    one = {key: values[-1] for key, values in unit_settings().items()}
    assert one["Restart"] == "on-failure"
    prevented = {int(code) for code in one["RestartPreventExitStatus"].split()}
    assert prevented == {2, EXIT_CONFIG}
    assert 1 not in prevented  # a worker that died (tests/server/test_workers.py)


def test_serve_exits_78_on_an_instance_that_is_not_set_up(tmp_path):
    appliance = RunningAppliance(tmp_path / "instance")
    proc = subprocess.run([sys.executable, "-m", "scim_appliance", "serve"],
                          env=appliance.env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == EXIT_CONFIG, proc.stderr
    assert "scim-appliance init" in proc.stderr and "Traceback" not in proc.stderr


def test_serve_exits_78_on_a_broken_config_file(tmp_path):
    appliance = RunningAppliance(tmp_path / "instance")
    appliance.cli("init")
    config = tmp_path / "instance" / "config.py"
    config.write_text(config.read_text(encoding="utf-8") + "PORT = (\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "scim_appliance", "serve"],
                          env=appliance.env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == EXIT_CONFIG, proc.stderr
    assert proc.stderr.startswith("Error: the configuration cannot be loaded: SyntaxError")
    assert "Traceback" not in proc.stderr


def test_serve_exits_78_on_a_bad_smtp_setting(tmp_path):
    appliance = RunningAppliance(tmp_path / "instance", env={
        "SCIM_APPLIANCE_SMTP_HOST": "127.0.0.1", "SCIM_APPLIANCE_NOTIFY_TO": "ops@contoso.com",
        "SCIM_APPLIANCE_SMTP_SECURITY": "sometimes"})
    appliance.cli("init")
    proc = subprocess.run([sys.executable, "-m", "scim_appliance", "serve", "--port",
                           str(appliance.port)], env=appliance.env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == EXIT_CONFIG, proc.stdout + proc.stderr
    assert "SMTP_SECURITY" in proc.stderr


def test_the_sysusers_entry_creates_the_user(tmp_path):
    sysusers = require("systemd-sysusers", "systemd")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    entry = root / "scim-appliance.conf"
    entry.write_text((DEPLOY / "scim-appliance.sysusers").read_text(encoding="utf-8"))
    proc = subprocess.run([sysusers, f"--root={root}", "--dry-run", str(entry)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Creating user 'scim-appliance'" in proc.stdout + proc.stderr
    assert "ignoring" not in proc.stderr
