"""Write a database with an old release's own code, for the upgrade tests.

    python scripts/make_release_db.py 0521196 tests/fixtures/releases/release-0.1.0
    python scripts/make_release_db.py b7901d5 tests/fixtures/releases/before-name-rules

Takes the given commit of this repository (`git archive`, so the work tree is not
touched), and runs *that* code in a child process: its `init` and `token issue`
commands, then SCIM requests through its own app (users with names the rules adjust,
the enterprise extension and a manager, groups with members, a rename, a failure or
two for the log), then `sync disable`. It writes `<out>.db` (vacuumed) and
`<out>.json`: the SECRET_KEY and token, and every user and group as that release
answered GET, which the upgrade test compares with what the new code serves.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SECRET_KEY = "release-fixture-secret-key"

# Runs inside the old release's code (its directory first on sys.path).
_CHILD = r'''
import json, os, sqlite3, sys
out, key = sys.argv[1], sys.argv[2]
from scim_appliance import create_app
app = create_app()
assert app.config["SECRET_KEY"] == key
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
token = os.environ["FIXTURE_TOKEN"]
client = app.test_client()
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}

def call(method, path, body=None, expect=None):
    resp = client.open(path, method=method, headers=headers,
                       data=json.dumps(body) if body is not None else None)
    if expect is not None:
        assert resp.status_code == expect, (method, path, resp.status_code, resp.get_data())
    return resp.get_json() if resp.data else None

users = {}
for name, extra in [
    ("adele.vance@contoso.com", {"displayName": "Adele Vance", "externalId": "a-1",
        "name": {"givenName": "Adele", "familyName": "Vance"},
        "emails": [{"type": "work", "value": "adele.vance@contoso.com", "primary": True}],
        "title": "Retail Manager", ENT: {"department": "Retail", "employeeNumber": "1001"}}),
    ("Seán.Ó'Brien@contoso.com", {"displayName": "Seán Ó'Brien", "externalId": "s-2",
        "active": True, "phoneNumbers": [{"type": "work", "value": "+353 1 555 0100"}]}),
    ("jose@contoso.com", {"displayName": "José", "externalId": "j-3"}),
    ("josé@contoso.com", {"displayName": "José (2)", "externalId": "j-4"}),
    ("张伟@contoso.com", {"displayName": "张伟", "active": False}),
]:
    body = {"schemas": [CORE] + ([ENT] if ENT in extra else []), "userName": name, **extra}
    users[name] = call("POST", "/scim/Users", body, 201)["id"]
adele = users["adele.vance@contoso.com"]
call("PATCH", f"/scim/Users/{users['jose@contoso.com']}", {"schemas": [PATCH], "Operations": [
    {"op": "Replace", "path": f"{ENT}:manager", "value": adele},
    {"op": "Replace", "path": "title", "value": "Engineer"}]}, 200)
call("PATCH", f"/scim/Users/{users['张伟@contoso.com']}", {"schemas": [PATCH], "Operations": [
    {"op": "replace", "path": "active", "value": "True"}]}, 200)
call("POST", "/scim/Users", {"schemas": [CORE], "userName": "ADELE.vance@contoso.com"}, 409)
groups = {}
for name, members in [("Finance & Ops (EMEA)", [adele, users["jose@contoso.com"]]),
                      ("Sales", list(users.values())), ("Empty group", [])]:
    body = {"schemas": [GROUP], "displayName": name, "externalId": f"g-{len(groups)}",
            "members": [{"value": m} for m in members]}
    groups[name] = call("POST", "/scim/Groups", body, 201)["id"]
call("PATCH", f"/scim/Groups/{groups['Sales']}", {"schemas": [PATCH], "Operations": [
    {"op": "Remove", "path": "members", "value": [{"value": users["张伟@contoso.com"]}]},
    {"op": "Replace", "path": "displayName", "value": "Sales & Marketing"}]}, None)
call("PATCH", f"/scim/Groups/{groups['Empty group']}", {"schemas": [PATCH], "Operations": [
    {"op": "Add", "path": "members", "value": [{"value": "no-such-user"}]}]}, 400)
call("GET", "/scim/Users?filter=" + "userName eq \"adele.vance@contoso.com\"", None, 200)
expected = {"users": {i: call("GET", f"/scim/Users/{i}", None, 200) for i in users.values()},
            "groups": {i: call("GET", f"/scim/Groups/{i}", None, 200)
                       for i in groups.values()}}
try:  # releases with a provisioning log write it on a thread: wait for it
    from scim_appliance.scim.request_log import log_writer
    log_writer(app).flush(timeout=10)
except ImportError:
    pass
json.dump(expected, open(out, "w"), ensure_ascii=False, indent=1, sort_keys=True)
'''


def _run(code_dir: Path, env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "-c",
                             "import sys; sys.path.insert(0, sys.argv.pop(1)); "
                             "from scim_appliance.cli import main; main()", str(code_dir), *args],
                            env=env, capture_output=True, text=True, cwd=code_dir)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("commit", help="the release's commit, e.g. 0521196")
    parser.add_argument("out", type=Path, help="output path without suffix")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        code = Path(tmp) / "code"
        code.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.commit],
                                 capture_output=True, check=True).stdout
        archive_path = Path(tmp) / "release.tar"
        archive_path.write_bytes(archive)
        with tarfile.open(archive_path) as tar:
            tar.extractall(code, filter="data")
        instance = Path(tmp) / "instance"
        instance.mkdir()
        (instance / "config.py").write_text(f"SECRET_KEY = {SECRET_KEY!r}\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_APPLIANCE_")}
        env["SCIM_APPLIANCE_INSTANCE_PATH"] = str(instance)
        _run(code, env, "init")
        token = _run(code, env, "token", "issue").strip().splitlines()[-1]
        _run(code, env, "sync", "enable")
        expected_path = Path(tmp) / "expected.json"
        child = subprocess.run([sys.executable, "-c",
                                "import sys; sys.path.insert(0, sys.argv.pop(1)); "
                                "exec(sys.argv.pop(1))", str(code), _CHILD,
                                str(expected_path), SECRET_KEY],
                               env={**env, "FIXTURE_TOKEN": token}, cwd=code,
                               capture_output=True, text=True)
        if child.returncode != 0:
            raise SystemExit(child.stderr)
        _run(code, env, "sync", "disable")
        database = instance / "scim-appliance.db"
        import sqlite3
        con = sqlite3.connect(database)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("VACUUM")
        con.close()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(database, Path(f"{args.out}.db"))
        expected = json.loads(expected_path.read_text())
        fixture = {"commit": args.commit, "secret_key": SECRET_KEY, "token": token,
                   "sync_enabled": False, **expected}
        Path(f"{args.out}.json").write_text(
            json.dumps(fixture, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
        print(f"{args.out}.db: {len(expected['users'])} users, "
              f"{len(expected['groups'])} groups")


if __name__ == "__main__":
    main()
