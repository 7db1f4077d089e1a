"""Shared data and helpers for the PATCH unit tests (test_patch_users.py, test_patch_semantics.py,
test_member_ops.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from scim_appliance.domain.protocol.patch import apply_patch
from scim_appliance.domain.protocol.schema import ENTERPRISE_USER, PATCH_OP, USER_TYPE

FIXTURES = Path(__file__).parents[1] / "fixtures"
ENT = ENTERPRISE_USER
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
MGR = "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"
WORK = {"type": "work", "value": "w@x.com"}
HOME = {"type": "home", "value": "h@x.com"}

ADELE = {
    "externalId": "adelev",
    "userName": "adele.vance@contoso.com",
    "active": True,
    "displayName": "Adele Vance",
    "title": "Retail Manager",
    "preferredLanguage": "en-US",
    "emails": [{"primary": True, "type": "work", "value": "adele.vance@contoso.com"}],
    "name": {"formatted": "Adele Vance", "familyName": "Vance", "givenName": "Adele"},
    "addresses": [{"type": "work", "formatted": "18/2111", "streetAddress": "One Microsoft Way",
                   "locality": "Redmond", "region": "WA", "postalCode": "98052",
                   "country": "US"}],
    "phoneNumbers": [{"type": "work", "value": "+1 425 555 0100"},
                     {"type": "mobile", "value": "+1 425 555 0101"},
                     {"type": "fax", "value": "+1 425 555 0102"}],
    ENT: {"employeeNumber": "1001", "department": "Retail"},
}

BABS = "2819c223-7f76-453a-919d-413861904646"
JAMES = "08e1d05d-121c-4561-8b96-473d93df9210"
OTHER = "902c246b-6245-4190-8e05-00816be7344a"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def body(*ops) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def patch(doc, *ops, rtype=USER_TYPE, member_ops=None):
    """Apply ops and check the input document was not modified."""
    before = copy.deepcopy(doc)
    result = apply_patch(doc, body(*ops), rtype, member_ops=member_ops)
    assert doc == before
    return result


def fails(doc, ops, error, *fragments, rtype=USER_TYPE, member_ops=None):
    """Check the request fails with `error`, its detail names `fragments`, and nothing changed."""
    before = copy.deepcopy(doc)
    before_ops = list(member_ops) if member_ops is not None else None
    with pytest.raises(error) as info:
        apply_patch(doc, body(*ops), rtype, member_ops=member_ops)
    assert doc == before
    if member_ops is not None:
        assert member_ops == before_ops
    for fragment in fragments:
        assert fragment in info.value.detail, info.value.detail
    return info.value


def with_(base: dict, **changes) -> dict:
    """A copy of `base` with top-level keys replaced (value None deletes the key)."""
    doc = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


# A group document with two members, for PATCH on `members` as a plain attribute.
GROUP_WITH_MEMBERS = {"displayName": "Sales", "members": [{"value": "a"}, {"value": "b"}]}
