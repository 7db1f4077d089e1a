"""Run a fresh appliance under waitress for the benchmarks: init, token, sync, serve."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ApplianceProcess:
    """A `scim-appliance serve` child process on a throw-away instance folder."""

    def __init__(self, threads: int = 8, instance: str | None = None,
                 processes: int | None = None):
        self.instance = instance or tempfile.mkdtemp(prefix="scim-bench-")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_APPLIANCE_")}
        self.env["SCIM_APPLIANCE_INSTANCE_PATH"] = self.instance
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.threads = threads
        self.processes = processes
        self.proc = None
        self.token = None

    def cli(self, *args) -> str:
        return subprocess.run([sys.executable, "-m", "scim_appliance", *args], env=self.env,
                              check=True, capture_output=True, text=True).stdout

    def __enter__(self):
        self.cli("init")
        self.token = self.cli("token", "issue").splitlines()[-1]
        self.cli("sync", "enable")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scim_appliance", "serve", "--port", str(self.port),
             "--threads", str(self.threads),
             *(["--processes", str(self.processes)] if self.processes is not None else [])],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("the appliance did not start")

    def pids(self) -> list[int]:
        pids = [self.proc.pid]
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children",
                      encoding="ascii") as fh:
                pids += [int(p) for p in fh.read().split()]
        except OSError:
            pass
        return pids

    @staticmethod
    def _field_kb(path: str, name: str) -> int:
        try:
            with open(path, encoding="ascii") as fh:
                for line in fh:
                    if line.startswith(name):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def peak_rss_mb(self) -> float:
        """Peak resident memory (VmHWM) of the server in MB, summed over its worker
        processes: an upper bound, as pages shared since fork() count in each."""
        return sum(self._field_kb(f"/proc/{pid}/status", "VmHWM:")
                   for pid in self.pids()) / 1024

    def pss_mb(self) -> float:
        """Memory the server holds now (proportional set size, shared pages split
        between the processes that share them), in MB."""
        return sum(self._field_kb(f"/proc/{pid}/smaps_rollup", "Pss:")
                   for pid in self.pids()) / 1024

    def __exit__(self, *exc):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
