"""Text safe to show a person: outside values neutralised for terminals, email and files.

Anyone who reaches the Tenant URL, and Entra itself, chooses the names, ids, paths and
error details the appliance later prints. They are stored exactly as sent; whatever
prints them (the CLI, the failure email, the migration plan, the console) passes them
through here first, so a value cannot move the cursor, recolour or clear a terminal
(ESC, CSI), start a fake line in an email (CR, LF, NEL, U+2028/2029) or reorder what
is read around it (bidirectional overrides and isolates, "Trojan Source").

Each such character is shown as its escape, `\\u001b`: visible, so an administrator
sees that something odd was sent, and the same notation JSON uses, so `safe_json`
output stays valid JSON that decodes to the exact value. Neutralised: C0 (tab, CR
and LF included), DEL, C1, U+2028/U+2029, the bidi controls (U+061C, U+200E, U+200F,
U+202A-U+202E, U+2066-U+2069) and lone surrogates (which no UTF-8 stream can carry).
A backslash itself is left alone, so `CONTOSO\\jdoe` prints as it is stored.

`csv_cell` keeps spreadsheets from running a cell as a formula (`=`, `+`, `-`, `@`,
tab or CR first, OWASP's list) by a leading apostrophe, which spreadsheets hide; a
value that itself starts with an apostrophe gets one more, so `csv_value` recovers
every value exactly (the undo file is read back by `--revert`).

Pure functions; no imports from the rest of the appliance.
"""

from __future__ import annotations

import json
import re

_BEYOND_C0 = ("\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
              "\ud800-\udfff")
_UNSAFE = re.compile(f"[\x00-\x1f{_BEYOND_C0}]")
# json.dumps already escapes C0 inside strings; a raw one is its own indentation.
_UNSAFE_IN_JSON = re.compile(f"[{_BEYOND_C0}]")
# The first character a spreadsheet reads as the start of a formula.
_FORMULA_START = frozenset("=+-@\t\r")
# Leading blanks are skipped by some spreadsheets before they look for the `=`.
_BLANKS = " \n"


def _escape(match: re.Match) -> str:
    return f"\\u{ord(match.group()):04x}"


def safe_text(value: object) -> str:
    """`value` as text a terminal or a mail client shows literally (None is "")."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(_escape, text)


def safe_json(data: object, **dumps_options) -> str:
    """`json.dumps` that keeps non-ASCII letters readable but escapes what `safe_text`
    neutralises; the result decodes to exactly `data`."""
    # Outside its strings JSON text is ASCII, so every match is inside a string
    # literal, where `\\uXXXX` stands for the same character.
    return _UNSAFE_IN_JSON.sub(_escape, json.dumps(data, ensure_ascii=False, **dumps_options))


def csv_cell(value: object) -> str:
    """One CSV cell that no spreadsheet evaluates; `csv_value` undoes it exactly."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    first = text.lstrip(_BLANKS)[:1]
    if text.startswith("'") or first in _FORMULA_START:
        return "'" + text
    return text


def csv_value(cell: str) -> str:
    """The value `csv_cell` wrote."""
    return cell[1:] if cell.startswith("'") else cell
