"""What the CLI's commands share: one-line errors, the readiness check, the Tenant URL.

Command modules import from here and never from one another.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError

from ..domain.access.endpoint import https_advice  # noqa: F401  (the commands' import)
from ..domain.access.endpoint import tenant_url as _tenant_url
from ..domain.clock import to_rfc3339
from ..domain.display import safe_text
from ..server.serve_lock import ServeLock
from ..storage import backup as backups
from ..storage import migrations
from ..storage.database import write_intent
from ..storage.extensions import db


def one_line_errors(func):
    """Turn any failure into `Error: <one line>` and exit status 1.

    Messages often quote outside values (an SMTP server's reply, a name in a file), so
    they are neutralised (domain/display.py): one line, no terminal escapes."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            # CLI commands read then write; BEGIN IMMEDIATE makes them wait for a
            # concurrent writer (the running server) instead of failing as locked.
            with write_intent():
                return func(*args, **kwargs)
        except click.ClickException as exc:
            exc.message = safe_text(exc.message)
            raise
        except (migrations.SchemaError, backups.BackupError, backups.BackupUnsupported) as exc:
            raise click.ClickException(safe_text(str(exc))) from None
        except BrokenPipeError:
            # The reader went away (`| head`): nothing to report, and stdout must not
            # be flushed into the closed pipe again at exit (Python's own advice).
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(1) from None
        except SQLAlchemyError as exc:
            raise click.ClickException(safe_text(
                f"database error: {str(getattr(exc, 'orig', exc)).splitlines()[0]}")) from None
        except Exception as exc:  # noqa: BLE001 - the contract is one line, no traceback
            raise click.ClickException(safe_text(f"{type(exc).__name__}: {exc}")) from None

    return wrapper


def ready() -> None:
    """Refuse to work on an instance that `init` has not prepared, or whose schema is not
    this release's (`db upgrade` brings it there)."""
    if not current_app.config.get("SECRET_KEY"):
        raise click.ClickException("no SECRET_KEY configured; run 'scim-appliance init' first")
    state = migrations.engine_status(db.engine)
    if state.shape == migrations.EMPTY:
        raise click.ClickException("the database is not initialised; run 'scim-appliance "
                                   "init' first")
    if not state.at_head:
        raise click.ClickException(f"the database schema is {state.describe()}")


def backup_folder(app: Flask) -> Path:
    """Where the appliance keeps the backups it takes: instance/backups/."""
    return Path(app.instance_path) / backups.BACKUP_DIR


def automatic_backup(app: Flask, reason: str) -> Path:
    """A backup before the appliance changes the database itself (BACKUP_KEEP kept)."""
    return backups.automatic_backup(db.engine, backup_folder(app), reason,
                                    int(app.config.get("BACKUP_KEEP") or 0))


def tenant_url(app: Flask, host: str | None = None, port: int | None = None) -> str:
    """The SCIM base URL Entra is given: PUBLIC_URL when set, else the address `serve`
    listens on (the running one's, when it was started with other --host/--port)."""
    public = app.config.get("PUBLIC_URL")
    if public:
        return _tenant_url(public, "")
    if host is None and port is None:
        running = ServeLock(app.instance_path).serving_address()
        if running is not None:
            host, port = running
    return _tenant_url(None, f"http://{host or app.config['HOST']}:{port or app.config['PORT']}")


def when(value) -> str:
    """A timestamp for people, or "never"."""
    return to_rfc3339(value) if value else "never"


