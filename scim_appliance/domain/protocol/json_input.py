"""JSON that comes from outside: `json.loads` that also refuses unpaired surrogates.

JSON allows `"\\ud800"`, a lone UTF-16 surrogate, and Python's decoder accepts it
(also as raw CESU-8 bytes), but such a string cannot be encoded as UTF-8: storing,
logging or echoing it failed deep inside SQLite with a 500. Checking is only paid
when the text contains a surrogate escape or surrogate bytes at all.
"""

from __future__ import annotations

import json
import re

_SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_SURROGATE_TEXT = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


class UnpairedSurrogate(ValueError):
    """The JSON is well-formed but holds a string that is not valid Unicode."""


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON number")


def loads(raw: bytes | str):
    """Parse `raw`; ValueError (or UnpairedSurrogate) when it is not usable JSON.

    Python also reads NaN and Infinity, which JSON (RFC 8259 §6) does not have.
    """
    value = json.loads(raw, parse_constant=_no_constants)
    pattern = _SURROGATE_BYTES if isinstance(raw, bytes) else _SURROGATE_TEXT
    if pattern.search(raw):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise UnpairedSurrogate("a string holds an unpaired UTF-16 surrogate "
                                    "(such as \\ud800), which is not valid Unicode") from None
    return value
