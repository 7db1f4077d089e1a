"""The operator console: server-rendered pages at `/` over the same domain functions
as the CLI (sign-in, dashboard, SCIM settings, users, groups, log, names, notifications,
migration, administrators). Imports `domain` and `storage`; never `cli` or `scim`.

Adding a page: a module in `pages/` that attaches its routes to `blueprint.bp` (import
it in `pages/__init__.py`), a template `templates/console/<page>.html` extending
`base.html`, and, for a navigation entry, a line in `blueprint.NAV`. Every POST is
CSRF-checked and needs a signed-in administrator before the view runs; a view that
changes something records it with `audit.record(db.session, actor(), ...)`.
"""

from __future__ import annotations

from flask import Flask


def register_console(app: Flask) -> None:
    from . import auth, pages  # noqa: F401  (attach routes to the blueprint)
    from .blueprint import bp, csrf

    auth.init_app(app)
    csrf.init_app(app)
    app.register_blueprint(bp)
