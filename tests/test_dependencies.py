"""Dependencies: secure lower bounds, and constraints.txt pins what make installs.

`make run` and `make test` install constraints.txt (every file checked against its
hash) and then the appliance without dependencies, so a fresh machine gets the tested
versions. These tests fail when setup.cfg names a package the file does not pin, when
a pin no longer satisfies setup.cfg, or when this environment is not the pinned one;
`make constraints` regenerates the file (README, "Development").
"""

from __future__ import annotations

import configparser
import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
# The first release with each known security fix (issue 13, item 18).
SECURE_FROM = {
    "waitress": "3.0.1",     # CVE-2024-49768 (request smuggling), CVE-2024-49769
    "flask": "3.1.3",        # GHSA-68rp-wp8r-4726; 3.1.1: CVE-2025-47278
    "werkzeug": "3.1.6",     # GHSA-29vq-49wr-vm6x; 3.0.6: CVE-2024-49767 (multipart DoS)
    "orjson": "3.11.6",      # GHSA-hx9q-6w63-j58v (dumps recursion); 3.9.15: CVE-2024-27454
    "marshmallow": "4.1.2",  # CVE-2025-68480 (Schema.load many DoS)
    "requests": "2.32.4",    # CVE-2024-47081 (.netrc credentials leak)
    "aiosmtpd": "1.4.6",     # CVE-2024-34083, CVE-2024-27305 (SMTP smuggling)
}


def declared() -> list[Requirement]:
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg", encoding="utf-8")
    lines = setup["options"]["install_requires"].splitlines() + \
        setup["options.extras_require"]["dev"].splitlines()
    return [Requirement(line) for line in (raw.strip() for raw in lines) if line]


def pins() -> dict[str, tuple[Version, int]]:
    """{name: (pinned version, number of hashes)} from constraints.txt."""
    text = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    found = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        head = re.match(r"([A-Za-z0-9._-]+)==(\S+)", block)
        if head:
            found[canonicalize_name(head[1])] = (Version(head[2]),
                                                 block.count("--hash=sha256:"))
    return found


def test_every_requirement_is_pinned_with_hashes_within_its_bounds():
    pinned = pins()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not in constraints.txt: run make constraints"
        version, hashes = pinned[name]
        assert requirement.specifier.contains(version), (name, str(version))
        assert hashes, name
    assert all(hashes for _, hashes in pinned.values())
    # What the editable install of the appliance needs, since it runs without isolation.
    assert {"setuptools", "wheel", "pip"} <= set(pinned)


def test_lower_bounds_exclude_releases_with_known_security_fixes():
    bounds = {canonicalize_name(r.name): r.specifier for r in declared()}
    for name, secure in SECURE_FROM.items():
        minimums = [Version(s.version) for s in bounds[name] if s.operator == ">="]
        assert minimums and max(minimums) >= Version(secure), (name, str(bounds[name]))
        assert pins()[name][0] >= Version(secure)


def test_this_environment_is_the_pinned_one():
    for name, (version, _) in pins().items():
        assert Version(metadata.version(name)) == version, name


def test_make_installs_from_the_file_with_hashes_and_the_appliance_without_deps():
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "install --quiet --require-hashes -r $(CONSTRAINTS)" in recipe
    assert "install --quiet --no-deps --no-build-isolation -e ." in recipe
    assert "CONSTRAINTS := constraints.txt" in recipe
