"""A real nginx (Debian's package) running deploy/nginx/scim-appliance.conf, as a
non-root user, with its own pid, logs and temp paths in a temporary folder.

The site file is used as shipped, except for what only a test may change: the ports
(free ones on loopback instead of 80/443 and 8080), the IPv6 listeners, and the
certificate (a self-signed one made here instead of certbot's). Each replaced line
must occur exactly once, so a change to the shipped file that a test would miss
fails here instead.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.appliance_server import free_port
from tests.deploy.https_client import PUBLIC_HOST
from tests.deploy.tools import DEPLOY, require

SITE = DEPLOY / "nginx" / "scim-appliance.conf"
# What the test log records per request: the client address nginx saw, its connection
# (serial number, requests on it so far), and the upstream connection's address.
PROBE_LOG = ('log_format probe \'$remote_addr conn=$connection req=$connection_requests '
             'status=$status $request_method $uri upstream=$upstream_addr\';')


def nginx_binary() -> str:
    return require("nginx", "nginx-light", paths=("/usr/sbin/nginx",))


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for scim.example.com and 127.0.0.1 (openssl CLI)."""
    openssl = require("openssl", "openssl")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", f"/CN={PUBLIC_HOST}", "-addext",
                    f"subjectAltName=DNS:{PUBLIC_HOST},IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def render_site(upstream_port: int, https_port: int, http_port: int, cert: Path,
                key: Path, folder: Path) -> str:
    """The shipped site with the test's ports and certificate."""
    text = SITE.read_text(encoding="utf-8")
    replacements = {
        "    server 127.0.0.1:8080;\n": f"    server 127.0.0.1:{upstream_port};\n",
        "    listen 80;\n": f"    listen 127.0.0.1:{http_port};\n",
        "    listen [::]:80;\n": "",
        "    listen 443 ssl;\n": f"    listen 127.0.0.1:{https_port} ssl;\n",
        "    listen [::]:443 ssl;\n": "",
        "/etc/letsencrypt/live/scim.example.com/fullchain.pem;": f"{cert};",
        "/etc/letsencrypt/live/scim.example.com/privkey.pem;": f"{key};",
        # The shipped log in the test folder, and beside it the probe log, which
        # shows connections.
        "    access_log /var/log/nginx/scim-appliance.access.log scim_appliance;\n": (
            f"    access_log {folder / 'scim-appliance.access.log'} scim_appliance;\n"
            f"    access_log {folder / 'access.log'} probe;\n"),
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, f"{SITE.name}: expected {old!r} exactly once"
        text = text.replace(old, new)
    return text


class RunningNginx:
    """nginx in front of an appliance on `upstream_port`; `start()` then `stop()`."""

    def __init__(self, upstream_port: int):
        self.binary = nginx_binary()
        self.upstream_port = upstream_port
        self.https_port = free_port()
        self.http_port = free_port()
        # Not pytest's tmp_path: that is private to root when the tests run as root,
        # and nginx runs as nobody then.
        self.folder = Path(tempfile.mkdtemp(prefix="scim-nginx-"))
        self.cert, self.key = make_certificate(self.folder)
        self.proc: subprocess.Popen | None = None
        self._user = _unprivileged_user()
        self.conf = self.folder / "nginx.conf"
        (self.folder / "scim-appliance.conf").write_text(
            render_site(upstream_port, self.https_port, self.http_port, self.cert, self.key,
                        self.folder),
            encoding="utf-8")
        self.conf.write_text(self._main_conf(), encoding="utf-8")
        if self._user is not None:
            for path in (self.folder, *self.folder.iterdir()):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)

    def _main_conf(self) -> str:
        d = self.folder
        temp = "\n".join(f"    {kind}_temp_path {d / kind};"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        return f"""# What Debian's /etc/nginx/nginx.conf gives the site, in a test folder.
worker_processes 1;
daemon off;
pid {d / 'nginx.pid'};
error_log {d / 'error.log'} info;
events {{ worker_connections 256; }}
http {{
{temp}
    default_type application/octet-stream;
    {PROBE_LOG}
    access_log {d / 'access.log'} probe;
    include {d / 'scim-appliance.conf'};
}}
"""

    def _run_as(self) -> dict:
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid,
                "extra_groups": []}

    def test_config(self) -> subprocess.CompletedProcess:
        """`nginx -t` on the configuration."""
        return subprocess.run([self.binary, "-t", "-p", str(self.folder), "-e",
                               str(self.folder / "error.log"), "-c", str(self.conf)],
                              capture_output=True, text=True, timeout=60, **self._run_as())

    def start(self) -> RunningNginx:
        self.proc = subprocess.Popen(
            [self.binary, "-p", str(self.folder), "-e", str(self.folder / "error.log"),
             "-c", str(self.conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            **self._run_as())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.https_port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        output = self.stop()
        raise RuntimeError(f"nginx did not start: {output}\n{self.error_log()}")

    def stop(self) -> str:
        output = ""
        if self.proc is not None:
            self.proc.terminate()
            try:
                out, _ = self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                out, _ = self.proc.communicate()
            output = out.decode("utf-8", "replace") if out else ""
            self.proc = None
        return output

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def access_log(self, name: str = "access.log") -> list[str]:
        path = self.folder / name
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _unprivileged_user():
    """`nobody` when the tests run as root (CI does): nginx must not run as root here."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwnam("nobody")


def established_from(port: int) -> set[tuple[str, int]]:
    """The peers of every ESTABLISHED TCP connection whose local port is `port` (read
    from /proc/net/tcp and tcp6): the upstream connections nginx holds open to it."""
    peers = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                address, remote_port = remote.rsplit(":", 1)
                peers.add((address, int(remote_port, 16)))
    return peers
