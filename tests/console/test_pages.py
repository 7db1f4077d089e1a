"""Users, Groups, the provisioning log and Administrators, through the Flask test
client on a real SQLite file: what each page shows, and bad input answered with the
page and a message, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scim_appliance.domain.accounts.local_accounts import import_users, read_import_file
from scim_appliance.domain.admins import audit
from scim_appliance.domain.names.policy import rules_from_config
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import Administrator, AuditEntry
from tests.conftest import make_user

PAGES = ("/", "/settings/scim", "/settings/scim/new-key", "/users", "/groups", "/log",
         "/names", "/notifications", "/migration", "/administrators", "/audit")
NAV = ("Dashboard", "SCIM", "Users", "Groups", "Provisioning log", "Name adjustments",
       "Notifications", "Migration", "Administrators")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_answers_with_the_navigation_and_sign_out(console, path):
    resp = console.get(path)
    assert resp.status_code == 200, path
    page = resp.get_data(as_text=True)
    for label in NAV:
        assert f">{label}</a>" in page
    assert ">Sign out</button>" in page


def _local_user(app, tmp_path, name="legacy.kim"):
    csv = tmp_path / "local.csv"
    csv.write_text(f"userName,email,groups\n{name},{name}@contoso.com,Legacy\n")
    with app.app_context():
        report = import_users(db.session, read_import_file(str(csv)),
                              rules=rules_from_config(app.config))
        assert not report.errors
        db.session.commit()


def test_users_show_source_active_and_the_name_downstream(app, console, scim, tmp_path):
    make_user(scim, "adele.vance@contoso.com", displayName="Adele Vance",
              emails=[{"value": "adele@contoso.com", "type": "work"}])
    make_user(scim, "Renée O'Brien", active=False)
    _local_user(app, tmp_path)
    page = console.get("/users").get_data(as_text=True)
    assert "SCIM Synchronization" in page and "<td>local</td>" in page
    assert "inactive" in page and "adjusted" in page
    assert "adele@contoso.com" in page


@pytest.mark.parametrize("query, shown, hidden", [
    ("adele", "adele.vance@contoso.com", "bob@contoso.com"),
    ("Bob Builder", "bob@contoso.com", "adele.vance@contoso.com"),  # displayName
    ('userName sw "bob"', "bob@contoso.com", "adele.vance@contoso.com"),  # a SCIM filter
    ("active eq false", "bob@contoso.com", "adele.vance@contoso.com"),
])
def test_the_search_takes_plain_text_or_a_scim_filter(console, scim, query, shown, hidden):
    make_user(scim, "adele.vance@contoso.com")
    make_user(scim, "bob@contoso.com", displayName="Bob Builder", active=False)
    page = console.get("/users", query_string={"q": query}).get_data(as_text=True)
    assert shown in page and hidden not in page


@pytest.mark.parametrize("query", ['"unclosed', "x" * 2000, 'userName eq "x" and',
                                   "emails[type eq", "ümlaut ☃ 🙂"])
def test_a_bad_search_gets_the_page_back_never_a_500(console, scim, query):
    make_user(scim, "adele.vance@contoso.com")
    resp = console.get("/users", query_string={"q": query})
    assert resp.status_code in (200, 400)
    assert "Search" in resp.get_data(as_text=True)
    assert console.get("/groups", query_string={"q": query}).status_code in (200, 400)


def test_users_are_paged_in_sql(console, scim):
    for n in range(60):
        make_user(scim, f"user{n:02d}@contoso.com")
    first = console.get("/users").get_data(as_text=True)
    assert "Page 1 of 2 (60 in all)" in first and "user49@contoso.com" in first
    assert "user50@contoso.com" not in first
    second = console.get("/users?page=2").get_data(as_text=True)
    assert "user59@contoso.com" in second and "user00@contoso.com" not in second
    for bad in ("0", "-3", "abc", "99999999999999999999"):
        assert console.get(f"/users?page={bad}").status_code == 200


def test_a_user_detail_has_the_document_groups_and_log(app, console, scim):
    user = make_user(scim, "adele.vance@contoso.com")
    group = scim.post("/scim/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                       "displayName": "Sales",
                                       "members": [{"value": user["id"]}]}).get_json()
    page = console.get(f"/users/{user['id']}").get_data(as_text=True)
    assert "SCIM document" in page and "&#34;userName&#34;" in page
    assert f"/groups/{group['id']}" in page and "Sales" in page
    assert "POST /scim/Users" in page
    gpage = console.get(f"/groups/{group['id']}").get_data(as_text=True)
    assert "Members (1)" in gpage and f"/users/{user['id']}" in gpage
    assert console.get("/users/nope").status_code == 404
    assert console.get("/groups/nope").status_code == 404


def test_the_log_filters_failures_time_object_and_request_id(console, scim):
    user = make_user(scim, "adele.vance@contoso.com")
    failed = scim.get("/scim/Users/missing-id")
    request_id = failed.headers["X-Request-Id"]
    all_entries = console.get("/log").get_data(as_text=True)
    assert "/scim/Users/missing-id" in all_entries and "POST /scim/Users" in all_entries
    failures = console.get("/log?failures=1").get_data(as_text=True)
    assert "/scim/Users/missing-id" in failures and "POST /scim/Users" not in failures
    by_id = console.get(f"/log?request_id={request_id}").get_data(as_text=True)
    assert "/scim/Users/missing-id" in by_id and "POST /scim/Users" not in by_id
    about = console.get(f"/log?about={user['id']}").get_data(as_text=True)
    assert "POST /scim/Users" in about and "missing-id" not in about
    assert "No entry matches" in console.get("/log?since=2099-01-01").get_data(as_text=True)


def test_a_log_entry_shows_the_advice_of_the_failure_email(console, scim):
    scim.get("/scim/Users/missing-id")
    page = console.get("/log?failures=1").get_data(as_text=True)
    link = page.split('href="/log/')[1].split('"')[0]
    entry = console.get(f"/log/{link}").get_data(as_text=True)
    assert "Restart provisioning" in entry and "Request id" in entry
    assert console.get("/log/999999").status_code == 404


@pytest.mark.parametrize("args", ["since=yesterday", "until=31/12/2020",
                                  "page=-1&since=2h", "about=" + "x" * 5000])
def test_bad_log_filters_get_the_page_and_a_message(console, args):
    resp = console.get(f"/log?{args}")
    assert resp.status_code in (200, 400)
    assert "Request id" in resp.get_data(as_text=True)


def test_administrators_added_reset_and_removed_with_confirmation(app, console):
    added = console.post_form("/administrators", "/administrators",
                              {"name": "sam", "password": "a long enough password"})
    assert added.status_code == 302
    confirm = console.get("/administrators/sam/remove").get_data(as_text=True)
    assert "can no longer sign in" in confirm
    reset = console.post_form("/administrators/sam/password", "/administrators/sam/password",
                              {"password": "another long password"})
    assert reset.status_code == 302
    removed = console.post_form("/administrators/sam/remove", "/administrators/sam/remove")
    assert removed.status_code == 302
    with app.app_context():
        assert [a.name for a in db.session.scalars(select(Administrator))] == ["alex"]
        actions = [(r.action, r.actor, r.detail) for r in db.session.scalars(
            select(AuditEntry).where(AuditEntry.actor == "alex").order_by(AuditEntry.id))]
    assert actions[-3:] == [(audit.ADMIN_CREATED, "alex", "sam"),
                            (audit.ADMIN_PASSWORD_RESET, "alex", "sam"),
                            (audit.ADMIN_DELETED, "alex", "sam")]
    trail = console.get("/audit").get_data(as_text=True)
    assert "admin.deleted" in trail and "127.0.0.1" in trail


@pytest.mark.parametrize("data, message", [
    ({"name": "", "password": ""}, "Give a name and a password."),
    ({"name": "bad name", "password": "a long enough password"}, "1 to 64 characters"),
    ({"name": "sam", "password": "short"}, "at least 12"),
    ({"name": "ALEX", "password": "a long enough password"}, "exists already"),
    ({"name": "x" * 500, "password": "a long enough password"}, "Give a name"),
])
def test_bad_administrator_input_gets_the_form_back_with_a_message(console, data, message):
    resp = console.post_form("/administrators", "/administrators", data)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)


def test_the_last_administrator_cannot_be_removed_and_own_reset_signs_out(console):
    resp = console.post_form("/administrators/alex/remove", "/administrators/alex/remove")
    assert resp.status_code == 400 and "last administrator" in resp.get_data(as_text=True)
    weak = console.post_form("/administrators/alex/password", "/administrators/alex/password",
                             {"password": "short"})
    assert weak.status_code == 400 and "at least 12" in weak.get_data(as_text=True)
    console.post_form("/administrators/alex/password", "/administrators/alex/password",
                      {"password": "another long password"})
    assert console.get("/").status_code == 302  # the own session ended too
    assert console.get("/administrators/nobody/remove").status_code in (302, 404)


@pytest.mark.parametrize("query", ["Renée", 'say "hi"', "back\\slash", "50%", "a_b", "x!y"])
def test_plain_text_that_json_escapes_or_like_treats_specially_is_still_found(console, scim,
                                                                              query):
    make_user(scim, "decoy@contoso.com", displayName="nothing to see")
    make_user(scim, "match@contoso.com", displayName=f"has {query} inside")
    page = console.get("/users", query_string={"q": query}).get_data(as_text=True)
    assert "match@contoso.com" in page and "decoy@contoso.com" not in page


@pytest.mark.parametrize("path", ["/users/a%00b", "/groups/%00", "/log?about=%00",
                                  "/users?q=%00"])
def test_a_nul_in_the_address_is_a_400_page(console, path):
    resp = console.get(path)
    assert resp.status_code == 400 and "NUL" in resp.get_data(as_text=True)
