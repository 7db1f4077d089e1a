"""Send one email through a real SMTP conversation (stdlib smtplib, ssl, email).

The conversation is split at the one moment that matters for "never mailed twice":
after the server has said `354` to DATA and before the message's terminating dot is
sent. Until then nothing can have been delivered, so any failure is `MailNotSent` and
the caller may retry. Just before the dot the caller's `commit_point` runs (the
notifier claims the failures in the database there; if it raises, the connection is
dropped without the dot and the server discards the message, RFC 5321 §4.1.1.4).
After the dot, a 2xx reply is success, any other reply is `MailRejected` (the server
said it did not take the message), and a lost connection or timeout is
`MailOutcomeUnknown`: the message may or may not have been accepted.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

SECURITY_MODES = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


class MailError(Exception):
    """Sending failed; `str()` is one line for the operator, never the password."""


class MailNotSent(MailError):
    """Failed before the message was handed over; nothing was delivered."""


class MailRejected(MailError):
    """The server answered the message's end with an error; it did not take it."""


class MailOutcomeUnknown(MailError):
    """The message was handed over but the server's answer never arrived."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    username: str | None
    password: str | None = field(repr=False)  # never in logs or tracebacks
    sender: str
    recipients: tuple[str, ...]
    timeout: float = 30.0
    ca_file: str | None = None
    # Log in over a connection without TLS (SMTP_ALLOW_PLAINTEXT_LOGIN); off, the
    # password is only ever sent inside TLS.
    allow_plaintext_login: bool = False

    @classmethod
    def from_config(cls, config) -> SmtpSettings | None:
        """Settings from the app config, or None while notifications are off.

        Off until both SMTP_HOST and NOTIFY_TO are set. Raises ValueError for a bad
        SMTP_SECURITY so a typo is reported rather than silently sending in clear.
        """
        host = config.get("SMTP_HOST")
        recipients = _recipients(config.get("NOTIFY_TO"))
        if not host or not recipients:
            return None
        security = str(config.get("SMTP_SECURITY") or "starttls").lower()
        if security not in SECURITY_MODES:
            raise ValueError(f"SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}, "
                             f"not {security!r}")
        sender = config.get("NOTIFY_FROM") or f"scim-appliance@{socket.getfqdn()}"
        return cls(host=str(host), port=int(config.get("SMTP_PORT") or DEFAULT_PORTS[security]),
                   security=security, username=config.get("SMTP_USERNAME") or None,
                   password=config.get("SMTP_PASSWORD") or None, sender=str(sender),
                   recipients=recipients, timeout=float(config.get("SMTP_TIMEOUT") or 30),
                   ca_file=config.get("SMTP_CA_FILE") or None,
                   allow_plaintext_login=_flag(config.get("SMTP_ALLOW_PLAINTEXT_LOGIN")))

    def describe(self) -> str:
        return f"{self.host}:{self.port} ({self.security})"


def notifications_configured(config) -> bool:
    """Failure email is on once SMTP_HOST and NOTIFY_TO are both set."""
    return bool(config.get("SMTP_HOST") and _recipients(config.get("NOTIFY_TO")))


def _flag(value) -> bool:
    """A yes/no setting; from the environment it may arrive as the string "False"."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class PlaintextLoginRefused(smtplib.SMTPException):
    """The login would send the password over a connection without TLS."""


def _recipients(value) -> tuple[str, ...]:
    if not value:
        return ()
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return tuple(a.strip() for a in items if str(a).strip())


def new_message(settings: SmtpSettings, subject: str, body: str) -> EmailMessage:
    """A plain-text message from the configured sender to the configured recipients."""
    from email.utils import formatdate, make_msgid

    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.recipients)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    # RFC 3834: no auto-replies or vacation notices back to the appliance.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body, cte="quoted-printable")
    return msg


def send_message(settings: SmtpSettings, msg: EmailMessage,
                 commit_point: Callable[[], None] | None = None) -> list[str]:
    """Send `msg`; returns the recipients the server accepted. See the module docstring."""
    payload = _data_payload(msg)
    try:
        smtp = _connect(settings)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailNotSent(describe_error(exc, settings)) from None
    try:
        accepted = _envelope(smtp, settings)
        code, reply = smtp.docmd("DATA")
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
    except (smtplib.SMTPException, OSError) as exc:
        _abandon(smtp)
        raise MailNotSent(describe_error(exc, settings)) from None
    if commit_point is not None:
        try:
            commit_point()
        except BaseException:
            _abandon(smtp)  # no terminating dot: the server discards the message
            raise
    try:
        smtp.send(payload)
        code, reply = smtp.getreply()
    except (smtplib.SMTPException, OSError) as exc:
        _abandon(smtp)
        raise MailOutcomeUnknown(describe_error(exc, settings)) from None
    _quit(smtp)
    if not 200 <= code < 300:
        raise MailRejected(f"{settings.describe()} refused the message: {code} "
                           f"{_text(reply)}")
    return accepted


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=settings.ca_file)
    if settings.security == "ssl":
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        smtp.ehlo()
        if settings.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.username:
            # AUTH PLAIN/LOGIN is the password in base64: only inside TLS, whatever
            # the mode says, unless the operator allowed it (RFC 4954 §4).
            if not isinstance(smtp.sock, ssl.SSLSocket) and not settings.allow_plaintext_login:
                raise PlaintextLoginRefused(
                    "refusing to send the SMTP password without TLS; set SMTP_SECURITY "
                    "to starttls or ssl, or SMTP_ALLOW_PLAINTEXT_LOGIN=true for a relay "
                    "on this host")
            smtp.login(settings.username, settings.password or "")
    except BaseException:
        _abandon(smtp)
        raise
    return smtp


def _envelope(smtp: smtplib.SMTP, settings: SmtpSettings) -> list[str]:
    code, reply = smtp.mail(settings.sender)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, settings.sender)
    accepted, refused = [], {}
    for rcpt in settings.recipients:
        code, reply = smtp.rcpt(rcpt)
        if code in (250, 251):
            accepted.append(rcpt)
        else:
            refused[rcpt] = (code, reply)
    if not accepted:
        raise smtplib.SMTPRecipientsRefused(refused)
    return accepted


def _data_payload(msg: EmailMessage) -> bytes:
    """The DATA section as smtplib.SMTP.data would send it: CRLF, dot-stuffed, ended."""
    data = msg.as_bytes(policy=SMTP_POLICY)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _abandon(smtp: smtplib.SMTP) -> None:
    # close(), not quit(): inside DATA a QUIT would become part of the message.
    try:
        smtp.close()
    except OSError:
        pass


def _text(reply) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


def describe_error(exc: BaseException, settings: SmtpSettings) -> str:
    """One line naming the server and what went wrong (never the password)."""
    where = settings.describe()
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"{where} refused the login for {settings.username!r}: {exc.smtp_code} " \
               f"{_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{r}: {c} {_text(m)}" for r, (c, m) in exc.recipients.items())
        return f"{where} refused every recipient ({refused})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{where} answered {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"{where}: TLS certificate not trusted ({exc.verify_message}); set " \
               "SMTP_CA_FILE to the CA that signed it"
    if isinstance(exc, smtplib.SMTPNotSupportedError | PlaintextLoginRefused):
        return f"{where}: {exc}"
    if isinstance(exc, ConnectionRefusedError):
        return f"cannot connect to {where}: connection refused"
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"{where} did not answer within {settings.timeout:g} s"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve SMTP_HOST {settings.host!r}: {exc.strerror}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{where}: {type(exc).__name__}: {text}"
