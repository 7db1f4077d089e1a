"""The operator CLI, `scim-appliance` (a contract: scripts and monitoring depend on it).

Every command runs the same domain functions as the HTTP layer, in one transaction.
Failures are one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from .. import __version__


def register_commands(app: Flask) -> None:
    """Attach every command group to the app's CLI."""
    from . import accounts, admins, database, instance, log, migrate, names, serve, webhooks

    for command in (*instance.COMMANDS, *database.COMMANDS, serve.serve_command):
        app.cli.add_command(command)
    for module in (names, log, accounts, migrate, webhooks, admins):
        module.register(app)


def _create_app():
    """The app, or one line on stderr and exit 78 (EX_CONFIG) when instance/config.py or
    a SCIM_APPLIANCE_* variable is broken: a service manager must not restart `serve`
    into the same error (cli/serve.py lists the exit statuses)."""
    from .. import create_app
    from ..domain.display import safe_text
    from .serve import EXIT_CONFIG

    try:
        return create_app()
    except click.ClickException as exc:  # a setting the app refused, in its own words
        click.echo(safe_text(f"Error: {exc.message}"), err=True)
        raise SystemExit(EXIT_CONFIG) from None
    except Exception as exc:  # noqa: BLE001 - the contract is one line, no traceback
        click.echo(safe_text(f"Error: the configuration cannot be loaded: "
                             f"{type(exc).__name__}: {exc}"), err=True)
        raise SystemExit(EXIT_CONFIG) from None


class ApplianceGroup(FlaskGroup):
    """Flask's CLI group without its generic options: `--app`, `--env-file` and
    `--debug` pick another application or mode, which the appliance has no use for
    (its settings come from instance/config.py and SCIM_APPLIANCE_* variables)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params = [p for p in self.params if p.name not in ("app", "env_file", "debug")]


@click.group(cls=ApplianceGroup, create_app=_create_app, add_default_commands=False,
             add_version_option=False, load_dotenv=False, set_debug_flag=False)
@click.version_option(__version__, "--version", prog_name="scim-appliance",
                      message="%(prog)s %(version)s")
def main():
    """scim-appliance: a SCIM 2.0 endpoint for Microsoft Entra ID provisioning."""
