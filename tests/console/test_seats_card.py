"""The Dashboard's Seats card and its "Needs attention" item: active users against
MAX_ACTIVE_USERS, highlighted from 90% of the cap (Flask test client, real SQLite file)."""

from __future__ import annotations

import re

from tests.conftest import make_user


def seats_card(page: str) -> str:
    found = re.search(r'<article class="seats[^"]*">.*?</article>', page, re.S)
    assert found, page[:3000]
    return found.group(0)


def test_without_a_cap_the_card_says_no_cap(console, scim):
    make_user(scim)
    page = console.get("/").get_data(as_text=True)
    card = seats_card(page)
    assert "Seats" in card and "no cap" in card and ">1<" in card
    assert "highlight" not in card and "Seat cap" not in page


def test_under_ninety_percent_the_card_is_plain(app, console, scim):
    app.config["MAX_ACTIVE_USERS"] = 10
    make_user(scim)
    page = console.get("/").get_data(as_text=True)
    card = seats_card(page)
    assert "1 / 10" in card and "1 user is active of MAX_ACTIVE_USERS 10" in card
    assert "highlight" not in card and "Seat cap" not in page


def test_at_ninety_percent_it_is_highlighted_and_needs_attention(app, console, scim):
    app.config["MAX_ACTIVE_USERS"] = 10
    for n in range(9):
        make_user(scim, f"user{n}@contoso.com")
    make_user(scim, "gone@contoso.com", active=False)  # not counted
    page = console.get("/").get_data(as_text=True)
    card = seats_card(page)
    assert 'class="seats highlight near"' in card and "9 / 10" in card
    assert "Seat cap nearly reached: 9 users are active of MAX_ACTIVE_USERS 10" in page
    assert "Raise MAX_ACTIVE_USERS in instance/config.py and restart" in page
    assert "narrow the scope in Entra" in page


def test_at_the_cap_it_says_creates_are_refused(app, console, scim):
    app.config["MAX_ACTIVE_USERS"] = 2
    make_user(scim, "a@contoso.com")
    make_user(scim, "b@contoso.com")
    assert scim.post("/scim/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                     "userName": "c@contoso.com"}).status_code == 403
    page = console.get("/").get_data(as_text=True)
    assert 'class="seats highlight full"' in seats_card(page)
    assert "Seat cap reached: 2 users are active of MAX_ACTIVE_USERS 2 (100%, 0 seats free)." \
        in page
    assert "refused with 403" in page
