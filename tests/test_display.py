"""Text safe to show a person (domain/display.py): controls neutralised, CSV inert."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scim_appliance.domain.display import csv_cell, csv_value, safe_json, safe_text
from tests.hostile_text import HOSTILE, assert_shown_safely

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Zl", "Zp", "Cs") or char in BIDI


def test_hostile_text_is_shown_as_visible_escapes():
    shown = safe_text(HOSTILE)
    assert_shown_safely(shown)
    assert shown.startswith("mallory\\u000d\\u000aFAKE-LINE")
    assert "\\u001b[2J" in shown and "\\u009b1m" in shown and "\\u202eevil" in shown


@pytest.mark.parametrize("value", ["Seán Ó'Brien", "张伟", "CONTOSO\\jdoe", "a b", "🙂",
                                   "Finance & Ops (EMEA)", "دانش\u200cآموز"])
def test_ordinary_names_are_shown_unchanged(value):
    assert safe_text(value) == value


@given(st.text())
def test_no_control_survives_and_nothing_else_changes(text):
    shown = safe_text(text)
    assert not any(_unsafe(c) for c in shown)
    if not any(_unsafe(c) for c in text):
        assert shown == text


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_safe_json_is_json_of_exactly_the_value_and_shows_no_control(data):
    out = safe_json(data)
    assert json.loads(out) == data
    assert not any(_unsafe(c) for c in out)
    indented = safe_json(data, indent=1)
    assert json.loads(indented) == data
    assert not any(_unsafe(c) for c in indented.replace("\n", ""))


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://evil\",\"x\")", "+1+cmd|' /C calc'!A0",
                                   "-2+3", "@SUM(A1)", "\t=1", "\r=1", "  =1", "\n=1"])
def test_a_csv_cell_never_starts_a_formula(value):
    cell = csv_cell(value)
    assert cell.startswith("'")
    assert csv_value(cell) == value


@given(st.text())
def test_csv_cells_round_trip_exactly(text):
    cell = csv_cell(text)
    assert csv_value(cell) == text
    assert cell.lstrip(" \n")[:1] not in set("=+-@\t\r") or cell.startswith("'")
