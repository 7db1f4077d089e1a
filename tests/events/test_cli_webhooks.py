"""`scim-appliance webhooks …` (cli/webhooks.py): the same domain functions as the rest."""

from __future__ import annotations

import pytest

from scim_appliance.domain.events.worker import DeliveryWorker
from scim_appliance.storage.extensions import db

from ..conftest import make_user
from ..hostile_text import STORABLE, assert_shown_safely
from .receiver import Receiver


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=["webhooks", *args])


@pytest.fixture
def receiver():
    rx = Receiver().start()
    yield rx
    rx.stop()


def drain(app):
    with app.app_context():
        worker = DeliveryWorker(db.engine, timeout=2)
    while worker.run_once():
        pass


def test_add_prints_the_id_and_the_secret_alone_on_the_last_line(app, scim, receiver):
    result = invoke(app, "add", receiver.url, "--events", "user.created,group.*")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    secret = lines[-1]
    assert secret.startswith("whsec_") and " " not in secret
    endpoint_id = lines[0].split()[2]
    assert endpoint_id.startswith("ep_")
    listed = invoke(app, "list").stdout
    assert endpoint_id in listed and "user.created, group.*" in listed
    receiver.secrets.append(secret)
    tested = invoke(app, "test", endpoint_id)
    assert tested.exit_code == 0 and "HTTP 204" in tested.stdout
    assert receiver.payloads()[0]["type"] == "webhook.test"
    make_user(scim)
    drain(app)
    assert [p["type"] for p in receiver.payloads()] == ["webhook.test", "user.created"]
    deliveries = invoke(app, "deliveries").stdout
    assert "user.created" in deliveries and "delivered" in deliveries
    event_id = receiver.payloads()[1]["id"]
    assert "1 delivery pending again" in invoke(app, "redeliver", event_id).stdout
    drain(app)
    assert [p["id"] for p in receiver.payloads()][-1] == event_id
    rotated = invoke(app, "rotate-secret", endpoint_id).stdout.splitlines()
    assert rotated[-1].startswith("whsec_") and rotated[-1] != secret
    assert "previous secret signs until" in invoke(app, "list").stdout
    assert invoke(app, "remove", endpoint_id).exit_code == 0
    assert "No webhook endpoints" in invoke(app, "list").stdout


def test_refusals_are_one_line(app):
    for args, words in [(("add", "ftp://example.com/x"), "only http"),
                        (("add", "https://u:p@example.com/"), "credentials"),
                        (("add", "https://example.com/", "--events", "user.create"),
                         "unknown event type"),
                        (("remove", "ep_nope"), "no webhook endpoint"),
                        (("redeliver",), "name one EVENT_ID"),
                        (("redeliver", "evt_nope"), "no event")]:
        result = invoke(app, *args)
        assert result.exit_code == 1, args
        assert words in result.output and "Traceback" not in result.output


def test_a_failing_test_ping_says_why(app):
    added = invoke(app, "add", "http://127.0.0.1:9/down").stdout.splitlines()[0].split()[2]
    result = invoke(app, "test", added)
    assert result.exit_code == 1 and "failed" in result.output


def test_receiver_words_are_neutralised(app, scim, receiver):
    """A receiver's error text is shown through display.safe_text."""
    invoke(app, "add", receiver.url)
    receiver.mode, receiver.fail_body = "fail", STORABLE.encode()
    make_user(scim)
    drain(app)
    shown = invoke(app, "deliveries").stdout
    assert "HTTP 500: mallory" in shown
    assert_shown_safely(shown)
