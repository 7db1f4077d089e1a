"""What the userid migration writes and prints (issue 13 #1, #16): names neutralised on
the terminal, no spreadsheet formula in its CSV files, every file private (0600)."""

from __future__ import annotations

import csv
import json
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import make_user
from tests.hostile_text import STORABLE as HOSTILE
from tests.hostile_text import assert_shown_safely

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"open\")", "@SUM(1+1)*cmd|' /C calc'!A0",
            "'quoted", "  =1+2"]
TRIGGERS = set("=+-@\t\r")


@pytest.fixture
def umask_022():
    """The usual umask: files opened with the default mode would be world-readable."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=["migrate-userids", *args])
    return invoke


@pytest.fixture
def odd_names(scim):
    """Legacy IDs an attacker or an odd directory chose, each with an email to map to;
    two of the new IDs start with a formula character as well."""
    users = {HOSTILE: "mallory@contoso.com"}
    users.update({name: f"user{i}@contoso.com" for i, name in enumerate(FORMULAS)})
    users["plus"] = "+plus@contoso.com"
    users["minus"] = "-minus@contoso.com"
    for name, email in users.items():
        make_user(scim, name, emails=[{"type": "work", "value": email}])
    return users


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _cells(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def test_the_printed_plan_and_the_plan_files(cli, odd_names, tmp_path, umask_022):
    result = cli("--plan-out", str(tmp_path / "plan.csv"))
    assert result.exit_code == 0, result.output
    assert_shown_safely(result.output)
    assert "[convert] mallory\\u000d\\u000aFAKE-LINE" in result.output
    plan = tmp_path / "plan.csv"
    assert _mode(plan) == 0o600
    cells = _cells(plan)
    assert not [c for c in cells if c.lstrip(" \n")[:1] in TRIGGERS]
    assert_shown_safely(plan.read_text(encoding="utf-8"))
    assert "'=HYPERLINK(\"http://evil.example\",\"open\")" in cells
    assert "'+plus@contoso.com" in cells and "''quoted" in cells

    as_json = tmp_path / "plan.json"
    assert cli("--plan-out", str(as_json)).exit_code == 0
    assert _mode(as_json) == 0o600
    assert_shown_safely(as_json.read_text(encoding="utf-8"))
    olds = {i["old"] for i in json.loads(as_json.read_text(encoding="utf-8"))["items"]}
    assert olds == set(odd_names)  # exact values


def test_an_existing_plan_file_is_replaced_by_a_private_one(cli, odd_names, tmp_path,
                                                            umask_022):
    (tmp_path / "plans").mkdir()
    plan = tmp_path / "plans" / "plan.csv"
    plan.write_text("old\n", encoding="utf-8")
    plan.chmod(0o644)
    assert cli("--plan-out", str(plan)).exit_code == 0
    assert _mode(plan) == 0o600 and plan.read_text(encoding="utf-8").startswith("id,old")
    assert [p.name for p in plan.parent.iterdir()] == ["plan.csv"]  # no temporary file


def test_the_undo_file_is_private_inert_and_reverts_exactly(app, cli, odd_names, scim,
                                                            umask_022):
    applied = cli("--apply", "--allow-sanitized", "--no-backup", "--pause", "0")
    assert applied.exit_code == 0, applied.output
    assert_shown_safely(applied.output)
    assert f"converted {len(odd_names)}," in applied.output
    undo = Path(app.instance_path) / "userid-migration-undo.csv"
    assert _mode(undo) == 0o600
    assert not [c for c in _cells(undo) if c.lstrip(" \n")[:1] in TRIGGERS]

    dry = cli("--revert", str(undo))
    assert dry.exit_code == 0 and f"Revert plan: {len(odd_names)} to restore" in dry.output
    assert_shown_safely(dry.output)
    reverted = cli("--revert", str(undo), "--apply", "--no-backup", "--pause", "0")
    assert reverted.exit_code == 0, reverted.output
    names = {u["userName"] for u in scim.get("/scim/Users").get_json()["Resources"]}
    assert names == set(odd_names)  # every legacy ID back, byte for byte
