"""Shared constants and helpers for the black-box conformance tests (test_conformance_*.py).

Each test there checks one behaviour and cites where it comes from: an RFC section, or a
note in shared/docs/entra-provisioning.md ("Entra §n").
"""

from __future__ import annotations

import re

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
MS_GROUP_MARKER = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
SCIM_JSON = "application/scim+json"
# RFC 7644 §3.12, Table 9.
SCIM_TYPES = {"invalidFilter", "tooMany", "uniqueness", "mutability", "invalidSyntax",
              "invalidPath", "noTarget", "invalidValue", "invalidVers", "sensitive"}
# RFC 3339 §5.6 date-time (with a mandatory offset, as RFC 7643 §2.3.5 asks).
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def patch(scim, path, *ops, headers=None):
    return scim.patch(path, {"schemas": [PATCH_OP], "Operations": list(ops)}, headers=headers)


def make_group(scim, display_name="Sales", **extra):
    resp = scim.post("/scim/Groups", {"schemas": [GROUP], "displayName": display_name, **extra})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def list_users(scim, **params):
    resp = scim.get("/scim/Users", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def user_names(scim, filter_text):
    body = list_users(scim, filter=filter_text, attributes="userName")
    return sorted(r["userName"] for r in body["Resources"])


def sorted_names(scim, **params):
    body = list_users(scim, attributes="userName", **params)
    return [r["userName"] for r in body["Resources"]]


def assert_scim_error(resp, status, scim_type=None):
    """RFC 7644 §3.12: an Error message whose `status` is the HTTP status as a string."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == SCIM_JSON
    body = resp.get_json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert isinstance(body["status"], str)
    if "scimType" in body:
        assert body["scimType"] in SCIM_TYPES
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body
