"""`scim-appliance names …`: the name rules from the operator's side (issue 4).

* `names check FILE` — dry run: what each name in a CSV/JSON file would become.
* `names adjustments` — every name the appliance changed on its way downstream.
* `names presets` — the presets and their rules.

Like every command, failures are one line on stderr and exit status 1.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import inspect

from ..domain.clock import to_rfc3339
from ..domain.display import safe_json, safe_text
from ..domain.names.check import check_names, format_json, format_text, read_entries
from ..domain.names.derived import list_adjustments
from ..domain.names.policy import build_rules, rules_from_config
from ..domain.names.rules import FIELDS, GROUP_NAME, MODES, PRESETS, USER_NAME, preset_rule
from ..storage.extensions import db
from .common import one_line_errors


@click.group("names")
def names_group():
    """Name rules: dry run, adjustments, presets."""


@names_group.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--preset", type=click.Choice(list(PRESETS)), default=None,
              help="Preset to apply (default: NAME_RULES_PRESET).")
@click.option("--mode", type=click.Choice(list(MODES)), default=None,
              help="sanitize or reject (default: NAME_RULES_MODE).")
@click.option("--field", type=click.Choice(list(FIELDS)), default=USER_NAME,
              show_default=True, help="userName (users) or group (group displayName).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
@one_line_errors
def names_check(file, preset, mode, field, as_json):
    """Print what each name in FILE would become; exit 1 if any would be refused.

    FILE is CSV (a userName / userPrincipalName / displayName column, else the first
    column) or JSON (a list of names or objects, or a SCIM ListResponse).
    """
    config = current_app.config
    if preset is None and mode is None:
        rules = rules_from_config(config)
    else:
        rules = build_rules(preset or config.get("NAME_RULES_PRESET") or "cloudsso",
                            mode or config.get("NAME_RULES_MODE") or "sanitize",
                            None if preset else config.get("NAME_RULES_OVERRIDES"))
    policy = rules.policy(field)
    results = check_names(read_entries(file, field), policy)
    click.echo(format_json(results, policy) if as_json else format_text(results, policy))
    if any(r.refused for r in results):
        raise SystemExit(1)


@names_group.command("adjustments")
@click.option("--limit", type=click.IntRange(min=0), default=100, show_default=True,
              help="Newest first; 0 lists all.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one array).")
@with_appcontext
@one_line_errors
def names_adjustments(limit, as_json):
    """Names the appliance changed (original -> derived), newest first."""
    if not inspect(db.engine).has_table("name_adjustments"):
        raise click.ClickException("the database has no name_adjustments table; run "
                                   "'scim-appliance init' first")
    rows = list_adjustments(db.session, limit or None)
    items = [{"at": to_rfc3339(r.at), "resourceType": r.resource_type, "id": r.resource_id,
              "field": r.field, "original": r.original, "derived": r.derived,
              "reason": r.reason, "preset": r.preset} for r in rows]
    if as_json:
        click.echo(safe_json(items))
        return
    if not items:
        click.echo("no adjustments")
    for i in items:
        click.echo(safe_text(f"{i['at']}  {i['resourceType']:<5} {i['id']}  {i['field']}: "
                             f"\"{i['original']}\" -> \"{i['derived']}\"  "
                             f"[{i['reason']}, {i['preset']}]"))


@names_group.command("presets")
@one_line_errors
def names_presets():
    """The presets, with each field's rule and the Entra expression that meets it."""
    for name in PRESETS:
        click.echo(name)
        for field in (USER_NAME, GROUP_NAME):
            rule = preset_rule(name, field)
            click.echo(f"  {field:<9} {rule.pattern}  {rule.description}")
            if rule.entra_expression():
                click.echo(f"  {'':<9} Entra: {rule.entra_expression()}")


def register(app: Flask) -> None:
    """Add the `names` commands and check the name-rules settings at start-up, so a
    typo in NAME_RULES_* fails `serve` with its message rather than every write."""
    try:
        rules_from_config(app.config)
    except ValueError as exc:
        # A ClickException: the CLI prints it as one line, like every failure.
        raise click.ClickException(f"invalid name-rules configuration: {exc}") from None
    app.cli.add_command(names_group)
