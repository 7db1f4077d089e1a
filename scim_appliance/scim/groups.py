"""/Groups routes: parse, call the groups service, serialise."""

from __future__ import annotations

from flask import current_app, request

from ..domain import groups as service
from ..domain.errors import NotFound
from ..domain.filter_sql import GROUP_MAPPING
from ..domain.listing import (
    parse_list_query,
    parse_search_request,
    read_by_id,
    run_list_query,
)
from ..domain.name_rules import rules_from_config
from ..domain.projection import apply_projection, parse_projection
from ..domain.representation import etag, render_group
from ..domain.schema import GROUP_TYPE, LIST_RESPONSE
from ..extensions import db
from ..models import Group
from .blueprint import base_url, bp
from .http import read_json, scim_response

MEMBERS_ATTR = GROUP_TYPE.core.attribute("members")


def _projection():
    return parse_projection(GROUP_TYPE, request.args.get("attributes"),
                            request.args.get("excludedAttributes"))


def _rules():
    """The configured name rules (domain/name_rules.py; issue 4)."""
    return rules_from_config(current_app.config)


def _render(group, projection, base):
    # The member list is read only when the client will see it.
    members = service.members_of(db.session, group.id, base) \
        if projection.wants(MEMBERS_ATTR) else None
    return apply_projection(render_group(group, base, members), GROUP_TYPE, projection)


def _render_one(group, projection, status=200, headers=None):
    body = _render(group, projection, base_url())
    return scim_response(body, status, {"ETag": etag(group.version), **(headers or {})})


def _list(query):
    total, rows = run_list_query(db.session, query, GROUP_MAPPING, db.engine.dialect.name)
    base = base_url()
    resources = [_render(g, query.projection, base) for g in rows]
    return scim_response({"schemas": [LIST_RESPONSE], "totalResults": total,
                          "itemsPerPage": len(resources), "startIndex": query.start_index,
                          "Resources": resources})


@bp.get("/Groups", strict_slashes=False)
def list_groups():
    max_results = current_app.config["SCIM_MAX_RESULTS"]
    return _list(parse_list_query(request.args.to_dict(), GROUP_TYPE, max_results))


@bp.post("/Groups/.search")
def search_groups():
    max_results = current_app.config["SCIM_MAX_RESULTS"]
    return _list(parse_search_request(read_json(), GROUP_TYPE, max_results))


@bp.post("/Groups", strict_slashes=False)
def create_group():
    projection = _projection()
    group = service.create_group(db.session, read_json(), rules=_rules())
    db.session.commit()
    return _render_one(group, projection, 201, {"Location": f"{base_url()}/Groups/{group.id}"})


@bp.get("/Groups/<group_id>")
def get_group(group_id):
    projection = _projection()
    group = read_by_id(db.session, Group, group_id)
    if group is None:
        raise NotFound(f"no Group with id '{group_id}'")
    if request.if_none_match and request.if_none_match.contains_weak(str(group.version)):
        return scim_response(None, 304, {"ETag": etag(group.version)})
    return _render_one(group, projection)


@bp.put("/Groups/<group_id>")
def replace_group(group_id):
    projection = _projection()
    group = service.replace_group(db.session, group_id, read_json(),
                                  request.headers.get("If-Match"), rules=_rules())
    db.session.commit()
    return _render_one(group, projection)


@bp.patch("/Groups/<group_id>")
def patch_group(group_id):
    projection = _projection()
    group = service.patch_group(db.session, group_id, read_json(),
                                request.headers.get("If-Match"), rules=_rules())
    db.session.commit()
    if "attributes" in request.args or "excludedAttributes" in request.args:
        return _render_one(group, projection)
    # Entra's recommendation: 204, never the (possibly huge) member list.
    return scim_response(None, 204, {"ETag": etag(group.version)})


@bp.delete("/Groups/<group_id>")
def delete_group(group_id):
    service.delete_group(db.session, group_id, request.headers.get("If-Match"))
    db.session.commit()
    return scim_response(None, 204)
