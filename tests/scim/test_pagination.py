"""Paging and sorting (RFC 7644 §3.4.2.3, §3.4.2.4); Microsoft's SCIM_User_Pagination_Test."""

from __future__ import annotations

import pytest

from tests.conftest import make_user


@pytest.fixture
def twelve(scim):
    return [make_user(scim, f"user{i:02d}@contoso.com", displayName=f"User {11 - i:02d}")
            for i in range(12)]


def test_pages_cover_everything_once_with_exact_totals(scim, twelve):
    seen = []
    for start in (1, 6, 11):
        body = scim.get(f"/scim/Users?startIndex={start}&count=5").get_json()
        assert body["totalResults"] == 12
        assert body["startIndex"] == start
        assert body["itemsPerPage"] == len(body["Resources"])
        seen += [r["id"] for r in body["Resources"]]
    assert sorted(seen) == sorted(u["id"] for u in twelve)
    assert len(seen) == 12


def test_out_of_range_values_are_clamped(scim, twelve):
    body = scim.get("/scim/Users?startIndex=0&count=-3").get_json()
    assert body["startIndex"] == 1 and body["Resources"] == [] and body["totalResults"] == 12
    body = scim.get("/scim/Users?startIndex=100").get_json()
    assert body["Resources"] == [] and body["totalResults"] == 12


def test_count_is_capped_by_the_configured_maximum(app, scim, twelve):
    app.config["SCIM_MAX_RESULTS"] = 5
    body = scim.get("/scim/Users?count=50").get_json()
    assert body["itemsPerPage"] == 5 and body["totalResults"] == 12


def test_non_integer_paging_is_400(scim):
    resp = scim.get("/scim/Users?count=ten")
    assert resp.status_code == 400
    assert resp.get_json()["scimType"] == "invalidValue"


def test_sort_by_and_order(scim, twelve):
    body = scim.get("/scim/Users?sortBy=displayName&sortOrder=ascending").get_json()
    names = [r["displayName"] for r in body["Resources"]]
    assert names == sorted(names)
    body = scim.get("/scim/Users?sortBy=userName&sortOrder=descending&count=3").get_json()
    assert [r["userName"] for r in body["Resources"]] == [
        "user11@contoso.com", "user10@contoso.com", "user09@contoso.com"]


def test_bad_sort_order_is_400(scim):
    assert scim.get("/scim/Users?sortBy=userName&sortOrder=sideways").status_code == 400
