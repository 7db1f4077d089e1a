"""POST /.search at the SCIM root (RFC 7644 §3.4.3): Users and Groups in one ListResponse.

Each resource is rendered as its own endpoint renders it (users with their groups,
groups with their members unless excluded), with that type's attributes projection.
"""

from __future__ import annotations

from flask import current_app

from ..domain.query.root_search import parse_root_search, run_root_search
from ..storage.extensions import db
from . import groups, users
from . import resources as r
from .blueprint import base_url, bp
from .http import read_json

_RENDERERS = (("User", users.render_list), ("Group", groups.render_list))


@bp.post("/.search")
def search_root():
    query = parse_root_search(read_json(), current_app.config["SCIM_MAX_RESULTS"])
    total, page = run_root_search(db.session, query, db.engine.dialect.name)
    base = base_url()
    rendered = {}
    for name, render in _RENDERERS:
        rows = [row for kind, row in page if kind == name]
        for row, body in zip(rows, render(rows, query.projections[name], base), strict=True):
            rendered[(name, row.id)] = body
    return r.list_response(query, total, [rendered[(kind, row.id)] for kind, row in page])
