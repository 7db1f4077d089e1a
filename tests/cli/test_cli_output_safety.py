"""Every CLI listing shows outside values neutralised (domain/display.py, issue 13 #1).

Entra's own names are stored exactly as sent; `HOSTILE` (tests/hostile_text.py) is such
a name with CR/LF, a fake line of advice, terminal escapes and bidi overrides. Each
printer must show it without one raw control character and without a line of its own;
`--json` output must decode to the exact value.
"""

from __future__ import annotations

import json

import click
import pytest

from tests.conftest import make_user
from tests.hostile_text import HOSTILE, STORABLE, assert_shown_safely

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def invoke(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    return result


@pytest.fixture
def hostile(app, scim):
    """A user, a group and failures whose names and details carry HOSTILE."""
    user = make_user(scim, STORABLE, displayName=STORABLE, externalId=STORABLE,
                     emails=[{"type": "work", "value": "mallory@contoso.com"}])
    group = scim.post("/scim/Groups", {"displayName": STORABLE}).get_json()
    assert scim.post("/scim/Users", {"userName": STORABLE}).status_code == 409
    assert scim.patch(f"/scim/Groups/{group['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": STORABLE}]}]}).status_code == 400
    return user, group


def test_log_lines_and_json(app, hostile):
    text = invoke(app, "log").stdout
    assert text.count("\n") == 4  # one line per entry
    assert_shown_safely(text)
    assert "User mallory\\u000d\\u000aFAKE-LINE" in text
    failures = invoke(app, "log", "--failures", "--user", HOSTILE).stdout
    assert_shown_safely(failures)
    as_json = invoke(app, "log", "--json").stdout
    assert_shown_safely(as_json)
    assert json.loads(as_json)[-1]["resource_name"] == STORABLE


def test_users_and_groups_listings(app, hostile):
    for command, name in ((("users", "list"), "userName"),
                          (("groups", "list"), "displayName")):
        table = invoke(app, *command).stdout
        assert_shown_safely(table)
        assert len(table.splitlines()) == 2  # the header and one row
        as_json = invoke(app, *command, "--json").stdout
        assert_shown_safely(as_json)
        assert json.loads(as_json)[0][name] == STORABLE


def test_name_adjustments(app, hostile):
    text = invoke(app, "names", "adjustments").stdout
    assert_shown_safely(text)
    assert len(text.splitlines()) == 2
    as_json = invoke(app, "names", "adjustments", "--json").stdout
    assert_shown_safely(as_json)
    assert {a["original"] for a in json.loads(as_json)} == {STORABLE}


def test_names_check_of_a_file(app, tmp_path):
    names = tmp_path / "names.json"
    names.write_text(json.dumps([HOSTILE, "ok@contoso.com", HOSTILE]), encoding="utf-8")
    result = invoke(app, "names", "check", str(names))
    assert result.exit_code == 1  # the duplicate would be refused
    assert_shown_safely(result.stdout)
    as_json = invoke(app, "names", "check", str(names), "--json").stdout
    assert_shown_safely(as_json)
    assert json.loads(as_json)["results"][0]["original"] == HOSTILE


def test_import_errors_name_the_row_safely(app, tmp_path):
    path = tmp_path / "users.csv"
    path.write_text('userName,active\n"' + HOSTILE.replace("\x00", "") + '",maybe\n',
                    encoding="utf-8")
    result = invoke(app, "users", "import", str(path))
    assert result.exit_code == 1
    assert_shown_safely(result.stderr)
    assert len(result.stderr.splitlines()) == 2  # the row, then the one-line error


@pytest.mark.parametrize("error", [click.ClickException(HOSTILE), ValueError(HOSTILE)])
def test_one_line_errors_neutralise_what_they_quote(app, tmp_path, monkeypatch, error):
    """An SMTP server's reply or a value in a file, quoted by an error message."""
    def fail(*_args):
        raise error

    monkeypatch.setattr("scim_appliance.cli.names.read_entries", fail)
    names = tmp_path / "names.csv"
    names.write_text("userName\na\n", encoding="utf-8")
    result = invoke(app, "names", "check", str(names))
    assert result.exit_code == 1
    assert_shown_safely(result.stderr)
    assert len(result.stderr.splitlines()) == 1
