"""Fixtures for the failure-email tests: a real SMTP server and an app that mails it."""

from __future__ import annotations

import pytest

from tests.notify.test_notifications import smtp_config
from tests.smtp_sink import SmtpSink


@pytest.fixture
def sink():
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(app, sink):
    app.config.update(smtp_config(sink.port))
    return app
