"""The data set and the reference evaluator shared by the filter and sort SQL tests
(test_filter_sql.py, test_sort_sql.py, test_filter_sql_property.py).

Documents are varied on purpose: mixed case, non-ASCII, LIKE wildcards in values,
absent / null / empty attributes, and a few malformed shapes that `matches` has an
opinion on. `reference` is the RFC reading the SQL must agree with.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

import scim_appliance.storage.database  # noqa: F401  (registers the SQLite connect hook)
from scim_appliance.domain.protocol.filters import And, Compare, Not, Or, matches, parse_filter
from scim_appliance.domain.protocol.schema import ENTERPRISE_USER, GROUP_TYPE, USER_TYPE
from scim_appliance.domain.query.filter_sql import to_sql_clause
from scim_appliance.domain.query.mappings import GROUP_MAPPING, USER_MAPPING
from scim_appliance.storage.models import Base, Group, Membership, User

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


def times(index: int) -> tuple[datetime, datetime]:
    created = BASE_TIME + timedelta(days=index, minutes=index * 7)
    if index % 5 == 0:
        created += timedelta(microseconds=123456)
    return created, created + timedelta(hours=index % 9, seconds=index)


def _active_column(doc: dict) -> bool:
    active = doc.get("active", True)
    return active.lower() == "true" if isinstance(active, str) else bool(active)


def _user_row(index: int, uid: str, doc: dict) -> User:
    """A `users` row as the storage layer writes it (indexed copies of a few attributes)."""
    created, modified = times(index)
    return User(id=uid, user_name=doc["userName"], user_name_ci=doc["userName"].lower(),
                external_id=doc.get("externalId"), active=_active_column(doc), data=doc,
                created=created, last_modified=modified, version=1)


def _group_row(index: int, gid: str, doc: dict) -> Group:
    created, modified = times(index)
    return Group(id=gid, display_name=doc["displayName"],
                 display_name_ci=doc["displayName"].lower(), external_id=doc.get("externalId"),
                 data=doc, created=created, last_modified=modified, version=1)


def iso(value: datetime) -> str:
    return value.isoformat() + "Z"


def _meta(index: int, rtype: str) -> dict:
    created, modified = times(index)
    return {"resourceType": rtype, "created": iso(created), "lastModified": iso(modified)}


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


def build_engine(folder) -> object:
    """A SQLite file in `folder` holding USERS, GROUPS and their memberships."""
    engine = create_engine(f"sqlite:///{folder}/t.db")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(_user_row(i, uid, doc) for i, (uid, doc) in enumerate(USERS))
        session.add_all(_group_row(i, gid, doc) for i, (gid, doc, _) in enumerate(GROUPS))
        session.flush()
        session.add_all(Membership(group_id=gid, member_id=mid, member_type=mtype)
                        for gid, _, members in GROUPS for mid, mtype in members)
        session.commit()
    return engine



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
