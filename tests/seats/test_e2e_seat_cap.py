"""End to end: a served appliance with MAX_ACTIVE_USERS refuses the seat beyond it over
HTTP, and its own worker mails the 90% warning and the first refusal to a real SMTP
server."""

from __future__ import annotations

import pytest

from tests.appliance_server import RunningAppliance
from tests.e2e.test_e2e_provisioning_log import wait_for
from tests.smtp_sink import SmtpSink


@pytest.fixture
def sink():
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
def server(tmp_path, sink):
    appliance = RunningAppliance(tmp_path / "instance", env={
        "SCIM_APPLIANCE_SMTP_HOST": "127.0.0.1", "SCIM_APPLIANCE_SMTP_PORT": str(sink.port),
        "SCIM_APPLIANCE_SMTP_SECURITY": "none", "SCIM_APPLIANCE_NOTIFY_TO": "admin@contoso.com",
        "SCIM_APPLIANCE_NOTIFY_DIGEST_SECONDS": "1", "SCIM_APPLIANCE_MAX_ACTIVE_USERS": "3",
    }).start()
    yield appliance
    appliance.stop()


def _subjects(sink, needle):
    return [m["Subject"] for m in sink.received() if needle in m["Subject"]]


def test_the_cap_refuses_over_http_and_mails_the_warning_and_the_refusal(server, sink):
    http = server.session()
    for n in range(3):
        resp = http.post(f"{server.base}/scim/Users",
                         json={"userName": f"u{n}@contoso.com", "active": True})
        assert resp.status_code == 201, resp.text
    assert wait_for(lambda: _subjects(sink, "seats taken"))
    refused = http.post(f"{server.base}/scim/Users",
                        json={"userName": "u3@contoso.com", "active": True})
    assert refused.status_code == 403
    assert "MAX_ACTIVE_USERS is 3" in refused.json()["detail"]
    assert wait_for(lambda: _subjects(sink, "Seat cap reached"))
    assert len(_subjects(sink, "seats taken")) == 1
    assert len(_subjects(sink, "Seat cap reached")) == 1
