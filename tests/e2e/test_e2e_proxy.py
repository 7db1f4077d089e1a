"""Behind a reverse proxy, over real waitress: TRUSTED_PROXIES=1 (issue 13, item 15).

waitress deletes X-Forwarded-* headers unless told they are trusted; with
TRUSTED_PROXIES set they must reach ProxyFix, and the log must name the client the
proxy saw, not the proxy and not what the client claimed.
"""

from __future__ import annotations

import json

from tests.appliance_server import RunningAppliance


def test_the_log_records_the_client_behind_the_proxy(tmp_path):
    server = RunningAppliance(tmp_path / "instance", env={
        "SCIM_APPLIANCE_TRUSTED_PROXIES": "1", "SCIM_APPLIANCE_PROCESSES": "1"}).start()
    try:
        # What nginx sends: the client's own claim, then the address it saw.
        created = server.session().post(
            f"{server.base}/scim/Users", json={"userName": "behind.proxy@contoso.com"},
            headers={"X-Forwarded-For": "198.51.100.66, 203.0.113.7",
                     "X-Forwarded-Proto": "https", "X-Forwarded-Host": "scim.contoso.com"})
        assert created.status_code == 201, created.text
        assert created.headers["Location"].startswith("https://scim.contoso.com/scim/Users/")
        request_id = created.headers["X-Request-Id"]
    finally:
        server.stop()  # the log writer stores what it still holds
    entries = json.loads(server.cli("log", "--json"))
    assert [e["client"] for e in entries if e["request_id"] == request_id] == ["203.0.113.7"]
