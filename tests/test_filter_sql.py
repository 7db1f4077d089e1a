"""SQL translation of SCIM filters (RFC 7644 §3.4.2.2) and sortBy (§3.4.2.3).

Runs on a real SQLite file with the appliance's connect hook (Unicode lower(),
case-sensitive LIKE). Hand-written cases pin down the rules; a Hypothesis property
checks that, for generated filters, the database selects exactly the users the
reference `filters.matches` selects.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

import scim_appliance.database  # noqa: F401  (registers the SQLite connect hook)
from scim_appliance.domain.errors import InvalidFilter, InvalidValue
from scim_appliance.domain.filter_sql import order_by_clauses, sort_expression, to_sql_clause
from scim_appliance.domain.filters import (
    And,
    AttrRef,
    Compare,
    Not,
    Or,
    matches,
    parse_filter,
    resolve_attr_path,
)
from scim_appliance.domain.mappings import GROUP_MAPPING, USER_MAPPING
from scim_appliance.domain.schema import (
    ENTERPRISE_USER,
    GROUP_SCHEMA,
    GROUP_TYPE,
    USER_SCHEMA,
    USER_TYPE,
    Attribute,
)
from scim_appliance.models import Base, Group, Membership, User

ENT = ENTERPRISE_USER
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
BASE_TIME = datetime(2024, 3, 1, 12, 0, 0)

# -- the data set ----------------------------------------------------------------
# (id, document as sent) — varied on purpose: mixed case, non-ASCII, LIKE wildcards
# in values, absent / null / empty attributes, and a few malformed shapes that
# `matches` has an opinion on (emails as an object, string elements, name as list).
HAND_USERS = [
    ("u01", {
        "userName": "Alice@Contoso.com", "externalId": "ext-Alice", "active": True,
        "displayName": "Alice Smith", "title": "Engineer",
        "name": {"givenName": "Alice", "familyName": "Smith", "formatted": "Alice Smith"},
        "emails": [{"value": "Alice@Contoso.com", "type": "work", "primary": True},
                   {"value": "alice@home.example", "type": "home", "display": "Home"}],
        ENT: {"department": "Sales", "employeeNumber": "1001", "manager": {"value": "u02"}},
    }),
    ("u02", {
        "userName": "bob_smith", "externalId": "EXT-BOB", "active": False, "title": "Manager",
        "emails": [{"value": "bob@contoso.com", "type": "work"}],
        ENT: {"department": "sales", "manager": {"value": "U03", "displayName": "Åsa"}},
    }),
    ("U03", {
        "userName": "ÅSA@x.se", "externalId": "ext-åsa", "active": True,
        "name": {"givenName": "Åsa", "familyName": "Öberg"}, "displayName": "ÅSA Öberg",
        "emails": [{"value": "ÅSA@x.se", "type": "work", "primary": True}],
        ENT: {"department": "Försäljning", "employeeNumber": "1003"},
    }),
    ("u04", {
        "userName": "100%real", "externalId": "ext_4", "title": "50% off",
        "emails": [{"value": "per%cent@x.com", "type": "other"}],
    }),
    ("u05", {"userName": "carol"}),
    ("u06", {"userName": "dave", "name": {}, "emails": [], "title": "", "externalId": ""}),
    ("u07", {"userName": "erin", "emails": [{"type": "home"}], "title": None,
             "addresses": [{"type": "work"}]}),
    ("u08", {"userName": "frank", "emails": {"value": "frank@x.com", "type": "work"},
             "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile", "primary": True}]}),
    ("u09", {"userName": "grace", "active": "False", "title": 5,
             "emails": [{"value": "grace@contoso.com", "type": "work", "primary": "True"}]}),
    ("u10", {"userName": "heidi", "emails": ["heidi@x.com"],
             "addresses": [{"locality": "Oslo", "type": "work", "primary": True}]}),
    ("u11", {"userName": "ivan", "addresses": [{}],
             "emails": [{"value": "IVAN@Contoso.COM", "type": "Work", "primary": False},
                        {"value": "ivan2@contoso.com", "type": "work", "primary": True}]}),
    ("u12", {"userName": "judy", "externalId": "ext-alice", "name": {"givenName": "judy"},
             ENT: {"manager": {"displayName": "Nobody"}}}),
    ("u13", {"userName": "Mallory", "nickName": "mal", "name": [{"givenName": "Mal"}]}),
    ("u14", {"userName": "niaj", ENT: "not-an-object", "displayName": "Niaj"}),
    ("u15", {"userName": "olivia", "displayName": "Ölivia", "profileUrl": "https://x/Olivia",
             "ims": [{"value": "oli", "type": "skype"}]}),
    ("u16", {"userName": "a_b", "title": "under_score"}),
    ("u17", {"userName": "aXb", "title": "underXscore"}),
    ("u18", {"userName": "İstanbul", "displayName": "KELVIN \u212a"}),
    ("u19", {"userName": "oscar", "nickName": "2024-03-02T10:00:00+01:00", "title": 7.5,
             "emails": [{"value": "one@x.com", "primary": 1, "type": 7}]}),
    ("u20", {"userName": "peggy", "nickName": "2024-03-02T09:00:00Z", "title": "10",
             "emails": [{"value": "p@x.com", "primary": "yes"}]}),
]
DEPARTMENTS = ["Sales", "Engineering", "HR", None, "engineering"]
EMAIL_TYPES = ["work", "home", "other"]


def _generated_user(i: int) -> tuple[str, dict]:
    """A plain, well-formed user; together they give every operator something to do."""
    doc: dict = {"userName": f"User{i:02d}@Example.org" if i % 3 else f"user{i:02d}",
                 "active": i % 4 != 0}
    if i % 2:
        doc["externalId"] = f"X{i:02d}"
    if i % 5:
        doc["name"] = {"givenName": f"Given{i % 7}", "familyName": f"fam{i % 4}"}
    emails = [{"value": f"u{i}@{'contoso' if i % 2 else 'fabrikam'}.com",
               "type": EMAIL_TYPES[i % 3], "primary": i % 3 == 0}]
    if i % 4 == 1:
        emails.append({"value": f"U{i}@Home.example", "type": "home"})
    doc["emails"] = emails
    dept = DEPARTMENTS[i % len(DEPARTMENTS)]
    if dept:
        doc[ENT] = {"department": dept, "employeeNumber": str(2000 + i)}
    if i % 6 == 0:
        doc["title"] = ["Engineer", "Director", "engineer"][i % 3]
    return f"g{i:02d}", doc


USERS = HAND_USERS + [_generated_user(i) for i in range(1, 23)]
GROUPS = [
    ("G-Admins", {"displayName": "Admins", "externalId": "ext-g1"},
     [("u01", "User"), ("u02", "User"), ("U03", "User")]),
    ("g-sales", {"displayName": "Sales Team"},
     [("u01", "User"), ("u04", "User"), ("G-Admins", "Group")]),
    ("g-empty", {"displayName": "Nobody_Here", "externalId": "EXT-G3"}, []),
]


def _times(index: int) -> tuple[datetime, datetime]:
    created = BASE_TIME + timedelta(days=index, minutes=index * 7)
    if index % 5 == 0:
        created += timedelta(microseconds=123456)
    return created, created + timedelta(hours=index % 9, seconds=index)


def _active_column(doc: dict) -> bool:
    active = doc.get("active", True)
    return active.lower() == "true" if isinstance(active, str) else bool(active)


def _user_row(index: int, uid: str, doc: dict) -> User:
    """A `users` row as the storage layer writes it (indexed copies of a few attributes)."""
    created, modified = _times(index)
    return User(id=uid, user_name=doc["userName"], user_name_ci=doc["userName"].lower(),
                external_id=doc.get("externalId"), active=_active_column(doc), data=doc,
                created=created, last_modified=modified, version=1)


def _group_row(index: int, gid: str, doc: dict) -> Group:
    created, modified = _times(index)
    return Group(id=gid, display_name=doc["displayName"],
                 display_name_ci=doc["displayName"].lower(), external_id=doc.get("externalId"),
                 data=doc, created=created, last_modified=modified, version=1)


def _iso(value: datetime) -> str:
    return value.isoformat() + "Z"


def _meta(index: int, rtype: str) -> dict:
    created, modified = _times(index)
    return {"resourceType": rtype, "created": _iso(created), "lastModified": _iso(modified)}


def _user_json(index: int, uid: str, doc: dict) -> dict:
    """The resource as rendered (what `matches` sees): data plus id, meta, groups."""
    resource = dict(doc, id=uid, active=_active_column(doc), meta=_meta(index, "User"))
    groups = [{"value": gid, "type": "direct"} for gid, _, members in GROUPS
              if any(mid == uid for mid, _ in members)]
    if groups:
        resource["groups"] = groups
    return resource


def _group_json(index: int, gid: str, doc: dict, members) -> dict:
    resource = dict(doc, id=gid, meta=_meta(index, "Group"))
    if members:
        resource["members"] = [{"value": mid, "type": mtype} for mid, mtype in members]
    return resource


USER_JSON = {uid: _user_json(i, uid, doc) for i, (uid, doc) in enumerate(USERS)}
GROUP_JSON = {gid: _group_json(i, gid, doc, members)
              for i, (gid, doc, members) in enumerate(GROUPS)}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('filter_sql')}/t.db")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(_user_row(i, uid, doc) for i, (uid, doc) in enumerate(USERS))
        session.add_all(_group_row(i, gid, doc) for i, (gid, doc, _) in enumerate(GROUPS))
        session.flush()
        session.add_all(Membership(group_id=gid, member_id=mid, member_type=mtype)
                        for gid, _, members in GROUPS for mid, mtype in members)
        session.commit()
    yield engine
    engine.dispose()


def user_ids(engine, text: str) -> set[str]:
    clause = to_sql_clause(parse_filter(text, USER_TYPE), USER_MAPPING)
    with engine.connect() as conn:
        return set(conn.scalars(select(User.id).where(clause)))


def group_ids(engine, text: str) -> set[str]:
    clause = to_sql_clause(parse_filter(text, GROUP_TYPE), GROUP_MAPPING)
    with engine.connect() as conn:
        return set(conn.scalars(select(Group.id).where(clause)))


# -- the reference -----------------------------------------------------------------
def _present(value) -> bool:
    return value not in (None, "", [], {})


def _some_element_present(ref, resource: dict) -> bool:
    """`pr` on a multi-valued attribute: some element has a present value."""
    attr = ref.attr
    holder = resource.get(attr.schema, {}) if attr.schema == ENT else resource
    elements = holder.get(attr.name) if isinstance(holder, dict) else None
    if not isinstance(elements, list):
        return False
    name = ref.sub.name if ref.sub else ("value" if attr.sub("value") else None)
    values = [e.get(name) if isinstance(e, dict) else None for e in elements] if name \
        else elements
    return any(_present(v) for v in values)


def reference(expr, resource: dict) -> bool:
    """`filters.matches`, except where filter_sql deliberately differs.

    For a multi-valued attribute, `pr` / `eq null` / `ne null` look at the
    elements' values (see filter_sql._compare_elements); `matches` only asks
    whether there are elements.
    """
    if isinstance(expr, And):
        return reference(expr.left, resource) and reference(expr.right, resource)
    if isinstance(expr, Or):
        return reference(expr.left, resource) or reference(expr.right, resource)
    if isinstance(expr, Not):
        return not reference(expr.expr, resource)
    if isinstance(expr, Compare) and expr.ref.attr.multi_valued and (
            expr.op == "pr" or expr.value is None):
        present = _some_element_present(expr.ref, resource)
        return not present if expr.op == "eq" else present
    return matches(expr, resource)


def expected_users(text: str) -> set[str]:
    expr = parse_filter(text, USER_TYPE)
    return {uid for uid, resource in USER_JSON.items() if reference(expr, resource)}


def expected_groups(text: str) -> set[str]:
    expr = parse_filter(text, GROUP_TYPE)
    return {gid for gid, resource in GROUP_JSON.items() if reference(expr, resource)}


ALL_USERS = {uid for uid, _ in USERS}


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
    created, modified = _times(2)  # u03
    assert user_ids(engine, f'meta.created eq "{_iso(created)}"') == {"U03"}
    local = (created + timedelta(hours=2)).isoformat() + "+02:00"
    assert user_ids(engine, f'meta.created eq "{local}"') == {"U03"}
    later = f'meta.lastModified gt "{_iso(modified)}"'
    assert user_ids(engine, later) == expected_users(later)
    assert "U03" not in user_ids(engine, later) and "u04" in user_ids(engine, later)
    micro = _times(5)[0]  # created with microseconds
    assert user_ids(engine, f'meta.created eq "{_iso(micro)}"') == {"u06"}
    assert user_ids(engine, f'meta[created le "{_iso(micro)}" and resourceType eq "User"]') \
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
    with pytest.raises(InvalidFilter):
        to_sql_clause(parse_filter(text, rtype), mapping)


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
    f'meta.lastModified gt "{_iso(BASE_TIME + timedelta(days=40))}"',
])
def test_indexed_lookups(engine, text):
    plan = _plan(engine, text)
    assert "SEARCH users" in plan and ("USING INDEX" in plan or "USING COVERING INDEX" in plan
                                      or "PRIMARY KEY" in plan), plan
    assert "SCAN users" not in plan, plan


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


# -- PostgreSQL ---------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    'userName eq "x" and not (title pr)',
    'emails[type eq "work" and primary eq true] or emails.value co "%"',
    f'{ENT}:manager.value eq null',
    f'meta.created gt "{_iso(BASE_TIME)}"',
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
DATETIMES = sorted({_iso(t + delta) for i in range(len(USERS)) for t in _times(i)
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


def test_domain_module_does_not_import_flask():
    import ast

    import scim_appliance.domain.filter_sql as module

    with open(module.__file__, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.split(".")[0] == "flask" for name in imported)
