"""`scim-appliance admin create|list|reset-password|delete`: who may sign in to the
operator console. The console's Administrators page calls the same functions
(domain/admins/administrators.py); every change is in the audit trail as `cli`.
"""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import with_appcontext

from ..domain.admins import administrators
from ..domain.admins.audit import CLI, Actor
from ..domain.display import safe_text
from ..storage.extensions import db
from .common import one_line_errors, ready, when

_STDIN_HELP = "Read the password from the first line of standard input (for scripts)."


def _password(from_stdin: bool) -> str:
    """From stdin with --password-stdin, else a prompt (twice) on a terminal; never an
    argument, which other users could read in the process list."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise click.ClickException("no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise click.ClickException("standard input is not a terminal: pass --password-stdin "
                                   "and write the password to it")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _actor() -> Actor:
    return Actor(CLI, CLI)


@click.group("admin")
def admin_group():
    """Administrators of the operator console (there is no default account)."""


@admin_group.command("create")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help=_STDIN_HELP)
@with_appcontext
@one_line_errors
def admin_create(name, password_stdin):
    """Create an administrator who can sign in to the console."""
    ready()
    try:
        admin = administrators.create_admin(db.session, name, _password(password_stdin),
                                            _actor())
    except administrators.AdminError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(safe_text(f"Administrator {admin.name} created; sign in at the appliance's "
                         "address in a browser."))


@admin_group.command("list")
@with_appcontext
@one_line_errors
def admin_list():
    """Name, created, last sign-in."""
    ready()
    admins = administrators.list_admins(db.session)
    if not admins:
        click.echo("No administrator yet: 'scim-appliance admin create NAME' makes one.")
    for admin in admins:
        click.echo(safe_text(f"{admin.name}  created {when(admin.created_at)}  "
                             f"last sign-in {when(admin.last_sign_in_at)}"))


@admin_group.command("reset-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help=_STDIN_HELP)
@with_appcontext
@one_line_errors
def admin_reset_password(name, password_stdin):
    """Set a new password; the administrator's console sessions end at once."""
    ready()
    try:
        admin = administrators.reset_password(db.session, name, _password(password_stdin),
                                              _actor())
    except administrators.AdminError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(safe_text(f"Password of {admin.name} changed; their sessions were ended."))


@admin_group.command("delete")
@click.argument("name")
@with_appcontext
@one_line_errors
def admin_delete(name):
    """Remove an administrator (never the last one) and end their sessions."""
    ready()
    try:
        administrators.delete_admin(db.session, name, _actor())
    except administrators.AdminError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(safe_text(f"Administrator {name.strip()} deleted."))


def register(app: Flask) -> None:
    app.cli.add_command(admin_group)
