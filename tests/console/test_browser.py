"""The console in a real browser: Debian's Chromium driven by Playwright
(pytest-playwright) against `scim-appliance serve` (waitress, two processes) on a real
instance folder. Controls are found by role and label, as a person with a screen
reader finds them. Each page is photographed into tests/artifacts/console/ (not
committed) for a person to look at.

Chromium is never downloaded (`playwright install` is not used): the system's
/usr/bin/chromium is launched. Under CI=true a missing Chromium fails; elsewhere the
tests are skipped with how to install it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.appliance_server import RunningAppliance
from tests.console.conftest import PASSWORD

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

CHROMIUM = os.environ.get("SCIM_APPLIANCE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"
INSTALL = (f"Chromium is not installed at {CHROMIUM}: the console's browser tests need "
           "it (sudo apt-get install -y chromium, or SCIM_APPLIANCE_TEST_CHROMIUM=PATH; "
           "never 'playwright install')")
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def _chromium() -> str:
    if os.path.exists(CHROMIUM) or shutil.which(CHROMIUM):
        return CHROMIUM
    if os.environ.get("CI") == "true":
        pytest.fail(INSTALL)
    pytest.skip(INSTALL)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """pytest-playwright's launch options: the system Chromium, headless, quiet."""
    return {"executable_path": _chromium(), "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args():
    return {"viewport": {"width": 1280, "height": 860}}


def _admin(server: RunningAppliance, name: str) -> None:
    subprocess.run([sys.executable, "-m", "scim_appliance", "admin", "create", name,
                    "--password-stdin"], env=server.env, input=PASSWORD + "\n", text=True,
                   capture_output=True, check=True, timeout=60)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _chromium()
    instance = tmp_path_factory.mktemp("console-browser") / "instance"
    running = RunningAppliance(instance, env={"SCIM_APPLIANCE_PROCESSES": "2"})
    running.start()
    _admin(running, "alex")
    _admin(running, "kim")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield running
    running.stop()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def scim(server, method, path, token=None, **kw):
    headers = {"Authorization": f"Bearer {token or server.token}",
               "Content-Type": "application/scim+json"}
    return requests.request(method, f"{server.base}{path}", headers=headers, timeout=10, **kw)


def sign_in(page, server, name="alex", password=PASSWORD):
    page.goto(f"{server.base}/")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def nav(page, label):
    page.get_by_role("navigation", name="Console").get_by_role("link", name=label,
                                                                exact=True).click()


def reload_until(page, text, seconds=30):
    """The log writer stores entries on its own thread: reload until one is there."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if page.get_by_text(text).count():
            return
        time.sleep(0.5)
        page.reload()
    raise AssertionError(f"{text!r} never appeared on {page.url}")


def test_sign_in_wrong_then_right(server, page):
    page.goto(f"{server.base}/users")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    shot(page, "01-sign-in")
    page.get_by_label("Username").fill("alex")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The username or password is not correct.")
    shot(page, "02-sign-in-refused")
    page.get_by_label("Username").fill("alex")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()  # ?next kept
    nav(page, "Dashboard")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    for label in ("Dashboard", "SCIM", "Users", "Groups", "Provisioning log",
                  "Name adjustments", "Notifications", "Webhooks", "Migration",
                  "Administrators"):
        expect(page.get_by_role("link", name=label, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    shot(page, "03-dashboard")


def test_sign_in_is_throttled_after_repeated_failures(server, page):
    statuses = []
    page.on("response", lambda r: statuses.append(r.status) if "/sign-in" in r.url else None)
    for _ in range(5):
        sign_in(page, server, "kim", "wrong password, again")
        expect(page.get_by_role("alert")).to_contain_text("not correct")
    sign_in(page, server, "kim", PASSWORD)  # the right password, too late
    expect(page.get_by_role("alert")).to_contain_text("Sign-in is paused")
    assert 429 in statuses
    shot(page, "04-sign-in-throttled")


def test_create_a_new_key_old_refused_new_accepted_shown_once(server, page):
    old = server.token
    sign_in(page, server)
    nav(page, "SCIM")
    expect(page.get_by_label("Tenant URL", exact=True)).to_have_value(f"{server.base}/scim")
    expect(page.get_by_label("Tenant URL with ?aadOptscim062020", exact=True)).to_have_value(
        f"{server.base}/scim?aadOptscim062020")
    expect(page.get_by_text("Not HTTPS.")).to_be_visible()
    shot(page, "05-scim")
    page.get_by_role("button", name="Create new SCIM key").click()
    expect(page.get_by_text("The current key stops working at once.")).to_be_visible()
    shot(page, "06-new-key-confirm")
    page.get_by_role("button", name="Create the new key").click()
    field = page.get_by_label("Secret Token", exact=True)
    expect(field).to_have_attribute("readonly", "")
    new = field.input_value()
    assert new.startswith("scimapp_") and new != old
    shot(page, "07-new-key-shown-once")
    assert scim(server, "GET", "/scim/Users", old).status_code == 401
    assert scim(server, "GET", "/scim/Users", new).status_code == 200
    server.token = new
    page.get_by_role("link", name="Done").click()
    assert new not in page.content()


def test_the_sync_switch_turns_scim_off_with_a_confirmation(server, page):
    sign_in(page, server)
    nav(page, "SCIM")
    switch = page.get_by_role("switch", name="SCIM synchronization")
    expect(switch).to_be_checked()
    switch.uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("refuses every request from Entra with 403")).to_be_visible()
    shot(page, "08-sync-off-confirm")
    page.get_by_role("button", name="Turn synchronization off").click()
    expect(page.get_by_text("SCIM synchronization is now off.")).to_be_visible()
    expect(page.get_by_role("switch", name="SCIM synchronization")).not_to_be_checked()
    assert scim(server, "GET", "/scim/Users").status_code == 403
    page.get_by_role("switch", name="SCIM synchronization").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("SCIM synchronization is now on.")).to_be_visible()
    assert scim(server, "GET", "/scim/Users").status_code == 200


def test_users_and_groups_with_their_source(server, page, tmp_path):
    adele = scim(server, "POST", "/scim/Users", json={
        "schemas": [SCIM_USER], "userName": "adele.vance@contoso.com",
        "displayName": "Adele Vance", "emails": [{"value": "adele@contoso.com",
                                                  "type": "work"}]}).json()
    scim(server, "POST", "/scim/Groups", json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales",
        "members": [{"value": adele["id"]}]})
    csv = tmp_path / "local.csv"
    csv.write_text("userName,email\nRenée O'Brien,renee@contoso.com\n", encoding="utf-8")
    server.cli("users", "import", str(csv))
    sign_in(page, server)
    nav(page, "Users")
    rows = page.get_by_role("row")
    expect(rows.filter(has_text="adele.vance@contoso.com")).to_contain_text(
        "SCIM Synchronization")
    expect(rows.filter(has_text="Renée O'Brien")).to_contain_text("local")
    expect(rows.filter(has_text="Renée O'Brien")).to_contain_text("adjusted")
    shot(page, "09-users")
    page.get_by_label("Search").fill("adele")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("row").filter(has_text="Renée")).to_have_count(0)
    page.get_by_role("link", name="adele.vance@contoso.com").click()
    expect(page.get_by_role("heading", name="SCIM document")).to_be_visible()
    expect(page.get_by_role("link", name="Sales")).to_be_visible()
    shot(page, "10-user-detail")
    nav(page, "Groups")
    shot(page, "11-groups")
    page.get_by_role("link", name="Sales").click()
    expect(page.get_by_role("heading", name="Members (1)")).to_be_visible()
    shot(page, "12-group-detail")


def test_the_log_shows_failures_and_their_advice(server, page):
    failed = scim(server, "GET", "/scim/Users/no-such-user")
    request_id = failed.headers["X-Request-Id"]
    sign_in(page, server)
    nav(page, "Provisioning log")
    page.get_by_label("Failures only").check()
    page.get_by_role("button", name="Show").click()
    reload_until(page, "/scim/Users/no-such-user")
    expect(page.get_by_role("cell", name="POST /scim/Users", exact=True)).to_have_count(0)
    shot(page, "13-log-failures")
    page.goto(f"{server.base}/log")
    page.get_by_label("Request id").fill(request_id)
    page.get_by_role("button", name="Show").click()
    page.get_by_role("row").filter(has_text="no-such-user").get_by_role("link").click()
    expect(page.get_by_text("Restart provisioning")).to_be_visible()
    shot(page, "14-log-entry")


def _confirm_backup_unless_sqlite(page):
    """On PostgreSQL the appliance cannot copy the database itself: the page asks the
    administrator to confirm a pg_dump was taken (on SQLite it backs up first)."""
    box = page.get_by_label("I have backed up the database")
    if box.count():
        box.check()


def test_a_migration_applied_and_reverted_from_the_page(server, page):
    scim(server, "POST", "/scim/Users", json={
        "schemas": [SCIM_USER], "userName": "CONTOSO\\jdoe",
        "emails": [{"value": "jdoe@contoso.com", "type": "work"}]})
    sign_in(page, server)
    nav(page, "Migration")
    shot(page, "15-migration")
    page.get_by_role("button", name="Dry run").click()
    expect(page.get_by_role("cell", name="CONTOSO\\jdoe")).to_be_visible()
    shot(page, "16-migration-plan")
    page.get_by_role("button", name="Apply", exact=True).click()
    shot(page, "17-migration-confirm")
    _confirm_backup_unless_sqlite(page)
    page.get_by_role("button", name="Apply the migration").click()
    expect(page.get_by_role("status")).to_contain_text("finished", timeout=60_000)
    expect(page.get_by_text(re.compile(r"converted [1-9]"))).to_be_visible()
    shot(page, "18-migration-done")
    users = scim(server, "GET", '/scim/Users?filter=userName eq "jdoe@contoso.com"').json()
    assert users["totalResults"] == 1
    page.get_by_role("button", name="Revert", exact=True).click()
    _confirm_backup_unless_sqlite(page)
    page.get_by_role("button", name="Revert the migration").click()
    expect(page.get_by_role("status")).to_contain_text("finished", timeout=60_000)
    expect(page.get_by_text(re.compile(r"restored [1-9]"))).to_be_visible()
    shot(page, "19-migration-reverted")
    users = scim(server, "GET", '/scim/Users?filter=userName eq "CONTOSO\\\\jdoe"').json()
    assert users["totalResults"] == 1


def test_a_forged_form_is_refused_and_changes_nothing(server, page):
    sign_in(page, server)
    page.goto(f"{server.base}/settings/scim/new-key")
    page.locator("form[action='/settings/scim/new-key'] input[name=csrf_token]").evaluate(
        "field => { field.value = 'forged'; }")
    page.get_by_role("button", name="Create the new key").click()
    expect(page.get_by_role("alert")).to_contain_text("This form was not accepted")
    shot(page, "20-csrf-refused")
    assert scim(server, "GET", "/scim/Users").status_code == 200  # the key still works
    response = page.request.post(f"{server.base}/settings/scim/new-key", form={})
    assert response.status == 400


def test_the_other_pages(server, page):
    sign_in(page, server)
    for number, label in ((21, "Name adjustments"), (22, "Notifications"),
                          (23, "Administrators")):
        nav(page, label)
        expect(page.get_by_role("heading", name=label, level=1)).to_be_visible()
        shot(page, f"{number}-{label.lower().replace(' ', '-')}")
    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("cell", name="token.issued")).to_be_visible()
    shot(page, "24-audit")


def test_a_webhook_endpoint_added_its_secret_shown_once_and_a_test_event_sent(server, page):
    from tests.events.receiver import Receiver

    receiver = Receiver().start()
    try:
        sign_in(page, server)
        nav(page, "Webhooks")
        page.get_by_label("Endpoint URL").fill(receiver.url)
        page.get_by_label("Event types").fill("user.*, group.created")
        page.get_by_role("button", name="Add endpoint").click()
        field = page.get_by_label("Signing secret", exact=True)
        expect(field).to_have_attribute("readonly", "")
        secret = field.input_value()
        assert secret.startswith("whsec_")
        expect(page.get_by_role("button", name="Copy Signing secret")).to_be_visible()
        shot(page, "25-webhook-secret-shown-once")
        receiver.secrets.append(secret)
        page.get_by_role("link", name="Done").click()
        assert secret not in page.content()
        page.get_by_role("button", name=f"Send test event to {receiver.url}").click()
        expect(page.get_by_role("status")).to_contain_text("delivered: HTTP 204")
        assert [p["type"] for p in receiver.payloads()] == ["webhook.test"]
        expect(page.get_by_role("cell", name="user.*, group.created")).to_be_visible()
        scim(server, "POST", "/scim/Users", json={"schemas": [SCIM_USER],
                                                  "userName": "megan.bowen@contoso.com"})
        delivered = page.locator("td .badge.ok", has_text="delivered")
        deadline = time.monotonic() + 60  # by the appliance's own delivery worker
        while not delivered.count() and time.monotonic() < deadline:
            time.sleep(0.5)
            page.reload()
        expect(delivered).to_have_count(1)
        assert "user.created" in [p["type"] for p in receiver.payloads()]
        shot(page, "26-webhooks")
    finally:
        receiver.stop()


def test_sign_out_ends_the_session(server, page):
    sign_in(page, server)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto(f"{server.base}/")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_no_administrator_yet_names_the_command(tmp_path, page):
    _chromium()
    bare = RunningAppliance(tmp_path / "instance", env={"SCIM_APPLIANCE_PROCESSES": "1"})
    bare.start()
    try:
        page.goto(f"{bare.base}/")
        expect(page.get_by_text("scim-appliance admin create NAME")).to_be_visible()
        shot(page, "00-no-administrator")
    finally:
        bare.stop()
