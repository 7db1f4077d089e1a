"""`serve` refuses to reflect the Host header to the network (issue 13, 15).

Without PUBLIC_URL the links the appliance hands out (`meta.location`, `Location`) are
built from the request's Host header. That is harmless on loopback (`make run`, or a
reverse proxy on the same box that sets Host), not on an address others can reach.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import click
import pytest

from scim_appliance.cli.serve import check_exposure
from tests.appliance_server import RunningAppliance, free_port


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", ""])
def test_a_non_loopback_bind_needs_public_url_or_trusted_hosts(host):
    with pytest.raises(click.ClickException, match="PUBLIC_URL"):
        check_exposure({"PUBLIC_URL": None, "TRUSTED_HOSTS": None}, host)
    check_exposure({"PUBLIC_URL": "https://scim.contoso.com", "TRUSTED_HOSTS": None}, host)
    check_exposure({"PUBLIC_URL": None, "TRUSTED_HOSTS": ["scim.contoso.com"]}, host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_keeps_todays_behaviour(host):
    check_exposure({"PUBLIC_URL": None, "TRUSTED_HOSTS": None}, host)


def test_serve_exits_before_binding(tmp_path):
    appliance = RunningAppliance(tmp_path / "instance")
    appliance.cli("init")
    port = free_port()
    proc = subprocess.run([sys.executable, "-m", "scim_appliance", "serve", "--host",
                           "0.0.0.0", "--port", str(port)], env=appliance.env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 78  # EX_CONFIG: systemd does not restart into it
    assert "PUBLIC_URL" in proc.stderr and "TRUSTED_HOSTS" in proc.stderr
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
