"""A real SMTP server for tests: aiosmtpd on a loopback port, keeping what it receives.

Options mirror what mail servers demand: STARTTLS required, implicit TLS, AUTH
required (with TLS), and misbehaviour on DATA (refuse, or drop the connection after
the message arrived) to exercise the sender's exactly-once logic.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import ssl
import subprocess
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from .appliance_server import free_port


class _Handler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        mode = self.sink.data_mode
        if mode == "refuse":
            return "451 4.3.0 try again later"
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append((list(envelope.rcpt_tos), message))
        if mode == "drop":
            # The message arrived, but the client never hears the 250.
            server.transport.close()
            return "250 OK"
        return "250 OK"


class SmtpSink:
    def __init__(self, port: int | None = None, *, starttls: bool = False,
                 implicit_tls: bool = False, credentials: tuple[str, str] | None = None,
                 cert: tuple[Path, Path] | None = None):
        self.port = port or free_port()
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()
        self.data_mode = "accept"
        self.logins: list[str] = []
        kwargs: dict = {}
        context = None
        if starttls or implicit_tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(cert[0]), str(cert[1]))
        if starttls:
            kwargs.update(tls_context=context, require_starttls=True)
        if credentials:
            # aiosmtpd only counts STARTTLS as TLS; implicit TLS is TLS from the start.
            kwargs.update(authenticator=self._authenticator(credentials), auth_required=True,
                          auth_require_tls=starttls)
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                     ssl_context=context if implicit_tls else None,
                                     **kwargs)

    def _authenticator(self, credentials):
        def check(_server, _session, _envelope, mechanism, data):
            ok = isinstance(data, LoginPassword) and \
                (data.login.decode(), data.password.decode()) == credentials
            if ok:
                self.logins.append(data.login.decode())
            return AuthResult(success=ok, handled=False)

        return check

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def received(self) -> list[EmailMessage]:
        with self.lock:
            return [m for _, m in self.messages]


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60)
    return cert, key


def body_of(message: EmailMessage) -> str:
    return message.get_content().replace("\r\n", "\n")


def text_of(message: EmailMessage) -> str:
    """The body with line wrapping undone, for phrases that may span lines."""
    return " ".join(body_of(message).split())
