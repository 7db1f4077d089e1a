"""JSON that comes from outside: `json.loads` that also refuses strings no database stores.

JSON allows `"\\ud800"`, a lone UTF-16 surrogate, and Python's decoder accepts it
(also as raw CESU-8 bytes), but such a string cannot be encoded as UTF-8: storing,
logging or echoing it failed deep inside SQLite with a 500. JSON also allows `"\\u0000"`,
and PostgreSQL's text and jsonb cannot hold a NUL at all (SQLite can, so the same request
must be refused on both). Checking is only paid when the text contains such an escape
(or surrogate bytes) at all; a raw control character is already invalid JSON.
"""

from __future__ import annotations

import json
import re

_SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_SURROGATE_TEXT = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")
_NUL_ESCAPE = re.compile(rb"\\u0000")
_NUL_ESCAPE_TEXT = re.compile(r"\\u0000")


class UnstorableString(ValueError):
    """The JSON is well-formed but holds a string that cannot be stored: an unpaired
    UTF-16 surrogate (not valid Unicode) or a NUL character."""


# The name callers catch (scim/http.py, filters.py): to them both faults are the same.
UnpairedSurrogate = UnstorableString


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON number")


def loads(raw: bytes | str):
    """Parse `raw`; ValueError (or UnstorableString) when it is not usable JSON.

    Python also reads NaN and Infinity, which JSON (RFC 8259 §6) does not have.
    """
    value = json.loads(raw, parse_constant=_no_constants)
    is_bytes = isinstance(raw, bytes)
    if (_SURROGATE_BYTES if is_bytes else _SURROGATE_TEXT).search(raw):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise UnstorableString("a string holds an unpaired UTF-16 surrogate "
                                   "(such as \\ud800), which is not valid Unicode") from None
    # `\\u0000` is a backslash and "u0000", not a NUL: only the parsed value can tell.
    if (_NUL_ESCAPE if is_bytes else _NUL_ESCAPE_TEXT).search(raw) and _holds_nul(value):
        raise UnstorableString("a string holds a NUL character (\\u0000), which the "
                               "appliance cannot store")
    return value


def _holds_nul(value) -> bool:
    """Whether any string in `value` (object keys included) holds U+0000. Iterative, so
    a deeply nested document cannot exhaust the stack."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
