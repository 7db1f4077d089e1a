"""Dry run of the name rules over a file of names, before provisioning is switched on.

An administrator exports the UPNs or group names (CSV from the Entra admin centre, or
JSON) and sees what each would become under a preset and mode, and which would
collide with one another, without touching the database. `scim-appliance names
check` and `scripts/names_dry_run.py` both print `format_text(check_names(...))`.

The stable key behind fallbacks and suffixes is the row's `externalId` (or
`objectId`/`id`) column when the file has one, else the name itself; provisioning
uses externalId, else the appliance id, so fallback hashes can differ from the dry
run when the file carries no ids.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..display import safe_json, safe_text
from .policy import FieldPolicy
from .rules import USER_NAME, field_label, normalize, resolve, sanitize, violation

NAME_COLUMNS = {
    USER_NAME: ("username", "userprincipalname", "name"),
    "group": ("displayname", "groupname", "name"),
}
KEY_COLUMNS = ("externalid", "objectid", "id")


@dataclass(frozen=True)
class Entry:
    line: int
    name: str
    key: str | None = None


@dataclass(frozen=True)
class CheckResult:
    """What one name becomes. status: unchanged | adjusted | collision (suffixed) |
    rejected (400 in reject mode) | conflict (409 in reject mode) | duplicate (the
    same SCIM name, case-insensitively, as an earlier line: the appliance answers 409)."""

    line: int
    original: str
    derived: str | None
    status: str
    detail: str = ""

    @property
    def refused(self) -> bool:
        return self.status in ("rejected", "conflict", "duplicate")


def _pick(header: list[str], wanted: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower().replace(" ", "") for h in header]
    for name in wanted:
        if name in lowered:
            return lowered.index(name)
    return None


def _from_rows(rows: list[list[str]], field: str) -> list[Entry]:
    if not rows:
        return []
    name_col = _pick(rows[0], NAME_COLUMNS[field])
    key_col = _pick(rows[0], KEY_COLUMNS)
    if name_col is None and key_col is None:
        body, first, name_col = rows, 1, 0  # no header: every row is a name
    else:
        body, first = rows[1:], 2
        name_col = 0 if name_col is None else name_col
    out = []
    for line, row in enumerate(body, start=first):
        if not row or name_col >= len(row):
            continue
        key = row[key_col].strip() if key_col is not None and key_col < len(row) else ""
        out.append(Entry(line, row[name_col], key or None))
    return out


def _from_json(data, field: str) -> list[Entry]:
    if isinstance(data, dict) and isinstance(data.get("Resources"), list):
        data = data["Resources"]  # a SCIM ListResponse
    if not isinstance(data, list):
        raise ValueError("the JSON must be a list of names or of objects with "
                         f"'{field_label(field)}'")
    out = []
    for i, item in enumerate(data, start=1):
        if isinstance(item, str):
            out.append(Entry(i, item))
        elif isinstance(item, dict):
            lowered = {str(k).lower(): v for k, v in item.items()}
            name = next((lowered[c] for c in NAME_COLUMNS[field] if isinstance(
                lowered.get(c), str)), None)
            if name is None:
                raise ValueError(f"item {i} has no '{field_label(field)}'")
            key = next((lowered[c] for c in KEY_COLUMNS if isinstance(lowered.get(c), str)),
                       None)
            out.append(Entry(i, name, key))
        else:
            raise ValueError(f"item {i} is neither a name nor an object")
    return out


def read_entries(path: str | Path, field: str) -> list[Entry]:
    """Names from a .json file (list or SCIM ListResponse) or a CSV file.

    CSV: the column headed userName / userPrincipalName (displayName for groups) or
    name, else the first column; with no recognised header every row is a name.
    `line` is the CSV line or the JSON list position, counted from 1.
    """
    text = Path(path).read_text(encoding="utf-8-sig")
    return entries_from_text(text, field, json_file=str(path).lower().endswith(".json"))


def entries_from_text(text: str, field: str, json_file: bool = False) -> list[Entry]:
    """`read_entries` on the file's text (the console's upload). Raises ValueError
    (json.JSONDecodeError is one) for text that is neither."""
    if json_file or text.lstrip()[:1] in ("[", "{"):
        return _from_json(json.loads(text), field)
    return _from_rows(list(csv.reader(io.StringIO(text))), field)


def check_names(entries: list[Entry], policy: FieldPolicy) -> list[CheckResult]:
    """What each name becomes, in file order (the first holder keeps a name)."""
    rule = policy.rule
    seen: dict[str, int] = {}  # SCIM-level names (case-insensitive) -> line
    holders: dict[str, int] = {}  # derived keys -> line
    out = []
    for entry in entries:
        original = entry.name
        scim_key = original.lower()
        if scim_key in seen:
            out.append(CheckResult(entry.line, original, None, "duplicate",
                                   f"same {field_label(rule.field)} as line {seen[scim_key]}"))
            continue
        seen[scim_key] = entry.line
        key = entry.key or original
        if policy.rejects:
            problem = violation(original, rule)
            if problem:
                out.append(CheckResult(entry.line, original, None, "rejected", problem))
                continue
            derived = normalize(original, rule)
            holder = holders.get(rule.key(derived))
            if holder is not None:
                out.append(CheckResult(entry.line, original, derived, "conflict",
                                       f"same name downstream as line {holder}"))
                continue
            status, detail = ("unchanged" if derived == original else "adjusted"), ""
        else:
            base = sanitize(original, rule, key)
            derived = resolve(base, key, rule, lambda k: k in holders)
            if derived != base:
                holder = holders.get(rule.key(base))
                status = "collision"
                detail = (f"'{base}' is held by line {holder}" if holder is not None
                          else f"'{base}' is reserved")
            else:
                status = "unchanged" if derived == original else "adjusted"
                detail = ""
        holders[rule.key(derived)] = entry.line
        out.append(CheckResult(entry.line, original, derived, status, detail))
    return out


def summary(results: list[CheckResult]) -> dict[str, int]:
    counts = {s: 0 for s in ("unchanged", "adjusted", "collision", "rejected", "conflict",
                             "duplicate")}
    for r in results:
        counts[r.status] += 1
    return counts


def format_text(results: list[CheckResult], policy: FieldPolicy) -> str:
    """The report for a terminal: names quoted as JSON strings, controls neutralised."""
    rule = policy.rule
    lines = [f"# preset {rule.preset}, mode {policy.mode}, field "
             f"{field_label(rule.field)} ({rule.pattern})"]
    for r in results:
        arrow = f" -> {safe_json(r.derived)}" if r.derived else ""
        note = f"  ({safe_text(r.detail)})" if r.detail else ""
        lines.append(f"{r.line:>5}  {r.status:<9}  {safe_json(r.original)}{arrow}{note}")
    counts = summary(results)
    lines.append(f"# {len(results)} names: " + ", ".join(
        f"{n} {s}" for s, n in counts.items() if n))
    if rule.entra_expression() and any(r.status == "rejected" for r in results):
        lines.append(f"# Entra expression that fixes them at the source: "
                     f"{rule.entra_expression()}")
    return "\n".join(lines)


def format_json(results: list[CheckResult], policy: FieldPolicy) -> str:
    return safe_json({"preset": policy.rule.preset, "mode": policy.mode,
                      "field": field_label(policy.rule.field), "summary": summary(results),
                      "results": [asdict(r) for r in results]}, indent=2)
