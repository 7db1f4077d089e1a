"""Per-module mutation scores from mutmut's result files (`make mutation` prints them).

mutmut 3 keeps one `<module>.py.meta` per mutated file under `mutants/`, mapping each
mutant to the exit code of its test run; `mutmut.stats` names the codes. The score is
mutmut's own: killed and timed-out mutants over the mutants that were checked.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code


def main(root: str = "mutants") -> int:
    metas = sorted(Path(root).rglob("*.py.meta"))
    if not metas:
        print(f"no mutmut results under {root}/; run `make mutation` first")
        return 1
    for meta in metas:
        codes = json.loads(meta.read_text())["exit_code_by_key"].values()
        counts = Counter(status_by_exit_code[code] for code in codes)
        checked = sum(counts.values()) - counts["not checked"]
        score = 100 * (counts["killed"] + counts["timeout"]) / checked if checked else 0.0
        module = meta.relative_to(root).as_posix().removesuffix(".meta")
        detail = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
        print(f"{module}: {score:.1f}% of {checked} checked ({detail})")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
