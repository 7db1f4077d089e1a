"""`scim-appliance users …` and `groups …`: local accounts from the operator's side.

* `users import FILE.csv [--dry-run]` — create local users (and their groups).
* `users list` / `groups list` — id, name, email or member count, active, source;
  `--filter` takes a SCIM filter, `--source` narrows to `scim` or `local`.

Same contract as cli.py: one line on stderr and exit status 1 on failure.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from ..domain.accounts.local_accounts import (
    SOURCE_LABELS,
    SOURCES,
    import_users,
    list_groups,
    list_users,
    read_import_file,
)
from ..domain.display import safe_json, safe_text
from ..domain.names.policy import rules_from_config
from ..domain.protocol.errors import ScimError
from ..domain.protocol.schema import GROUP_TYPE, USER_TYPE
from ..domain.resources.seats import describe_usage
from ..storage.database import write_intent
from ..storage.extensions import db
from .common import one_line_errors, ready

_USER_FILTER = ('A SCIM filter over users, e.g. \'userName sw "j"\' or \'active eq false\' '
                '(RFC 7644 §3.4.2.2).')
_GROUP_FILTER = ('A SCIM filter over groups, e.g. \'displayName sw "Sales"\' or '
                 '\'members pr\' (RFC 7644 §3.4.2.2).')


@click.group("users")
def users_group():
    """Users: import local accounts, list."""


@click.group("groups")
def groups_group():
    """Groups: list."""


@users_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row, change nothing.")
@with_appcontext
@one_line_errors
def users_import(file, dry_run):
    """Create local users from a CSV file, all or nothing.

    Columns (header line, any order, any case): userName (required), email,
    givenName, familyName, displayName, active (true/false, default true),
    externalId, groups (group names separated by ';'; missing groups are created as
    local groups). Each row goes through the same validation and name rules as an
    Entra POST. If any row fails, every failing row is listed and nothing is imported.
    """
    ready()
    try:
        rows = read_import_file(file)
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    # One writer transaction (BEGIN IMMEDIATE), so the check and the writes see the
    # same database; SCIM writers wait for it, readers do not.
    with write_intent():
        try:
            report = import_users(db.session, rows, rules=rules_from_config(current_app.config))
            failed = report.errors
            if failed or dry_run:
                db.session.rollback()
            else:
                db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
    for row in failed:
        name = f" ({row.user_name})" if row.user_name else ""
        click.echo(safe_text(f"{file}:{row.line}{name}: {row.error}"), err=True)
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(report.rows)} rows failed; "
                                   "nothing was imported")
    verb = "Would import" if dry_run else "Imported"
    groups = (f", {_count(len(report.groups_created), 'new group')}"
              if report.groups_created else "")
    click.echo(f"{verb} {_count(report.created, 'local user')}{groups}, "
               f"{_count(report.memberships_added, 'group membership')}.")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _listing(fetch, filter_text, source, limit, rtype):
    try:
        return fetch(db.session, filter_text=filter_text, source=source, limit=limit,
                     dialect=db.engine.dialect.name)
    except ScimError as exc:
        detail = exc.detail
        if "unknown attribute" in detail:  # name what the operator can filter on
            names = ", ".join(a.name for a in rtype.core.attributes)
            detail += f"; {rtype.name} attributes: id, externalId, meta, {names}"
        raise click.ClickException(safe_text(detail)) from None


def _table(items: list[dict], columns: tuple[str, ...]) -> None:
    def text(item, col):
        value = item.get(col)
        if col == "source":
            return safe_text(SOURCE_LABELS.get(value, value))
        if isinstance(value, bool):
            return "yes" if value else "no"
        return "-" if value is None else safe_text(value)  # widths of what is shown

    cells = [[text(i, c) for c in columns] for i in items]
    widths = [max([len(c)] + [len(r[n]) for r in cells]) for n, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _list_options(filter_help: str):
    return lambda func: _with_list_options(func, filter_help)


def _with_list_options(func, filter_help: str):
    func = click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")(func)
    func = click.option("--limit", type=click.IntRange(min=0), default=0,
                        help="At most this many (default: all).")(func)
    func = click.option("--source", type=click.Choice(SOURCES), default=None,
                        help="Only accounts from SCIM Synchronization or local ones.")(func)
    return click.option("--filter", "filter_text", metavar="EXPR", help=filter_help)(func)


@users_group.command("list")
@_list_options(_USER_FILTER)
@with_appcontext
@one_line_errors
def users_list(filter_text, source, limit, as_json):
    """Users by userName: id, userName, email, active, source."""
    ready()
    items = _listing(list_users, filter_text, source, limit, USER_TYPE)
    if as_json:
        click.echo(safe_json(items, indent=1))
    elif not items:
        click.echo("No users.")
    else:
        _table(items, ("id", "userName", "email", "active", "source"))
    if not as_json:  # on stderr, so the table stays a table for whatever reads stdout
        click.echo(describe_usage(db.session, current_app.config.get("MAX_ACTIVE_USERS")),
                   err=True)


@groups_group.command("list")
@_list_options(_GROUP_FILTER)
@with_appcontext
@one_line_errors
def groups_list(filter_text, source, limit, as_json):
    """Groups by displayName: id, displayName, member count, source."""
    ready()
    items = _listing(list_groups, filter_text, source, limit, GROUP_TYPE)
    if as_json:
        click.echo(safe_json(items, indent=1))
    elif not items:
        click.echo("No groups.")
    else:
        _table(items, ("id", "displayName", "members", "source"))


def register(app: Flask) -> None:
    app.cli.add_command(users_group)
    app.cli.add_command(groups_group)

