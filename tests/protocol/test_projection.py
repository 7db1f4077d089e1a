"""`attributes` / `excludedAttributes` naming a whole schema by its URN (RFC 7644
§3.4.2.5, §3.9, §3.10): the URN stands for every attribute of that schema."""

from __future__ import annotations

import pytest

from scim_appliance.domain.protocol.projection import apply_projection, parse_projection
from scim_appliance.domain.protocol.schema import (
    APPLIANCE_GROUP,
    APPLIANCE_USER,
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE_USER,
    GROUP_TYPE,
    USER_TYPE,
)

USER = {
    "schemas": [CORE_USER, ENTERPRISE_USER, APPLIANCE_USER],
    "id": "u1",
    "externalId": "adelev",
    "userName": "adele@contoso.com",
    "displayName": "Adele",
    "emails": [{"type": "work", "value": "adele@contoso.com"}],
    ENTERPRISE_USER: {"department": "Retail", "manager": {"value": "m1"}},
    APPLIANCE_USER: {"sanitizedUserName": "adele@contoso.com", "nameAdjusted": False,
                     "source": "scim"},
    "meta": {"resourceType": "User"},
}
GROUP = {
    "schemas": [CORE_GROUP, APPLIANCE_GROUP],
    "id": "g1",
    "displayName": "Sales",
    "members": [{"value": "u1"}],
    APPLIANCE_GROUP: {"sanitizedDisplayName": "Sales", "nameAdjusted": False, "source": "scim"},
    "meta": {"resourceType": "Group"},
}


def project(resource, rtype, attributes=None, excluded=None):
    return apply_projection(resource, rtype, parse_projection(rtype, attributes, excluded))


@pytest.mark.parametrize("urn", [ENTERPRISE_USER, ENTERPRISE_USER.upper(), f" {ENTERPRISE_USER} "])
def test_attributes_naming_an_extension_return_all_of_its_attributes(urn):
    out = project(USER, USER_TYPE, attributes=urn)
    assert out == {"schemas": [CORE_USER, ENTERPRISE_USER], "id": "u1",
                   ENTERPRISE_USER: USER[ENTERPRISE_USER]}


def test_attributes_naming_an_extension_and_an_attribute_return_both():
    out = project(USER, USER_TYPE, attributes=f"userName,{APPLIANCE_USER}")
    assert out == {"schemas": [CORE_USER, APPLIANCE_USER], "id": "u1",
                   "userName": "adele@contoso.com", APPLIANCE_USER: USER[APPLIANCE_USER]}


def test_excluded_attributes_naming_an_extension_drop_it_and_its_schema():
    out = project(USER, USER_TYPE, excluded=APPLIANCE_USER)
    expected = {k: v for k, v in USER.items() if k != APPLIANCE_USER}
    expected["schemas"] = [CORE_USER, ENTERPRISE_USER]
    assert out == expected


def test_excluding_the_group_extension_keeps_members_and_the_rest():
    out = project(GROUP, GROUP_TYPE, excluded=APPLIANCE_GROUP)
    assert APPLIANCE_GROUP not in out and out["schemas"] == [CORE_GROUP]
    assert out["members"] == GROUP["members"] and out["displayName"] == "Sales"


def test_attributes_naming_the_core_schema_return_its_attributes_only():
    out = project(USER, USER_TYPE, attributes=CORE_USER)
    assert out == {"schemas": [CORE_USER], "id": "u1", "userName": "adele@contoso.com",
                   "displayName": "Adele", "emails": USER["emails"]}


def test_excluded_attributes_naming_the_core_schema_keep_extensions_and_common_ones():
    out = project(USER, USER_TYPE, excluded=CORE_USER)
    assert out == {"schemas": USER["schemas"], "id": "u1", "externalId": "adelev",
                   ENTERPRISE_USER: USER[ENTERPRISE_USER],
                   APPLIANCE_USER: USER[APPLIANCE_USER], "meta": USER["meta"]}


def test_an_extension_urn_selects_the_members_list_only_when_it_is_core():
    projection = parse_projection(GROUP_TYPE, APPLIANCE_GROUP, None)
    assert not projection.wants(GROUP_TYPE.core.attribute("members"))
    assert parse_projection(GROUP_TYPE, CORE_GROUP, None).wants(
        GROUP_TYPE.core.attribute("members"))
    assert not parse_projection(GROUP_TYPE, None, CORE_GROUP).wants(
        GROUP_TYPE.core.attribute("members"))

