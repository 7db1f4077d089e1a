"""Dry run of the name rules without an instance: what would each name become?

    python scripts/names_dry_run.py users.csv [--preset cloudsso] [--mode sanitize]
                                              [--field userName|group] [--json]

The same check as `scim-appliance names check` (scim_appliance/domain/names/check.py),
for an administrator who has exported names from Entra but set up nothing yet.
Exit status 1 when any name would be refused (reject mode, or the same name twice).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scim_appliance.domain.display import safe_text  # noqa: E402
from scim_appliance.domain.names.check import check_names, format_json, format_text, read_entries
from scim_appliance.domain.names.policy import build_rules  # noqa: E402
from scim_appliance.domain.names.rules import FIELDS, MODES, PRESETS, USER_NAME  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="CSV (userName/displayName column or first column) "
                                     "or JSON (list of names or objects)")
    parser.add_argument("--preset", choices=list(PRESETS), default="cloudsso")
    parser.add_argument("--mode", choices=list(MODES), default="sanitize")
    parser.add_argument("--field", choices=list(FIELDS), default=USER_NAME)
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    policy = build_rules(args.preset, args.mode).policy(args.field)
    try:
        results = check_names(read_entries(args.file, args.field), policy)
    except (OSError, ValueError) as exc:
        print(safe_text(f"Error: {exc}"), file=sys.stderr)
        return 2
    print(format_json(results, policy) if args.json else format_text(results, policy))
    return 1 if any(r.refused for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
