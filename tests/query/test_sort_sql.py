"""SQL translation of sortBy (RFC 7644 §3.4.2.3): case, missing values, multi-valued
attributes, indexed columns and memberships. Data set: filter_data.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import scim_appliance.storage.database  # noqa: F401  (registers the SQLite connect hook)
from scim_appliance.domain.protocol.errors import InvalidValue
from scim_appliance.domain.protocol.filters import resolve_attr_path
from scim_appliance.domain.protocol.schema import GROUP_TYPE, USER_TYPE
from scim_appliance.domain.query.filter_sql import order_by_clauses, sort_expression
from scim_appliance.domain.query.mappings import GROUP_MAPPING, USER_MAPPING
from scim_appliance.storage.models import User

from .filter_data import USER_JSON, build_engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = build_engine(tmp_path_factory.mktemp("filter_sql"))
    yield engine
    engine.dispose()


# -- sorting ------------------------------------------------------------------------
def _sorted_ids(engine, path: str, descending=False, mapping=USER_MAPPING, rtype=USER_TYPE):
    ref = resolve_attr_path(rtype, path)
    model = mapping.model
    stmt = select(model.id).order_by(*order_by_clauses(ref, mapping, descending))
    with engine.connect() as conn:
        return list(conn.scalars(stmt))


def test_sort_by_username_ignores_case(engine):
    ids = _sorted_ids(engine, "userName")
    names = [USER_JSON[i]["userName"].lower() for i in ids]
    assert names == sorted(names)


def _given_name(uid: str):
    name = USER_JSON[uid].get("name")
    given = name.get("givenName") if isinstance(name, dict) else None
    return given.lower() if given else None


def test_sort_missing_values_last_then_first(engine):
    """RFC 7644 §3.4.2.3: resources without a value sort last ascending, first descending."""
    values = [_given_name(i) for i in _sorted_ids(engine, "name.givenName")]
    present = sorted(v for v in values if v is not None)
    missing = len(values) - len(present)
    assert missing > 0 and values == present + [None] * missing
    desc = [_given_name(i) for i in _sorted_ids(engine, "name.givenName", descending=True)]
    assert desc == [None] * missing + present[::-1]


def test_sort_multi_valued_by_primary_else_first(engine):
    ref = resolve_attr_path(USER_TYPE, "emails")
    stmt = select(User.id, sort_expression(ref, USER_MAPPING))
    with engine.connect() as conn:
        keys = dict(conn.execute(stmt).all())
    assert keys["u01"] == "alice@contoso.com"
    assert keys["u11"] == "ivan2@contoso.com"  # the primary one, though second
    assert keys["g01"] == "u1@contoso.com"  # no primary: the first
    assert keys["u05"] is None and keys["u06"] is None and keys["u08"] is None
    type_ref = resolve_attr_path(USER_TYPE, "emails.type")
    with engine.connect() as conn:
        types = dict(conn.execute(select(User.id, sort_expression(type_ref, USER_MAPPING)))
                     .all())
    assert types["u11"] == "work" and types["g05"] == "other"


def test_sort_by_indexed_columns_and_memberships(engine):
    ids = _sorted_ids(engine, "meta.lastModified", descending=True)
    stamps = [USER_JSON[i]["meta"]["lastModified"] for i in ids]
    assert stamps == sorted(stamps, reverse=True)
    ext = _sorted_ids(engine, "externalId")
    values = [USER_JSON[i].get("externalId") for i in ext]
    present = [v for v in values if v is not None]
    assert present == sorted(present)  # caseExact: no lower()
    groups = _sorted_ids(engine, "groups.value")
    # min(lower(group id)) per user, then id: "g-admins" x3, then "g-sales".
    assert groups[:4] == ["U03", "u01", "u02", "u04"]
    assert _sorted_ids(engine, "displayName", mapping=GROUP_MAPPING, rtype=GROUP_TYPE) == \
        ["G-Admins", "g-empty", "g-sales"]


@pytest.mark.parametrize("path", ["name", "meta.location", "password", "addresses",
                                  "groups.display"])
def test_unsortable(path):
    with pytest.raises(InvalidValue):
        sort_expression(resolve_attr_path(USER_TYPE, path), USER_MAPPING)
