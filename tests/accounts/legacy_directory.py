"""A directory of legacy users, as deployments have it before SCIM (issue 6 tests).

`legacy_users(n)` describes n users covering every case of the userid migration;
`insert_users` writes them with one multi-row INSERT per chunk and the same column
semantics as `users.create_user` (lower-cased `user_name_ci`, the derived name from
domain/names/rules.py), because creating thousands through the domain function takes
seconds per test.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from scim_appliance.domain.clock import utcnow
from scim_appliance.domain.names.policy import DEFAULT_RULES
from scim_appliance.domain.names.rules import resolve, sanitize
from scim_appliance.storage.models import User

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@dataclass
class Legacy:
    user_name: str
    emails: list = field(default_factory=list)
    kind: str = "email"  # what the migration should make of it, for the tests
    expect: str | None = None  # the userName after `--domain contoso.com --rename-domain`
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


def _email(value, *, primary=None, type_="work"):
    out = {"value": value, "type": type_}
    if primary is not None:
        out["primary"] = primary
    return out


def legacy_users(n: int) -> list[Legacy]:
    """n users in ten shapes, plus a handful of deliberate conflicts."""
    users = []
    for i in range(n):
        shape = i % 10
        if shape == 0:  # DOMAIN\ prefix, no email: local part + --domain
            users.append(Legacy(f"CONTOSO\\user{i}", kind="prefix",
                                expect=f"user{i}@contoso.com"))
        elif shape == 1:  # a work email that is not the mailbox name
            users.append(Legacy(f"u{i}", [_email(f"first.last{i}@contoso.com")],
                                expect=f"first.last{i}@contoso.com"))
        elif shape == 2:  # mixed case, primary email kept as written
            users.append(Legacy(f"User{i}", [_email(f"User{i}@Contoso.com", primary=True,
                                                    type_="home")],
                                kind="mixed", expect=f"User{i}@Contoso.com"))
        elif shape == 3:  # already email-based: done
            users.append(Legacy(f"user{i}@contoso.com", [_email(f"user{i}@contoso.com")],
                                kind="done", expect=f"user{i}@contoso.com"))
        elif shape == 4:  # no email at all: --domain
            users.append(Legacy(f"user{i}", kind="domain", expect=f"user{i}@contoso.com"))
        elif shape == 5:  # email at the old domain: --rename-domain
            users.append(Legacy(f"user{i}", [_email(f"user{i}@contoso.local")],
                                kind="rename", expect=f"user{i}@contoso.com"))
        elif shape == 6:  # a home email only: not used, --domain instead
            users.append(Legacy(f"NT\\User{i}", [_email(f"private{i}@gmail.com",
                                                        type_="home")],
                                kind="domain", expect=f"User{i}@contoso.com"))
        else:  # the common case: primary work email
            users.append(Legacy(f"user{i}", [_email(f"user{i}@contoso.com", primary=True)],
                                expect=f"user{i}@contoso.com"))
    users += [
        # two users with the same email: neither is converted
        Legacy("shared1", [_email("shared@contoso.com")], kind="conflict"),
        Legacy("SHARED2", [_email("Shared@contoso.com")], kind="conflict"),
        # the email is already another user's userName
        Legacy("holder@contoso.com", kind="done", expect="holder@contoso.com"),
        Legacy("dupe", [_email("HOLDER@contoso.com")], kind="conflict"),
        # an email the cloudsso rules refuse (apostrophe)
        Legacy("obrien", [_email("o'brien@contoso.com")], kind="conflict"),
    ]
    return users


def insert_users(engine: Engine, users: list[Legacy], source: str = "local") -> None:
    """Write `users` as rows, as create_user would (derived names included)."""
    rule = DEFAULT_RULES.user.rule
    now = utcnow()
    taken: set[str] = set()
    rows = []
    for user in users:
        base = sanitize(user.user_name, rule, user.id)
        derived = resolve(base, user.id, rule, lambda key: key in taken)
        taken.add(rule.key(derived))
        doc = {"schemas": [CORE_USER], "userName": user.user_name, "active": True}
        if user.emails:
            doc["emails"] = user.emails
        rows.append({"id": user.id, "user_name": user.user_name,
                     "user_name_ci": user.user_name.lower(), "external_id": None,
                     "active": True, "data": doc, "created": now, "last_modified": now,
                     "version": 1, "source": source, "sanitized_user_name": derived,
                     "sanitized_user_name_key": rule.key(derived),
                     "name_adjusted": derived != user.user_name})
    with engine.begin() as conn:
        for start in range(0, len(rows), 500):
            conn.execute(insert(User), rows[start:start + 500])
