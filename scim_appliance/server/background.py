"""The server process's background work: the log writer, the failure-email worker,
the webhook delivery worker and the silence alarm.

`serve` starts it before waitress and stops it after: the worker thread calls
`Notifier.run_once` every few seconds (it decides whether a digest is due), so no SCIM
request ever waits for SMTP. Every process delivers webhooks (`DeliveryWorker.run_once`
twice a second; database leases keep them from sending one delivery twice); the
process that mails also watches for Entra's silence. Stopping flushes the
provisioning-log queue.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from ..domain.events.endpoints import list_endpoints
from ..domain.events.silence import SilenceMonitor
from ..domain.events.worker import DeliveryWorker
from ..domain.notify.mailer import SmtpSettings
from ..domain.notify.notifier import Notifier
from ..domain.notify.seats import SeatWatch
from ..storage.database import Lease
from ..storage.extensions import db
from .log_writer import log_writer

log = logging.getLogger(__name__)


NOTIFY_LEASE = "scim_appliance.notify"


class NotifyWorker(threading.Thread):
    """Drives a Notifier until stopped; every error is logged and the loop goes on.

    Only where the database lease is held (storage/database.py `Lease`): several nodes
    on one PostgreSQL database then send each digest once, from one node, and keep to
    one digest per window between them; when that node goes, another takes over."""

    def __init__(self, notifier: Notifier, tick: float, lease: Lease | None = None,
                 seats: SeatWatch | None = None):
        super().__init__(daemon=True, name="scim-notify")
        self.notifier = notifier
        self.seats = seats
        self.tick = tick
        self.lease = lease
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self.tick):
            try:
                if self.lease is None or self.lease.held():
                    self.notifier.run_once()
                    if self.seats is not None:
                        self.seats.run_once()
            except Exception:  # noqa: BLE001 - the worker must outlive a bad moment
                log.exception("failure-email worker: unexpected error")

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self.join(timeout)
        if self.lease is not None:
            self.lease.release()


class Ticker(threading.Thread):
    """Calls `work()` every `tick` seconds until stopped; errors are logged, not fatal."""

    def __init__(self, name: str, work, tick: float):
        super().__init__(daemon=True, name=name)
        self.work = work
        self.tick = tick
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self.tick):
            try:
                self.work()
            except Exception:  # noqa: BLE001 - the worker must outlive a bad moment
                log.exception("%s: unexpected error", self.name)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self.join(timeout)


class Background:
    def __init__(self, app: Flask, worker: NotifyWorker | None,
                 settings: SmtpSettings | None, tickers: list[Ticker] | None = None):
        self.app = app
        self.worker = worker
        self.settings = settings
        self.tickers = tickers or []

    def describe(self) -> str:
        """One line for the serve banner."""
        if self.settings is None:
            return "Failure email: off (set SMTP_HOST and NOTIFY_TO to turn it on)"
        window = self.app.config.get("NOTIFY_DIGEST_SECONDS")
        return (f"Failure email: on, to {', '.join(self.settings.recipients)} via "
                f"{self.settings.describe()}, at most one digest every {window} s")

    def describe_events(self) -> str:
        """One line for the serve banner: webhooks and the silence alarm."""
        with self.app.app_context():
            count = len(list_endpoints(db.session))
            db.session.remove()
        minutes = self.app.config.get("SILENCE_ALERT_MINUTES") or 0
        silence = f"alarm after {minutes:g} min without a call" if minutes else "alarm off"
        hooks = (f"{count} webhook endpoint{'s' * (count != 1)}" if count else
                 "no webhook endpoints ('scim-appliance webhooks add URL')")
        return f"Events: {hooks}; silence {silence}"

    def stop(self) -> None:
        for ticker in self.tickers:
            ticker.stop()
        if self.worker is not None:
            self.worker.stop()
        writer = log_writer(self.app)
        if not writer.flush(timeout=10):
            log.warning("provisioning log entries still queued at shutdown were lost")
        writer.prune_lease.release()


def prepare(app: Flask) -> SmtpSettings | None:
    """Read the SMTP settings (ValueError when bad) before any worker process starts."""
    return SmtpSettings.from_config(app.config)


def start(app: Flask, instance: str, notify: bool = True) -> Background:
    """Create missing log tables, the log writer and (when configured and `notify`)
    the failure-email worker; with several worker processes only one notifies, and
    with several nodes only the one holding the database lease.

    Raises ValueError for a bad SMTP_SECURITY, so `serve` refuses to start with it.
    """
    settings = prepare(app)
    with app.app_context():
        engine = db.engine
    log_writer(app)
    worker = None
    if settings is not None and notify:
        window = float(app.config.get("NOTIFY_DIGEST_SECONDS") or 300)
        notifier = Notifier(engine, settings, window_seconds=window, instance=instance)
        cap = int(app.config.get("MAX_ACTIVE_USERS") or 0)
        seats = SeatWatch(engine, settings, cap, instance=instance) if cap else None
        worker = NotifyWorker(notifier, tick=max(0.2, min(5.0, window / 4)),
                              lease=Lease(engine, NOTIFY_LEASE), seats=seats)
        worker.start()
    tickers = [Ticker("scim-webhooks", delivery_worker(app, engine).run_once, 0.5)]
    if notify:
        monitor = SilenceMonitor(engine, minutes=app.config.get("SILENCE_ALERT_MINUTES") or 0,
                                 settings=settings, instance=instance)
        tickers.append(Ticker("scim-silence", monitor.run_once, 15.0))
    for ticker in tickers:
        ticker.start()
    return Background(app, worker, settings, tickers)


def delivery_worker(app: Flask, engine) -> DeliveryWorker:
    """The webhook delivery worker with this app's settings."""
    config = app.config
    return DeliveryWorker(engine, retry_hours=float(config.get("WEBHOOK_RETRY_HOURS") or 0),
                          timeout=float(config.get("WEBHOOK_TIMEOUT_SECONDS") or 10),
                          keep_days=float(config.get("WEBHOOK_KEEP_DAYS") or 7))
