"""Convert legacy user IDs (jdoe, CONTOSO\\jdoe) to email-based ones (issue 6).

    python scripts/convert_userids_to_email.py [--domain contoso.com]
        [--rename-domain contoso.local=contoso.com] [--include-emails] [--strict]
        [--plan-out plan.csv] [--apply] [--revert UNDO_FILE]

The same command as `scim-appliance migrate-userids` (scim_appliance/cli/migrate.py,
domain logic in scim_appliance/domain/accounts/userid_migration.py and userid_apply.py), for
operators who keep their one-shot jobs in scripts/. It works on the instance named by
SCIM_APPLIANCE_INSTANCE_PATH (as every scim-appliance command does); `--help` lists
every option. A dry run unless --apply.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scim_appliance.cli import main  # noqa: E402


def run(argv: list[str] | None = None) -> int:
    """Run `migrate-userids` with `argv`; return its exit status."""
    try:
        main.main(["migrate-userids", *(sys.argv[1:] if argv is None else argv)],
                  prog_name="convert_userids_to_email.py")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(run())
