"""`serve` with several worker processes (scim_appliance/server/workers.py), over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.appliance_server import RunningAppliance

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads worker pids from /proc; fork() is POSIX only")


def _workers(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
        return [int(p) for p in fh.read().split()]


@pytest.fixture
def server(tmp_path):
    appliance = RunningAppliance(tmp_path / "instance",
                                 env={"SCIM_APPLIANCE_PROCESSES": "2"}).start()
    yield appliance
    appliance.stop()


def test_workers_share_the_port_and_every_request_is_logged_once(server):
    assert len(_workers(server.proc.pid)) == 2

    def client(n: int) -> list[str]:
        http = server.session()  # a connection of its own: the kernel picks the worker
        ids = []
        created = http.post(f"{server.base}/scim/Users",
                            json={"userName": f"user{n}@contoso.com"})
        assert created.status_code == 201, created.text
        ids.append(created.headers["X-Request-Id"])
        for _ in range(5):
            found = http.get(f"{server.base}/scim/Users",
                             params={"filter": f'userName eq "user{n}@contoso.com"'})
            assert found.json()["totalResults"] == 1
            ids.append(found.headers["X-Request-Id"])
        return ids

    with ThreadPoolExecutor(8) as pool:
        sent = [i for ids in pool.map(client, range(16)) for i in ids]
    listed = server.session().get(f"{server.base}/scim/Users", params={"count": 100}).json()
    assert listed["totalResults"] == 16
    server.stop()  # SIGTERM: each worker writes the log entries it still holds
    assert server.returncode == 0, server.proc_output
    entries = json.loads(server.cli("log", "--json", "--limit", "500"))
    logged = [e["request_id"] for e in entries]
    assert sorted(set(sent) - set(logged)) == [] and len(logged) == len(set(logged))


def test_a_worker_that_dies_stops_the_appliance(server):
    first, _second = _workers(server.proc.pid)
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while server.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    # 1, so systemd (Restart=on-failure, deploy/scim-appliance.service) or docker
    # restarts the whole appliance; 78 would mean "do not restart".
    assert server.proc.poll() == 1


def test_ctrl_c_stops_every_worker_quietly(server):
    """A terminal's Ctrl-C reaches the parent and every worker of the group."""
    for pid in [server.proc.pid, *_workers(server.proc.pid)]:
        os.kill(pid, signal.SIGINT)
    server.proc.wait(20)
    server.stop()
    assert server.returncode == 0, server.proc_output
    assert "Traceback" not in server.proc_output
    assert server.proc_output.count("scim-appliance serving") == 1  # not once per worker
