"""What the unit's sandbox forbids, the appliance never does: `db upgrade` (its
ExecStartPre) and `serve` with two worker processes, traced with strace through an
upgrade and a round of SCIM requests.

systemd-analyze verify checks the unit's syntax, not that the appliance survives it;
no systemd runs the service here (the tests run without systemd as PID 1). So the
system calls are checked against the unit's own filters instead:
- SystemCallFilter=@system-service, minus ~@privileged @resources: every call made is
  in the first set and none in the others (sets expanded by `systemd-analyze
  syscall-filter`). Exception: SQLite gives a new journal or WAL file the database's
  owner with fchown only when it runs as root (os_unix.c, robustFchown), as these
  tests may; under User=scim-appliance it never does.
- MemoryDenyWriteExecute=yes: no mapping made writable and executable, no mprotect
  adding PROT_EXEC.
- RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6: no socket of another family.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.appliance_server import RunningAppliance
from tests.deploy.test_unit import unit_settings
from tests.deploy.tools import require
from tests.storage.test_migrations import release_instance

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="strace, /proc")

CALL = re.compile(r"^\d+\s+(?:<\.\.\. )?([a-z_0-9]+)[( ]")
ONLY_AS_ROOT = {"fchown"}


def expand(analyze: str, groups: list[str], seen=None) -> set[str]:
    """System call names in `groups` (e.g. @system-service), nested groups expanded."""
    seen = set() if seen is None else seen
    names: set[str] = set()
    for group in groups:
        if group in seen:
            continue
        seen.add(group)
        out = subprocess.run([analyze, "syscall-filter", group], capture_output=True,
                             text=True, timeout=60, check=True).stdout
        for line in out.splitlines()[1:]:
            item = line.strip()
            if not item or item.startswith("#"):
                continue
            names |= expand(analyze, [item], seen) if item.startswith("@") else {item}
    return names


def traced(strace: str, trace: Path, argv: list[str]) -> list[str]:
    return [strace, "-f", "-qq", "-s", "0", "-o", str(trace), *argv]


def calls(trace: Path) -> tuple[set[str], list[str]]:
    """The system call names in a trace, and its lines."""
    lines = trace.read_text(encoding="utf-8", errors="replace").splitlines()
    return {m.group(1) for line in lines if (m := CALL.match(line))}, lines


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
        return [int(p) for p in fh.read().split()]


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    strace = require("strace", "strace")
    tmp = tmp_path_factory.mktemp("syscalls")
    instance, fixture = release_instance(tmp, "release-0.1.0")
    # The 0.1.0 fixture is a SQLite file: named here, so no other backend is used.
    appliance = RunningAppliance(instance, env={
        "SCIM_APPLIANCE_PROCESSES": "2",
        "SCIM_APPLIANCE_SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'scim-appliance.db'}"})
    appliance.token = fixture["token"]
    upgrade = tmp / "upgrade.trace"
    subprocess.run(traced(strace, upgrade, [sys.executable, "-m", "scim_appliance", "db",
                                            "upgrade"]),
                   env=appliance.env, check=True, capture_output=True, timeout=300)
    appliance.cli("sync", "enable")
    serve = tmp / "serve.trace"
    proc = subprocess.Popen(traced(strace, serve, [sys.executable, "-m", "scim_appliance",
                                                   "serve", "--port", str(appliance.port)]),
                            env=appliance.env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            try:
                if requests.get(f"{appliance.base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        http = appliance.session()
        for n in range(6):
            created = http.post(f"{appliance.base}/scim/Users",
                                json={"userName": f"traced{n}@contoso.com"})
            assert created.status_code == 201, created.text
            url = f"{appliance.base}/scim/Users/{created.json()['id']}"
            http.patch(url, json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": False}]})
            http.get(f"{appliance.base}/scim/Users",
                     params={"filter": f'userName eq "traced{n}@contoso.com"'})
            assert http.delete(url).status_code == 204
        group = http.post(f"{appliance.base}/scim/Groups", json={"displayName": "Traced"})
        assert group.status_code == 201
        assert requests.get(f"{appliance.base}/scim/Users").status_code == 401
        time.sleep(1)  # the log writers' batches
    finally:
        # SIGTERM to serve itself (strace's child): it stops its workers and exits,
        # and strace with it.
        for child in _children(proc.pid):
            os.kill(child, signal.SIGTERM)
        proc.communicate(timeout=60)
    return calls(upgrade), calls(serve), instance


@pytest.fixture(scope="module")
def sandbox():
    analyze = require("systemd-analyze", "systemd")
    filters = unit_settings()["SystemCallFilter"]
    allowed = expand(analyze, [g for g in filters if not g.startswith("~")][0].split())
    denied = expand(analyze, [g[1:] for g in filters if g.startswith("~")][0].split())
    return allowed, denied


@pytest.mark.parametrize("which", ["db upgrade", "serve"])
def test_every_system_call_is_one_the_unit_allows(traces, sandbox, which):
    used, _ = traces[0 if which == "db upgrade" else 1]
    allowed, denied = sandbox
    assert len(used) > 30  # the trace caught the work
    exempt = ONLY_AS_ROOT if os.geteuid() == 0 else set()
    assert sorted(used - allowed - exempt) == []
    assert sorted((used & denied) - exempt) == []


@pytest.mark.parametrize("which", ["db upgrade", "serve"])
def test_no_memory_is_made_writable_and_executable(traces, which):
    _, lines = traces[0 if which == "db upgrade" else 1]
    assert not [line for line in lines if re.search(r"\b(pkey_)?mprotect\(.*PROT_EXEC", line)]
    assert not [line for line in lines if re.search(r"\bmmap\(.*PROT_WRITE\|PROT_EXEC", line)
                or re.search(r"\bmmap\(.*PROT_EXEC\|PROT_WRITE", line)]


def test_sockets_are_of_the_families_the_unit_allows(traces):
    one = {key: values[-1] for key, values in unit_settings().items()}
    families = set(one["RestrictAddressFamilies"].split())
    for _, lines in traces[:2]:
        opened = {m.group(1) for line in lines if (m := re.search(r"\bsocket\((AF_\w+)", line))}
        assert opened <= families


def test_the_upgrade_really_ran(traces):
    """The db upgrade traced was an upgrade (0.1.0 to this release, after a backup), not
    "nothing to do"."""
    instance = traces[2]
    assert list((instance / "backups").glob("*before-upgrade*.db"))
