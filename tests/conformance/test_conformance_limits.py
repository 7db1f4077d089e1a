"""Black-box: inputs at and beyond the appliance's documented limits answer SCIM 400s,
never a 500, on every way in (GET query, /Users/.search, /Groups/.search, /.search,
PATCH paths). RFC 7644 §3.4.2.2 (filters), §3.4.2.4 (paging), §3.5.2 (paths), §3.12."""

from __future__ import annotations

import pytest

from scim_appliance.domain.protocol.filters import (
    MAX_FILTER_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_FILTER_TERMS,
)
from scim_appliance.domain.query.listing import MAX_START_INDEX
from tests.conftest import make_user

from .suite import ENTERPRISE, SEARCH, assert_scim_error, make_group, patch

# displayName is an attribute of Users and Groups, so every endpoint parses these fully.
TERM = 'displayName eq "x"'
HOSTILE = {
    "deep not": "not(" * 300 + TERM + ")" * 300,
    "deep parens": "(" * 400 + TERM + ")" * 400,
    "many and": " and ".join(['displayName co "x"'] * 3000),
    "many or": " or ".join([TERM] * 1500),
    "one too many": " or ".join([TERM] * (MAX_FILTER_TERMS + 1)),
    "one too deep": "(" * (MAX_FILTER_DEPTH + 1) + TERM + ")" * (MAX_FILTER_DEPTH + 1),
    "too long": 'displayName eq "' + "x" * MAX_FILTER_LENGTH + '"',
}
USER_WAYS = ("GET /Users", "/Users/.search", "/.search")


def _ways_in(scim, text):
    yield "GET /Users", scim.get("/scim/Users", query_string={"filter": text})
    yield "GET /Groups", scim.get("/scim/v2/Groups", query_string={"filter": text})
    yield "/Users/.search", scim.post("/scim/Users/.search", {"schemas": [SEARCH],
                                                              "filter": text})
    yield "/Groups/.search", scim.post("/scim/Groups/.search", {"filter": text})
    yield "/.search", scim.post("/scim/.search", {"schemas": [SEARCH], "filter": text})


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_filters_are_400_invalid_filter_everywhere(scim, name):
    """RFC 7644 §3.12 invalidFilter; these were RecursionError 500s."""
    make_user(scim, "limits@contoso.com")
    for way, resp in _ways_in(scim, HOSTILE[name]):
        body = assert_scim_error(resp, 400, "invalidFilter")
        assert "internal error" not in body["detail"], way


def test_a_filter_at_every_limit_is_answered(scim):
    user = make_user(scim, "at-limit@contoso.com", displayName="x")
    inner = " or ".join(['displayName co "nothing"'] * (MAX_FILTER_TERMS - 1) + [TERM])
    text = "(" * (MAX_FILTER_DEPTH - 1) + f"({inner})" + ")" * (MAX_FILTER_DEPTH - 1)
    for way, resp in _ways_in(scim, text):
        assert resp.status_code == 200, (way, resp.get_json())
        ids = [r["id"] for r in resp.get_json()["Resources"]]
        assert ids == ([user["id"]] if way in USER_WAYS else []), way


@pytest.mark.parametrize("path", [
    "members[" + "not(" * 300 + 'value eq "x"' + ")" * 300 + "]",
    "members[" + " or ".join(['value eq "x"'] * 2000) + "]",
    "members[" + "(" * 400 + 'value eq "x"' + ")" * 400 + "]",
])
def test_hostile_patch_paths_are_400_invalid_path(scim, path):
    group = make_group(scim, "Limits")
    resp = patch(scim, f"/scim/Groups/{group['id']}", {"op": "remove", "path": path})
    assert_scim_error(resp, 400, "invalidPath")


# -- RFC 7644 §3.5.2 path ABNF over HTTP: nothing outside it is applied ----------------------
@pytest.mark.parametrize("path", [
    "userName.",
    "nic\u212aName",
    "name.givenName.",
    f"{ENTERPRISE}:department.",
    f"{ENTERPRISE}:",
    'emails [type eq "work"].value',
    'emails[type eq "work"] .value',
])
def test_paths_outside_the_abnf_are_refused_and_change_nothing(scim, path):
    user = make_user(scim, "abnf@contoso.com", nickName="nick", name={"givenName": "G"},
                     emails=[{"type": "work", "value": "abnf@contoso.com"}])
    value = {"department": "x"} if path.endswith(":") else "changed@contoso.com"
    resp = patch(scim, f"/scim/Users/{user['id']}", {"op": "replace", "path": path,
                                                     "value": value})
    assert_scim_error(resp, 400, "invalidPath")
    after = scim.get(f"/scim/Users/{user['id']}").get_json()
    assert after["userName"] == "abnf@contoso.com" and after["nickName"] == "nick"
    assert after["meta"]["version"] == user["meta"]["version"]


# -- RFC 7644 §3.4.2.4: integers beyond what SQLite holds ----------------------------------
@pytest.mark.parametrize("value", [str(10**23), "1" * 5000, str(2**63), str(MAX_START_INDEX + 1)])
def test_huge_start_index_is_clamped(scim, value):
    make_user(scim, "page@contoso.com")
    answers = [scim.get("/scim/Users", query_string={"startIndex": value})]
    if len(value) < 4000:  # Python's json refuses longer integers
        answers += [scim.post("/scim/Users/.search", {"startIndex": int(value)}),
                    scim.post("/scim/.search", {"startIndex": int(value)})]
    for resp in answers:
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        assert body["Resources"] == [] and body["totalResults"] == 1
        assert body["startIndex"] == MAX_START_INDEX


@pytest.mark.parametrize("value", [str(10**23), "-" + "9" * 40, str(2**64)])
def test_huge_count_is_clamped(app, scim, value):
    make_user(scim, "count@contoso.com")
    expected = 0 if value.startswith("-") else 1
    for resp in (scim.get("/scim/Users", query_string={"count": value}),
                 scim.post("/scim/Users/.search", {"count": int(value)}),
                 scim.post("/scim/.search", {"count": int(value)})):
        assert resp.status_code == 200, resp.get_json()
        assert len(resp.get_json()["Resources"]) == expected


@pytest.mark.parametrize("value", ["1e30", "1e23", "\u0663", "1_0", "0x10", "1.5", " ", "+-1"])
def test_paging_values_that_are_not_decimal_integers_are_400(scim, value):
    for resp in (scim.get("/scim/Users", query_string={"startIndex": value}),
                 scim.get("/scim/Users", query_string={"count": value})):
        assert_scim_error(resp, 400, "invalidValue")


@pytest.mark.parametrize("value", [1e30, 1e23, 2.5, True, [1], {"n": 1}])
def test_search_paging_values_that_are_not_integers_are_400(scim, value):
    for path in ("/scim/Users/.search", "/scim/.search"):
        assert_scim_error(scim.post(path, {"count": value}), 400, "invalidValue")
        assert_scim_error(scim.post(path, {"startIndex": value}), 400, "invalidValue")


# -- dates Python cannot hold ---------------------------------------------------------------
@pytest.mark.parametrize("text", [
    'meta.created gt "0001-01-01T00:00:00+14:00"',
    'meta.lastModified lt "9999-12-31T23:59:59-14:00"',
    'meta.created eq "0001-01-01T00:00:00+00:01"',
])
def test_dates_beyond_the_representable_range_are_400(scim, text):
    make_user(scim, "date@contoso.com")
    for _, resp in _ways_in(scim, text):
        assert_scim_error(resp, 400, "invalidFilter")


def test_dates_at_the_ends_of_the_range_compare(scim):
    make_user(scim, "ends@contoso.com")
    names = {
        'meta.created gt "0001-01-01T00:00:00Z"': 1,
        'meta.created lt "0001-01-01T00:00:00.001Z"': 0,
        'meta.lastModified lt "9999-12-31T23:59:59Z"': 1,
        'meta.lastModified gt "9999-12-31T09:59:59-14:00"': 0,
    }
    for text, expected in names.items():
        resp = scim.get("/scim/Users", query_string={"filter": text})
        assert resp.status_code == 200 and resp.get_json()["totalResults"] == expected, text
