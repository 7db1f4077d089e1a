"""/Groups routes: parse, call the groups service, serialise."""

from __future__ import annotations

from flask import g, request

from ..domain.protocol.projection import apply_projection
from ..domain.protocol.schema import GROUP_TYPE
from ..domain.query.listing import run_list_query
from ..domain.query.mappings import GROUP_MAPPING
from ..domain.resources import groups as service
from ..domain.resources.representation import render_group
from ..storage.extensions import db
from ..storage.models import Group
from . import resources as r
from .blueprint import base_url, bp, commit_write
from .http import read_json

MEMBERS_ATTR = GROUP_TYPE.core.attribute("members")


def render_list(rows, projection, base) -> list[dict]:
    """Groups as SCIM JSON; member lists in one query, and only if the client sees them."""
    members = {}
    if rows and projection.wants(MEMBERS_ATTR):
        members = service.members_of_groups(db.session, [g.id for g in rows], base)
    return [apply_projection(render_group(g, base, members.get(g.id)), GROUP_TYPE, projection)
            for g in rows]


def _one(group, projection, status=200, headers=None):
    body = render_list([group], projection, base_url())[0]
    return r.resource_response(body, group, status, headers)


def _list(query):
    total, rows = run_list_query(db.session, query, GROUP_MAPPING, db.engine.dialect.name,
                                 g.get("reads"))
    return r.list_response(query, total, render_list(rows, query.projection, base_url()))


@bp.get("/Groups", strict_slashes=False)
def list_groups():
    return _list(r.list_query(GROUP_TYPE))


@bp.post("/Groups/.search")
def search_groups():
    return _list(r.search_query(GROUP_TYPE))


@bp.post("/Groups", strict_slashes=False)
def create_group():
    projection = r.projection(GROUP_TYPE)
    group = service.create_group(db.session, read_json(), rules=r.name_rules())
    commit_write()
    return _one(group, projection, 201, {"Location": f"{base_url()}/Groups/{group.id}"})


@bp.get("/Groups/<group_id>")
def get_group(group_id):
    projection = r.projection(GROUP_TYPE)
    group = r.read_or_404(Group, GROUP_TYPE, group_id)
    return r.not_modified(group) or _one(group, projection)


@bp.put("/Groups/<group_id>")
def replace_group(group_id):
    projection = r.projection(GROUP_TYPE)
    group = service.replace_group(db.session, group_id, read_json(), r.if_match(),
                                  rules=r.name_rules())
    commit_write()
    return _one(group, projection)


@bp.patch("/Groups/<group_id>")
def patch_group(group_id):
    projection = r.projection(GROUP_TYPE)
    group = service.patch_group(db.session, group_id, read_json(), r.if_match(),
                                rules=r.name_rules())
    commit_write()
    if "attributes" in request.args or "excludedAttributes" in request.args:
        return _one(group, projection)
    # Entra's recommendation: 204, never the (possibly huge) member list.
    return r.no_content(group)


@bp.delete("/Groups/<group_id>")
def delete_group(group_id):
    service.delete_group(db.session, group_id, r.if_match())
    commit_write()
    return r.no_content()
