"""`scim-appliance serve`: waitress, one process per CPU, with the background work.

Its exit status tells a service manager whether a restart can help
(deploy/scim-appliance.service matches it):
- 0: stopped on SIGTERM or Ctrl-C;
- 1: a worker died, or a passing failure (the port still taken, a restore running):
  restart;
- 2: a wrong command line (click's usage error): do not restart;
- 78 (EX_CONFIG in sysexits.h): the instance is not usable as configured (no
  SECRET_KEY, the database not initialised or its schema not this release's, a
  non-loopback HOST without PUBLIC_URL, a bad setting): do not restart until an
  operator has fixed it.
"""

from __future__ import annotations

import os

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from ..domain.access import appliance
from ..domain.admins import administrators
from ..server.serve_lock import ServeLock
from ..storage.extensions import db
from .common import one_line_errors, ready, tenant_url

EXIT_CONFIG = 78


class NotConfigured(click.ClickException):
    """The instance cannot serve as configured; restarting will not change that."""

    exit_code = EXIT_CONFIG


@click.command("serve")
@click.option("--host", default=None, help="Address to bind (default: HOST config).")
@click.option("--port", type=int, default=None, help="Port to bind (default: PORT config).")
@click.option("--threads", type=int, default=None, help="Worker threads (default: THREADS).")
@click.option("--processes", type=int, default=None,
              help="Worker processes (default: PROCESSES; 0 = one per CPU, at most 4).")
@with_appcontext
@one_line_errors
def serve_command(host, port, threads, processes):
    """Serve the appliance with waitress."""
    from ..server import background, workers

    try:
        ready()
    except click.ClickException as exc:
        raise NotConfigured(exc.message) from None
    app = current_app._get_current_object()
    lock = ServeLock(app.instance_path)  # held until this process and its workers exit
    if not lock.hold_shared():
        raise click.ClickException(f"a restore or upgrade is running on {app.instance_path}; "
                                   "start the appliance once it has finished")
    host = app.config["HOST"] if host is None else host
    check_exposure(app.config, host)
    port = port or app.config["PORT"]
    lock.record_address(host, port)
    threads = threads or app.config["THREADS"]
    processes = _process_count(app.config["PROCESSES"] if processes is None else processes)
    url = tenant_url(app, host, port)
    click.echo(f"scim-appliance serving {url} "
               f"(SCIM sync {'enabled' if appliance.sync_enabled(db.session) else 'DISABLED'})")
    console = url.removesuffix("/scim") + "/"
    if administrators.count(db.session):
        click.echo(f"Operator console: {console}")
    else:
        click.echo(f"Operator console: {console} (no administrator yet: "
                   "'scim-appliance admin create NAME' makes one)")
    db.session.remove()
    try:
        background.prepare(app)  # a bad SMTP setting stops serve before it forks
    except ValueError as exc:
        raise NotConfigured(str(exc)) from None
    if processes == 1:
        _serve(app, host, port, threads, notify=True, banner=True)
        return
    sock = workers.listening_socket(host, port)
    db.engine.dispose()  # no pooled connection may cross the fork
    click.echo(f"{processes} worker processes, {threads} threads each")

    def serve_one(index: int) -> None:
        # One worker sends the failure email, so a digest is never built twice.
        _serve(app, host, port, threads, notify=index == 0, banner=index == 0, sock=sock)

    raise SystemExit(workers.run_workers(processes, serve_one))


def check_exposure(config, host: str) -> None:
    """Refuse a bind others can reach while links would be built from the Host header.

    Without PUBLIC_URL, `meta.location` and `Location` repeat the request's Host, so a
    client could make the appliance hand out links to a host of its choosing. On
    loopback only a local reverse proxy (which sets Host) or `make run` reaches it.
    """
    if config.get("PUBLIC_URL") or config.get("TRUSTED_HOSTS"):
        return
    from ..server.http_server import is_loopback

    if not is_loopback(host):
        raise NotConfigured(
            f"HOST {host!r} is not a loopback address: set PUBLIC_URL to the URL Entra "
            "uses (e.g. https://scim.example.com), or TRUSTED_HOSTS to the host names "
            "clients may send; without either, a client's Host header would be repeated "
            "in meta.location and Location")


def _process_count(value) -> int:
    count = int(value or 0)
    if count <= 0:
        count = min(4, os.cpu_count() or 1)
    from ..server.workers import can_fork

    return count if can_fork() else 1


def _serve(app: Flask, host: str, port: int, threads: int, *, notify: bool, banner: bool,
           sock=None) -> None:
    """One waitress server with its background work (log writer, failure email)."""
    import logging
    import signal

    from ..server import background, http_server, workers

    # The provisioning-log writer and the failure-email worker run beside waitress.
    # SIGTERM (systemd, docker stop) ends waitress like Ctrl-C does, so the log
    # entries still queued are written before the process exits.
    work = background.start(app, tenant_url(app, host, port), notify=notify)
    if banner:
        click.echo(work.describe())
        click.echo(work.describe_events())

    def _stop_on_sigterm(_signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    where = {"sockets": [sock]} if sock is not None else {"host": host, "port": port}
    logging.basicConfig()  # as waitress.serve does: its warnings and ours reach stderr
    try:
        server = http_server.create_server(app, threads=threads, **where)
        if sock is not None:
            workers.balance_accepts(server)  # one of several workers on this socket
        server.run()
    finally:
        work.stop()


