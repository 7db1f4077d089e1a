"""Start the real appliance (`scim-appliance serve`, waitress) on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


DATABASE_KEY = "SCIM_APPLIANCE_SQLALCHEMY_DATABASE_URI"


class RunningAppliance:
    """`database`: "suite" is the suite's backend (a PostgreSQL database of its own when
    SCIM_APPLIANCE_TEST_DATABASE_URL is set, tests/pg.py; else the instance's SQLite
    file), "sqlite" the SQLite file always (tests that open the file themselves), or a
    URL. The rest of the caller's SCIM_APPLIANCE_* environment is not passed on."""

    def __init__(self, instance, env=None, database: str = "suite"):
        from tests import pg

        self.instance = instance
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_APPLIANCE_")}
        self.env.update({"SCIM_APPLIANCE_INSTANCE_PATH": str(instance), **(env or {})})
        if database == "suite" and DATABASE_KEY not in self.env:
            database = pg.fresh_database() if pg.SERVER_URL else "sqlite"
        if database not in ("suite", "sqlite"):
            self.env.setdefault(DATABASE_KEY, database)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.token = None
        self.proc_output = ""
        self.returncode = None

    def cli(self, *args) -> str:
        proc = subprocess.run([sys.executable, "-m", "scim_appliance", *args], env=self.env,
                              capture_output=True, text=True, timeout=60, check=True)
        return proc.stdout

    def start(self):
        self.cli("init")
        self.token = self.cli("token", "issue").splitlines()[-1]
        self.cli("sync", "enable")
        return self.serve()

    def serve(self):
        """Start `serve` on the instance as it is (no init, no new token)."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scim_appliance", "serve", "--port", str(self.port)],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the appliance did not start")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                out, _ = self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                out, _ = self.proc.communicate()
            self.proc_output = out.decode("utf-8", "replace") if out else ""
            self.returncode = self.proc.returncode
            self.proc = None

    def session(self) -> requests.Session:
        http = requests.Session()
        http.headers.update({"Authorization": f"Bearer {self.token}",
                             "Content-Type": "application/scim+json; charset=utf-8"})
        return http
