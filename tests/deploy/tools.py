"""The outside programs the deploy tests run (systemd-analyze, nginx, caddy, openssl).

Under CI=true (.ci/run installs them from Debian's packages) a missing one fails the
test; elsewhere the test is skipped with a reason that says how to install it.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# Where the unit expects the appliance (a virtualenv at /opt/scim-appliance).
INSTALLED_CLI = "/opt/scim-appliance/bin/scim-appliance"


def require(program: str, package: str, *, paths: tuple[str, ...] = ()) -> str:
    """The path of `program`, or skip (fail under CI) saying which package brings it."""
    found = shutil.which(program) or next((p for p in paths if os.access(p, os.X_OK)), None)
    if found:
        return found
    reason = (f"{program} is not installed: `apt-get install -y {package}` "
              f"(Debian's package) to run this test")
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI: {reason}")
    print(f"\nSKIPPED LOUDLY: {reason}", file=sys.stderr)
    pytest.skip(reason)


def this_cli() -> str:
    """The scim-appliance command of the environment running the tests."""
    return str(Path(sys.executable).with_name("scim-appliance"))
