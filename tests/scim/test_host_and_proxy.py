"""Which host and client a request names: PUBLIC_URL, TRUSTED_HOSTS, TRUSTED_PROXIES.

Without PUBLIC_URL the `Host` header builds `meta.location` and `Location`, so whoever
reaches the appliance could make it hand out links to another host. TRUSTED_HOSTS
limits the hosts it answers to; TRUSTED_PROXIES says how many reverse proxies set
X-Forwarded-For/-Proto/-Host (werkzeug's ProxyFix), so the log names the real client
and anything further left in those headers (what a client wrote itself) is ignored.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scim_appliance import create_app
from scim_appliance.domain.access import appliance
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import ProvisioningLogEntry
from tests.conftest import ScimClient

USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "host@contoso.com"}
FORWARDED = {"X-Forwarded-For": "198.51.100.66, 203.0.113.7",
             "X-Forwarded-Proto": "https", "X-Forwarded-Host": "scim.contoso.com"}


@pytest.fixture
def build(tmp_path):
    apps = []

    def build(**config):
        app = create_app({"TESTING": True, "SECRET_KEY": "k",
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'h.db'}",
                          **config})
        with app.app_context():
            db.create_all()
            appliance.set_sync(db.session, True)
            token = appliance.issue_token(db.session, "k")
            db.session.commit()
        apps.append(app)
        return app, ScimClient(app.test_client(), token)

    yield build
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def clients(app) -> list[str]:
    with app.app_context():
        return list(db.session.execute(
            select(ProvisioningLogEntry.client).order_by(ProvisioningLogEntry.id)).scalars())


def test_public_url_is_used_whatever_the_host_header_says(build):
    _, scim = build(PUBLIC_URL="https://scim.contoso.com/")
    resp = scim.post("/scim/Users", USER, headers={"Host": "evil.example"})
    assert resp.headers["Location"].startswith("https://scim.contoso.com/scim/Users/")
    assert resp.get_json()["meta"]["location"] == resp.headers["Location"]


def test_a_host_outside_trusted_hosts_is_a_scim_400(build):
    app, scim = build(TRUSTED_HOSTS=["scim.contoso.com"])
    resp = scim.post("/scim/Users", USER, headers={"Host": "evil.example"})
    assert resp.status_code == 400 and resp.mimetype == "application/scim+json"
    assert "evil" not in resp.get_data(as_text=True)
    assert scim.get("/scim/Users", headers={"Host": "scim.contoso.com"}) \
        .get_json()["totalResults"] == 0
    created = scim.post("/scim/Users", USER, headers={"Host": "scim.contoso.com"})
    assert created.headers["Location"].startswith("http://scim.contoso.com/scim/Users/")


def test_trusted_hosts_from_the_environment_may_be_comma_separated(monkeypatch, tmp_path):
    monkeypatch.setenv("SCIM_APPLIANCE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SCIM_APPLIANCE_TRUSTED_HOSTS", "scim.contoso.com, .contoso.net")
    assert create_app().config["TRUSTED_HOSTS"] == ["scim.contoso.com", ".contoso.net"]


def test_forwarded_headers_are_ignored_by_default(build):
    app, scim = build()
    resp = scim.post("/scim/Users", USER, headers=FORWARDED)
    assert resp.headers["Location"].startswith("http://localhost/scim/Users/")
    assert clients(app) == ["127.0.0.1"]


def test_one_trusted_proxy_gives_the_real_client_scheme_and_host(build):
    app, scim = build(TRUSTED_PROXIES=1)
    resp = scim.post("/scim/Users", USER, headers=FORWARDED)
    assert resp.headers["Location"].startswith("https://scim.contoso.com/scim/Users/")
    # The proxy appended 203.0.113.7; 198.51.100.66 is what the client claimed itself.
    assert clients(app) == ["203.0.113.7"]


def test_two_trusted_proxies_take_two_hops(build):
    app, scim = build(TRUSTED_PROXIES=2)
    scim.get("/scim/Users", headers=FORWARDED)
    assert clients(app) == ["198.51.100.66"]


def test_a_forwarded_host_is_still_checked_against_trusted_hosts(build):
    _, scim = build(TRUSTED_PROXIES=1, TRUSTED_HOSTS=["scim.contoso.com"])
    resp = scim.get("/scim/Users", headers={**FORWARDED, "X-Forwarded-Host": "evil.example"})
    assert resp.status_code == 400
