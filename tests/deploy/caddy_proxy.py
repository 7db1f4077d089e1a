"""A real Caddy (Debian's package) running deploy/Caddyfile, non-root, in a temporary
folder: the shipped site with the test's ports, a self-signed certificate instead of
ACME, no admin endpoint, and its log and storage in the folder."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.appliance_server import free_port
from tests.deploy.https_client import PUBLIC_HOST
from tests.deploy.nginx_proxy import _unprivileged_user, make_certificate
from tests.deploy.tools import DEPLOY, require

CADDYFILE = DEPLOY / "Caddyfile"


def caddy_binary() -> str:
    return require("caddy", "caddy")


def caddy_env(folder: Path) -> dict:
    """Caddy keeps certificates and its autosave under HOME/XDG folders: the test's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(folder), XDG_DATA_HOME=str(folder / "data"),
               XDG_CONFIG_HOME=str(folder / "config"))
    return env


def render_caddyfile(upstream_port: int, https_port: int, http_port: int, folder: Path,
                     cert: Path, key: Path) -> str:
    text = CADDYFILE.read_text(encoding="utf-8")
    replacements = {
        "{\n\temail admin@example.com\n}\n": (
            "{\n\tadmin off\n"
            f"\thttp_port {http_port}\n\thttps_port {https_port}\n"
            f"\tdefault_sni {PUBLIC_HOST}\n\tauto_https disable_redirects\n"
            f"\tstorage file_system {folder / 'storage'}\n}}\n"),
        f"{PUBLIC_HOST} {{\n": f"{PUBLIC_HOST} {{\n\tbind 127.0.0.1\n\ttls {cert} {key}\n",
        "reverse_proxy 127.0.0.1:8080 {": f"reverse_proxy 127.0.0.1:{upstream_port} {{",
        "output file /var/log/caddy/scim-appliance.log {":
            f"output file {folder / 'access.log'} {{",
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, f"{CADDYFILE.name}: expected {old!r} exactly once"
        text = text.replace(old, new)
    return text


class RunningCaddy:
    def __init__(self, upstream_port: int):
        self.binary = caddy_binary()
        self.https_port = free_port()
        self.http_port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="scim-caddy-"))
        self.cert, self.key = make_certificate(self.folder)
        self.config = self.folder / "Caddyfile"
        self.config.write_text(render_caddyfile(upstream_port, self.https_port,
                                                self.http_port, self.folder, self.cert,
                                                self.key), encoding="utf-8")
        self._user = _unprivileged_user()
        if self._user is not None:
            for path in (self.folder, *self.folder.iterdir()):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)
        self.proc: subprocess.Popen | None = None
        self.output = ""

    def _run_as(self) -> dict:
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}

    def start(self) -> RunningCaddy:
        self.proc = subprocess.Popen(
            [self.binary, "run", "--config", str(self.config), "--adapter", "caddyfile"],
            env=caddy_env(self.folder), cwd=self.folder, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, **self._run_as())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.https_port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"caddy did not start: {self.output}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                out, _ = self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                out, _ = self.proc.communicate()
            self.output = out.decode("utf-8", "replace") if out else ""
            self.proc = None

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
