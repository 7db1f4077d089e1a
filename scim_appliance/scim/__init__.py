"""The SCIM HTTP edge: the blueprint under /scim and /scim/v2, auth, content types, error
rendering and thin routes over `domain`. It never imports `cli`, `server` or a console.
"""

from __future__ import annotations

from flask import Flask

from . import discovery, groups, root_search, users  # noqa: F401  (attach routes to the blueprint)
from .blueprint import PREFIXES, bp
from .http import register_error_handlers


def register_scim(app: Flask) -> None:
    for name, prefix in PREFIXES.items():
        app.register_blueprint(bp, url_prefix=prefix, name=name)
    register_error_handlers(app)
