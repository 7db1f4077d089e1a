"""The SMTP password never crosses the network in clear unless allowed (issue 13, 17).

With SMTP_SECURITY=none, smtplib would send AUTH PLAIN/LOGIN (the password, base64)
over the open connection. The appliance logs in only over TLS, or when the operator
says so with SMTP_ALLOW_PLAINTEXT_LOGIN (a relay on the same host).
"""

from __future__ import annotations

import pytest

from scim_appliance.domain.notify.mailer import (
    MailNotSent,
    SmtpSettings,
    new_message,
    send_message,
)
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def sink():
    # A server that takes AUTH without TLS, as a careless relay would.
    server = SmtpSink(credentials=("scim", "s3cret")).start()
    yield server
    server.stop()


def settings(port: int, **extra) -> SmtpSettings:
    return SmtpSettings.from_config({
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_SECURITY": "none",
        "SMTP_USERNAME": "scim", "SMTP_PASSWORD": "s3cret", "SMTP_TIMEOUT": 5,
        "NOTIFY_FROM": "scim@contoso.com", "NOTIFY_TO": "admin@contoso.com", **extra})


def test_no_login_without_tls(sink):
    plain = settings(sink.port)
    with pytest.raises(MailNotSent) as refused:
        send_message(plain, new_message(plain, "hello", "body"))
    message = str(refused.value)
    assert message.startswith(f"127.0.0.1:{sink.port} (none): ")
    assert "SMTP_ALLOW_PLAINTEXT_LOGIN" in message and "s3cret" not in message
    assert sink.logins == [] and sink.received() == []


@pytest.mark.parametrize("allowed", [True, "true", "1"])
def test_login_in_clear_when_explicitly_allowed(sink, allowed):
    plain = settings(sink.port, SMTP_ALLOW_PLAINTEXT_LOGIN=allowed)
    assert send_message(plain, new_message(plain, "hello", "body")) == ["admin@contoso.com"]
    assert sink.logins == ["scim"] and len(sink.received()) == 1


@pytest.mark.parametrize("value", [False, None, "false", "False", "0", ""])
def test_anything_but_a_yes_keeps_it_refused(value):
    assert not settings(25, SMTP_ALLOW_PLAINTEXT_LOGIN=value).allow_plaintext_login
