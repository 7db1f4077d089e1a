"""The property: for generated filters the database selects exactly the users (and
groups) the reference `filters.matches` selects. Data set: filter_data.py."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scim_appliance.storage.database  # noqa: F401  (registers the SQLite connect hook)

from .filter_data import (
    CORE,
    ENT,
    USERS,
    build_engine,
    expected_groups,
    expected_users,
    group_ids,
    iso,
    times,
    user_ids,
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = build_engine(tmp_path_factory.mktemp("filter_sql"))
    yield engine
    engine.dispose()


# -- the property: SQL selects exactly what `matches` selects ---------------------------
def _string_pool() -> list[str]:
    pool = {"", "%", "_", "a_b", "@", "work", "WORK", "home", "Work", "sales", "SALES",
            "contoso", "@contoso.com", "å", "Å", "ö", "i̇", "k", "x", "1", "u0", "U03", "g-",
            "G-Admins", "g-sales", "engineer", "Engineer", "fam", "Given"}

    def walk(value):
        if isinstance(value, str):
            pool.update({value, value.lower(), value.upper(), value[:3], value[-3:],
                         value[1:4]})
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for _, doc in USERS:
        walk(doc)
    return sorted(pool)


STRINGS = _string_pool()
DATETIMES = sorted({iso(t + delta) for i in range(len(USERS)) for t in times(i)
                    for delta in (timedelta(0), timedelta(seconds=-1), timedelta(days=1))}
                   | {"2024-03-05T14:28:00+02:00", "2024-03-01T12:00:00Z"})
STRING_PATHS = [
    "userName", "displayName", "title", "nickName", "name.givenName", "name.familyName",
    "emails.value", "emails.type", "emails.display", "phoneNumbers.value",
    "addresses.locality", "addresses.type", "externalId", "id", "profileUrl",
    "ims.value", f"{ENT}:department", f"{ENT}:employeeNumber", f"{ENT}:manager.value",
    f"{ENT}:manager.displayName", "groups.value", f"{CORE}:userName", "meta.resourceType",
]
BOOL_PATHS = ["active", "emails.primary", "addresses.primary", "phoneNumbers.primary"]
DATE_PATHS = ["meta.created", "meta.lastModified"]
PRESENCE_PATHS = STRING_PATHS + BOOL_PATHS + DATE_PATHS + [
    "name", "emails", "addresses", "groups", "phoneNumbers", f"{ENT}:manager", "meta"]
VALUE_PATHS = {
    "emails": (["value", "type", "display"], ["primary"], []),
    "addresses": (["locality", "type"], ["primary"], []),
    "name": (["givenName", "familyName"], [], []),
    "groups": (["value"], [], []),
    f"{ENT}:manager": (["value", "displayName"], [], []),
    "meta": (["resourceType"], [], ["created", "lastModified"]),
}
STRING_OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]


def _quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _comparisons(string_paths, bool_paths, date_paths):
    strings = st.sampled_from(STRINGS) | st.text(alphabet="aAbBeE%_@.Åå5 ", max_size=3)
    parts = []
    if string_paths:
        parts.append(st.builds(lambda p, o, v: f"{p} {o} {_quoted(v)}",
                               st.sampled_from(string_paths), st.sampled_from(STRING_OPS),
                               strings))
        parts.append(st.builds(lambda p, o: f"{p} {o}", st.sampled_from(string_paths),
                               st.sampled_from(["pr", "eq null", "ne null"])))
    if bool_paths:
        parts.append(st.builds(lambda p, o, v: f"{p} {o} {v}", st.sampled_from(bool_paths),
                               st.sampled_from(["eq", "ne"]),
                               st.sampled_from(["true", "false"])))
    if date_paths:
        parts.append(st.builds(lambda p, o, v: f'{p} {o} "{v}"', st.sampled_from(date_paths),
                               st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"]),
                               st.sampled_from(DATETIMES)))
    return st.one_of(parts)


def _combined(atoms, max_leaves):
    def extend(children):
        return st.one_of(
            st.builds(lambda a, b: f"{a} and {b}", children, children),
            st.builds(lambda a, b: f"{a} or {b}", children, children),
            st.builds(lambda a: f"not ({a})", children),
            st.builds(lambda a: f"({a})", children),
        )
    return st.recursive(atoms, extend, max_leaves=max_leaves)


@st.composite
def _value_path(draw):
    attr = draw(st.sampled_from(sorted(VALUE_PATHS)))
    strings, bools, dates = VALUE_PATHS[attr]
    inner = draw(_combined(_comparisons(strings, bools, dates), max_leaves=3))
    return f"{attr}[{inner}]"


USER_FILTERS = _combined(
    st.one_of(
        _comparisons(STRING_PATHS, BOOL_PATHS, DATE_PATHS),
        st.builds(lambda p: f"{p} pr", st.sampled_from(PRESENCE_PATHS)),
        st.builds(lambda p, o: f"{p} {o} null", st.sampled_from(PRESENCE_PATHS),
                  st.sampled_from(["eq", "ne"])),
        _value_path(),
    ),
    max_leaves=4,
)


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=USER_FILTERS)
def test_sql_agrees_with_matches(engine, text):
    assert user_ids(engine, text) == expected_users(text), text


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_combined(st.one_of(
    _comparisons(["displayName", "externalId", "id", "members.value", "members.type"], [],
                 DATE_PATHS),
    st.builds(lambda o: f"members {o}", st.sampled_from(["pr", "eq null", "ne null"])),
    st.builds(lambda v, t: f'members[value eq {_quoted(v)} or type eq "{t}"]',
              st.sampled_from(["u01", "U01", "u04", "G-Admins", "x"]),
              st.sampled_from(["User", "group"])),
), max_leaves=3))
def test_group_sql_agrees_with_matches(engine, text):
    assert group_ids(engine, text) == expected_groups(text), text
