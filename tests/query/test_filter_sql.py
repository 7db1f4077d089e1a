"""SQL translation of SCIM filters (RFC 7644 §3.4.2.2), on a real SQLite file with
the appliance's connect hook (Unicode lower(), case-sensitive LIKE): hand-written
cases per operator and attribute kind, memberships, precedence, what is refused,
index use, and the PostgreSQL forms. Data set and reference: filter_data.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

import scim_appliance.storage.database  # noqa: F401  (registers the SQLite connect hook)
from scim_appliance.domain.protocol.errors import InvalidFilter
from scim_appliance.domain.protocol.filters import (
    AttrRef,
    Compare,
    Not,
    parse_filter,
    resolve_attr_path,
)
from scim_appliance.domain.protocol.schema import (
    GROUP_SCHEMA,
    GROUP_TYPE,
    USER_SCHEMA,
    USER_TYPE,
    Attribute,
)
from scim_appliance.domain.query.filter_sql import order_by_clauses, to_sql_clause
from scim_appliance.domain.query.mappings import GROUP_MAPPING, USER_MAPPING
from scim_appliance.storage.models import Group, User

from .filter_data import (
    ALL_USERS,
    BASE_TIME,
    CORE,
    ENT,
    GROUP_JSON,
    GROUPS,
    USER_JSON,
    USERS,
    build_engine,
    expected_groups,
    expected_users,
    group_ids,
    iso,
    reference,
    times,
    user_ids,
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = build_engine(tmp_path_factory.mktemp("filter_sql"))
    yield engine
    engine.dispose()


# -- operators on indexed columns --------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ('userName eq "alice@contoso.com"', {"u01"}),
    ('userName eq "ALICE@CONTOSO.COM"', {"u01"}),
    ('userName eq "åsa@X.SE"', {"U03"}),
    ('userName eq "istanbul"', set()),
    ('userName eq "i̇stanbul"', {"u18"}),
    (f'{CORE}:userName eq "Bob_Smith"', {"u02"}),
    ('userName sw "ALICE"', {"u01"}),
    ('userName ew "@X.se"', {"U03"}),
    ('userName co "%"', {"u04"}),
    ('userName co "_"', {"u02", "u16"}),
    ('userName sw "a_"', {"u16"}),
    ('userName gt "user20"', {"U03", "g20", "g21", "g22"}),  # "å" > "u"
    ('id eq "U03"', {"U03"}),
    ('id eq "u03"', set()),
    ('id sw "U"', {"U03"}),
    ('externalId eq "ext-Alice"', {"u01"}),
    ('externalId eq "ext-alice"', {"u12"}),
    ('externalId eq "EXT-ALICE"', set()),
    ('externalId co "_"', {"u04"}),
    ('externalId pr', {uid for uid, doc in USERS if doc.get("externalId")}),
    ('active eq false', {"u02", "u09", "g04", "g08", "g12", "g16", "g20"}),
    ('not (active eq true)', {"u02", "u09", "g04", "g08", "g12", "g16", "g20"}),
    ('active ne true', {"u02", "u09", "g04", "g08", "g12", "g16", "g20"}),
])
def test_column_filters(engine, text, expected):
    assert user_ids(engine, text) == expected
    assert expected_users(text) == expected


def test_not_equal_on_username_returns_everyone_else(engine):
    assert user_ids(engine, 'not (userName eq "carol")') == ALL_USERS - {"u05"}
    assert user_ids(engine, 'userName ne "CAROL"') == ALL_USERS - {"u05"}


def test_meta_datetimes_compare_as_instants(engine):
    created, modified = times(2)  # u03
    assert user_ids(engine, f'meta.created eq "{iso(created)}"') == {"U03"}
    local = (created + timedelta(hours=2)).isoformat() + "+02:00"
    assert user_ids(engine, f'meta.created eq "{local}"') == {"U03"}
    later = f'meta.lastModified gt "{iso(modified)}"'
    assert user_ids(engine, later) == expected_users(later)
    assert "U03" not in user_ids(engine, later) and "u04" in user_ids(engine, later)
    micro = times(5)[0]  # created with microseconds
    assert user_ids(engine, f'meta.created eq "{iso(micro)}"') == {"u06"}
    assert user_ids(engine, f'meta[created le "{iso(micro)}" and resourceType eq "User"]') \
        == {"u01", "u02", "U03", "u04", "u05", "u06"}


def test_meta_resource_type_is_a_constant(engine):
    assert user_ids(engine, 'meta.resourceType eq "User"') == ALL_USERS
    assert user_ids(engine, 'meta.resourceType eq "user"') == set()  # caseExact
    assert user_ids(engine, 'meta.resourceType eq "Group"') == set()
    assert group_ids(engine, 'meta.resourceType eq "Group"') == {g for g, *_ in GROUPS}
    assert user_ids(engine, "meta pr") == ALL_USERS


# -- operators on the JSON document ------------------------------------------------
@pytest.mark.parametrize("text", [
    'title eq "engineer"',
    'title ne "Engineer"',
    'not (title eq "Engineer")',
    'title co "%"',
    'title co "_"',
    'title sw "under"',
    'title pr',
    'title eq null',
    'title ne null',
    'title gt "M"',
    'title le "Engineer"',
    'displayName co "ÅSA"',
    'displayName eq "kelvin k"',
    'name.givenName eq "ALICE"',
    'name.familyName sw "FAM"',
    'name pr',
    'name eq null',
    'name[givenName eq "alice" or givenName eq "Mal"]',
    'name[not (givenName eq "alice")]',
    'profileUrl ew "/olivia"',
    'nickName pr and not (name.givenName pr)',
])
def test_singular_json_attributes(engine, text):
    assert user_ids(engine, text) == expected_users(text)


def test_absent_attributes_never_compare_but_not_includes_them(engine):
    has_engineer_title = user_ids(engine, 'title eq "Engineer"')
    without_title = user_ids(engine, "not (title pr)")
    assert "u05" in without_title and "u07" in without_title and "u06" in without_title
    assert user_ids(engine, 'not (title eq "Engineer")') == ALL_USERS - has_engineer_title
    assert "u05" not in user_ids(engine, 'title ne "Engineer"')
    assert "u09" not in user_ids(engine, 'title ne "Engineer"')  # title is a number


@pytest.mark.parametrize("text", [
    f'{ENT}:department eq "sales"',
    f'{ENT}:department eq "Sales" and active eq true',
    f'{ENT}:department ne "Sales"',
    f'{ENT}:department pr',
    f'{ENT}:manager.value eq "u03"',
    f'{ENT}:manager pr',
    f'{ENT}:manager.value eq null',
    f'{ENT}:manager[value pr or displayName eq "nobody"]',
    f'{ENT}:employeeNumber ge "2010"',
])
def test_extension_attributes(engine, text):
    assert user_ids(engine, text) == expected_users(text)


def test_extension_examples(engine):
    assert user_ids(engine, f'{ENT}:department eq "SALES"') == {"u01", "u02", "g05", "g10",
                                                                "g15", "g20"}
    assert user_ids(engine, f'{ENT}:department eq "försäljning"') == {"U03"}
    assert user_ids(engine, f'{ENT}:manager.value eq "u02"') == {"u01"}


@pytest.mark.parametrize("text", [
    'emails.value co "@contoso.com"',
    'emails.value eq "ivan@contoso.com"',
    'emails.type eq "work"',
    'emails.type ne "work"',
    'emails.primary eq true',
    'emails.primary eq false',
    'emails.primary ne true',
    'emails.value co "%"',
    'emails.display pr',
    'emails pr',
    'not (emails pr)',
    'emails[type eq "work" and value co "@contoso.com"]',
    'emails[type eq "work" and primary eq true]',
    'emails[type eq "home" or primary eq true]',
    'emails[not (type eq "work")]',
    'emails[type eq "work"].value co "contoso"',
    'emails[value pr]',
    'emails[value eq null]',
    'phoneNumbers[type eq "mobile" and primary eq true]',
    'addresses[locality eq "oslo"]',
    'addresses.primary eq true',
    'ims.value sw "O"',
    'not (emails[type eq "work"]) and userName sw "u"',
    '(emails.type eq "home" or title pr) and not (active eq false)',
])
def test_multi_valued_attributes(engine, text):
    assert user_ids(engine, text) == expected_users(text)


def test_multi_valued_examples(engine):
    work_contoso = user_ids(engine, 'emails[type eq "work" and value co "@contoso.com"]')
    assert {"u01", "u02", "u09", "u11"} <= work_contoso and "U03" not in work_contoso
    # ivan: the "Work"-typed element is not primary; the primary one is "work".
    assert "u11" in user_ids(engine, 'emails[type eq "WORK" and primary eq true]')
    assert "u11" not in user_ids(engine, 'emails[value sw "IVAN@" and primary eq true]')
    assert "u11" in user_ids(engine, 'emails.value sw "IVAN@" and emails.primary eq true')
    # "True" as a string counts as true, as in `matches`.
    assert "u09" in user_ids(engine, "emails.primary eq true")
    # emails sent as an object: bracket filters see it, dotted comparisons do not.
    assert "u08" in user_ids(engine, 'emails[type eq "work"]')
    assert "u08" not in user_ids(engine, 'emails.type eq "work"')
    # string elements have no sub-attributes.
    assert "u10" not in user_ids(engine, 'emails.value pr')


def _agrees(engine, expr, resources=None, mapping=USER_MAPPING) -> set[str]:
    """Run a hand-built tree through SQL and `reference`; return the ids if they agree."""
    resources = resources or USER_JSON
    with engine.connect() as conn:
        found = set(conn.scalars(select(mapping.model.id).where(to_sql_clause(expr, mapping))))
    assert found == {rid for rid, res in resources.items() if reference(expr, res)}, expr
    return found


def test_complex_multi_valued_without_sub_attribute_compares_value(engine):
    """RFC 7644 §3.4.2.2; the parser refuses `emails co "x"`, so build the tree."""
    emails = USER_SCHEMA.attribute("emails")
    assert _agrees(engine, Compare("co", AttrRef(emails), "@CONTOSO.com")) >= {"u01", "u11"}
    assert _agrees(engine, Not(Compare("ew", AttrRef(emails), ".se"))) == ALL_USERS - {"U03"}
    groups = USER_SCHEMA.attribute("groups")
    assert _agrees(engine, Compare("eq", AttrRef(groups), "g-sales")) == {"u01", "u04"}
    members = GROUP_SCHEMA.attribute("members")
    assert _agrees(engine, Compare("eq", AttrRef(members), "G-Admins"), GROUP_JSON,
                   GROUP_MAPPING) == {"g-sales"}


@pytest.mark.parametrize("op, value", [
    ("eq", 5), ("eq", 7.5), ("ne", 5), ("gt", 5), ("ge", 7.5), ("lt", 10), ("le", 5),
])
def test_numbers_compare_numerically(engine, op, value):
    """No stored User attribute is a number; pretend `title` is one (u09: 5, u19: 7.5)."""
    title = Attribute("title", type="integer", schema=CORE)
    _agrees(engine, Compare(op, AttrRef(title), value))
    _agrees(engine, Not(Compare(op, AttrRef(title), value)))


@pytest.mark.parametrize("op", ["eq", "ne", "gt", "ge", "lt", "le"])
def test_datetimes_in_json_compare_as_instants(engine, op):
    """Pretend `nickName` is a dateTime: u19 and u20 hold the same instant."""
    nick = Attribute("nickName", type="dateTime", schema=CORE)
    found = _agrees(engine, Compare(op, AttrRef(nick), datetime(2024, 3, 2, 9, 0)))
    assert (found == {"u19", "u20"}) == (op in ("eq", "ge", "le"))


def test_escaping_like_wildcards(engine):
    assert user_ids(engine, 'emails.value co "%"') == {"u04"}
    assert user_ids(engine, 'title co "%"') == {"u04"}
    assert user_ids(engine, 'title co "_"') == {"u16"}
    assert user_ids(engine, 'title sw "under_"') == {"u16"}
    assert user_ids(engine, 'profileUrl co "x/o"') == {"u15"}


def test_presence_of_multi_valued_attributes_looks_at_values(engine):
    # erin: emails [{"type": "home"}] has no address; `matches` calls that present.
    assert "u07" not in user_ids(engine, "emails pr")
    assert "u07" in user_ids(engine, "emails.value eq null")
    assert "u07" in user_ids(engine, "addresses pr")  # an element, though no `value`
    assert "u11" not in user_ids(engine, "addresses pr")  # [{}]
    assert "u06" in user_ids(engine, "emails eq null")  # []


# -- memberships ------------------------------------------------------------------
def test_groups_of_users(engine):
    assert user_ids(engine, 'groups.value eq "G-Admins"') == {"u01", "u02", "U03"}
    # Deviation from RFC 7643 §8.7.1 (caseExact=false): references are ids, which
    # are caseExact (§3.1), and exact comparison keeps membership look-ups indexed.
    assert user_ids(engine, 'groups.value eq "g-admins"') == set()
    assert user_ids(engine, 'groups[value eq "g-sales"]') == {"u01", "u04"}
    assert user_ids(engine, "groups pr") == {"u01", "u02", "U03", "u04"}
    assert user_ids(engine, "not (groups pr)") == ALL_USERS - {"u01", "u02", "U03", "u04"}
    both = 'groups.value eq "G-Admins" and groups.value eq "g-sales"'
    assert user_ids(engine, both) == {"u01"}
    for text in ('groups.value eq "G-Admins"', "groups eq null",
                 'groups.value co "sales"', 'groups[value sw "g" and not (value eq "g-sales")]',
                 both):
        assert user_ids(engine, text) == expected_users(text), text


@pytest.mark.parametrize("text, expected", [
    ('members.value eq "u01"', {"G-Admins", "g-sales"}),
    ('members.value eq "U01"', set()),  # ids compare exactly (see test_groups_of_users)
    ('members[value eq "u04"]', {"g-sales"}),
    ('members[type eq "group"]', {"g-sales"}),
    ('members[value eq "U03" and type eq "User"]', {"G-Admins"}),
    ("members pr", {"G-Admins", "g-sales"}),
    ("members eq null", {"g-empty"}),
    ('displayName eq "admins"', {"G-Admins"}),
    ('displayName co "_"', {"g-empty"}),
    ('displayName sw "sales"', {"g-sales"}),
    ('externalId eq "EXT-G3"', {"g-empty"}),
    ('externalId eq "ext-G3"', set()),
    ('id eq "g-sales" and members[value eq "u04"]', {"g-sales"}),
])
def test_group_filters(engine, text, expected):
    assert group_ids(engine, text) == expected
    assert expected_groups(text) == expected


# -- precedence --------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    # and binds tighter than or (RFC 7644 §3.4.2.2, Table 3).
    ('userName eq "carol" or userName eq "dave" and active eq false', {"u05"}),
    ('(userName eq "carol" or userName eq "dave") and active eq false', set()),
    ('userName eq "grace" or userName eq "dave" and active eq true', {"u09", "u06"}),
    ('not (userName eq "carol" or userName eq "dave") and userName sw "c"', set()),
    ('not (userName sw "u") and not (userName sw "a") and title pr',
     {"u02", "u04", "u09", "u19", "u20"}),
])
def test_logical_precedence(engine, text, expected):
    assert user_ids(engine, text) == expected
    assert expected_users(text) == expected


# -- what is refused ---------------------------------------------------------------
@pytest.mark.parametrize("text, rtype, mapping", [
    ('meta.location eq "x"', USER_TYPE, USER_MAPPING),
    ('meta.version eq "W/\\"1\\""', USER_TYPE, USER_MAPPING),
    ('meta.created co "2024"', USER_TYPE, USER_MAPPING),
    ('password sw "a"', USER_TYPE, USER_MAPPING),
    ('groups.display eq "Admins"', USER_TYPE, USER_MAPPING),
    ('groups[type eq "direct"]', USER_TYPE, USER_MAPPING),
    ('members.display eq "Alice"', GROUP_TYPE, GROUP_MAPPING),
    ('members[$ref pr]', GROUP_TYPE, GROUP_MAPPING),
])
def test_unfilterable_attributes(text, rtype, mapping):
    """The filter parses; it is the SQL layer that refuses it."""
    expr = parse_filter(text, rtype)
    with pytest.raises(InvalidFilter):
        to_sql_clause(expr, mapping)


def test_no_filter_selects_everything(engine):
    with engine.connect() as conn:
        assert set(conn.scalars(select(User.id).where(to_sql_clause(None, USER_MAPPING)))) \
            == ALL_USERS


def test_unknown_dialect():
    with pytest.raises(ValueError):
        to_sql_clause(parse_filter('title pr', USER_TYPE), USER_MAPPING, dialect="oracle")


# -- indexes ----------------------------------------------------------------------
def _plan(engine, text: str) -> str:
    stmt = select(User.id).where(to_sql_clause(parse_filter(text, USER_TYPE), USER_MAPPING))
    compiled = stmt.compile(engine)
    params = tuple(compiled.params[name] for name in compiled.positiontup)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + compiled.string, params).all()
    return " | ".join(row[-1] for row in rows)


@pytest.mark.parametrize("text", [
    'userName eq "Alice@Contoso.com"',
    'externalId eq "ext-Alice"',
    'id eq "u01"',
    'userName sw "alice"',  # LIKE with a bound pattern can use the index too
    f'meta.lastModified gt "{iso(BASE_TIME + timedelta(days=40))}"',
])
def test_indexed_lookups(engine, text):
    plan = _plan(engine, text)
    assert "SEARCH users" in plan and ("USING INDEX" in plan or "USING COVERING INDEX" in plan
                                      or "PRIMARY KEY" in plan), plan
    assert "SCAN users" not in plan, plan


# -- PostgreSQL ---------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    'userName eq "x" and not (title pr)',
    'emails[type eq "work" and primary eq true] or emails.value co "%"',
    f'{ENT}:manager.value eq null',
    f'meta.created gt "{iso(BASE_TIME)}"',
    'groups.value eq "g" or name[givenName sw "a"]',
    'addresses pr and phoneNumbers.primary ne false',
])
def test_postgresql_compiles(text):
    clause = to_sql_clause(parse_filter(text, USER_TYPE), USER_MAPPING, dialect="postgresql")
    sql = str(select(User.id).where(clause).compile(dialect=postgresql.dialect()))
    assert "json_each" not in sql and "json_extract" not in sql


def test_postgresql_sort_and_groups_compile():
    for path in ("emails", "name.familyName", "active", "emails.primary", "userName"):
        ref = resolve_attr_path(USER_TYPE, path)
        keys = order_by_clauses(ref, USER_MAPPING, dialect="postgresql")
        sql = str(select(User.id).order_by(*keys).compile(dialect=postgresql.dialect()))
        assert ("jsonb" in sql) == (path not in ("active", "userName")), sql
    clause = to_sql_clause(parse_filter('members[value eq "u"] and displayName co "x"',
                                        GROUP_TYPE), GROUP_MAPPING, dialect="postgresql")
    assert "memberships" in str(select(Group.id).where(clause).compile(
        dialect=postgresql.dialect()))


def test_domain_module_does_not_import_flask():
    import ast

    import scim_appliance.domain.query.filter_sql as module

    with open(module.__file__, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.split(".")[0] == "flask" for name in imported)
