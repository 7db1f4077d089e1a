"""CPU cost of the most expensive requests the documented limits still allow.

    python scripts/bench_limits.py [--repeat 5]

README "Limits" says what one request may carry; this measures what the protocol layer
(validation and PATCH, before the name rules and the database) spends on the worst
shapes within them, as process CPU time (so other load on the machine does not count),
and on the 3.9 MB userName that the limits now refuse. Nothing here is a test: the
figures go into the README.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scim_appliance.domain.protocol.errors import ScimError  # noqa: E402
from scim_appliance.domain.protocol.patch import apply_patch  # noqa: E402
from scim_appliance.domain.protocol.schema import (  # noqa: E402
    GROUP_TYPE,
    LONG_TEXT,
    MAX_MEMBERS,
    MAX_OPERATIONS,
    MAX_VALUES,
    PATCH_OP,
    SHORT_TEXT,
    USER_TYPE,
)
from scim_appliance.domain.protocol.validation import load_resource, validate_document  # noqa: E402

EMAILS = [{"type": "work", "value": f"{i:03d}".ljust(SHORT_TEXT, "e"), "display": "d" * SHORT_TEXT}
          for i in range(MAX_VALUES)]
FULL_USER = {
    "userName": "u" * SHORT_TEXT, "displayName": "d" * SHORT_TEXT, "emails": EMAILS,
    "phoneNumbers": EMAILS, "ims": EMAILS, "roles": EMAILS, "entitlements": EMAILS,
    "addresses": [{"streetAddress": f"{i}".ljust(LONG_TEXT, "s"), "formatted": "f" * LONG_TEXT}
                  for i in range(MAX_VALUES)],
}


def _patch(ops, doc, rtype=USER_TYPE, member_ops=None):
    patched = apply_patch(doc, {"schemas": [PATCH_OP], "Operations": ops}, rtype,
                          member_ops=member_ops)
    if member_ops is None:
        validate_document(patched, rtype)


CASES = {
    "POST: every multi-valued attribute full, every string at its maximum":
        lambda: load_resource(FULL_USER, USER_TYPE),
    f"PATCH: {MAX_OPERATIONS} x add {MAX_VALUES} emails already there":
        lambda: _patch([{"op": "add", "path": "emails", "value": EMAILS}] * MAX_OPERATIONS,
                       {"userName": "u", "emails": EMAILS}),
    f"PATCH: {MAX_OPERATIONS} x replace all {MAX_VALUES} emails":
        lambda: _patch([{"op": "replace", "path": "emails", "value": EMAILS}] * MAX_OPERATIONS,
                       {"userName": "u", "emails": EMAILS}),
    f"PATCH: {MAX_OPERATIONS} x legacy remove listing {MAX_VALUES} emails":
        lambda: _patch([{"op": "Remove", "path": "emails",
                         "value": [{"value": f"x{i}"} for i in range(MAX_VALUES)]}]
                       * MAX_OPERATIONS, {"userName": "u", "emails": EMAILS}),
    f"PATCH: {MAX_OPERATIONS} x filtered replace over {MAX_VALUES} emails":
        lambda: _patch([{"op": "replace", "path": 'emails[value co "e"].display', "value": "z"}]
                       * MAX_OPERATIONS, {"userName": "u", "emails": EMAILS}),
    f"group PATCH: add {MAX_MEMBERS:,} members":
        lambda: _patch([{"op": "add", "path": "members",
                         "value": [{"value": f"{i:036d}"} for i in range(MAX_MEMBERS)]}],
                       {"displayName": "g"}, GROUP_TYPE, []),
    "POST: a 3.9 MB userName (refused)":
        lambda: load_resource({"userName": "x" * 3_900_000}, USER_TYPE),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"| request | CPU ms (best of {args.repeat}) | outcome |")
    print("|---|---|---|")
    for name, run in CASES.items():
        best, outcome = float("inf"), "accepted"
        for _ in range(args.repeat):
            started = time.process_time()
            try:
                run()
            except ScimError as exc:
                outcome = f"{exc.status} {exc.scim_type}"
            best = min(best, time.process_time() - started)
        print(f"| {name} | {best * 1000:.1f} | {outcome} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
