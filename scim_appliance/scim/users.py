"""/Users routes: parse, call the users service, serialise. No domain logic here."""

from __future__ import annotations

from flask import current_app, request

from ..domain import users as service
from ..domain.errors import NotFound
from ..domain.filter_sql import USER_MAPPING
from ..domain.listing import (
    parse_list_query,
    parse_search_request,
    read_by_id,
    run_list_query,
)
from ..domain.name_rules import rules_from_config
from ..domain.projection import apply_projection, parse_projection
from ..domain.representation import etag, groups_of_users, render_user
from ..domain.schema import LIST_RESPONSE, USER_TYPE
from ..extensions import db
from ..models import User
from .blueprint import base_url, bp
from .http import read_json, scim_response

GROUPS_ATTR = USER_TYPE.core.attribute("groups")


def _projection():
    return parse_projection(USER_TYPE, request.args.get("attributes"),
                            request.args.get("excludedAttributes"))


def _rules():
    """The configured name rules (domain/name_rules.py; issue 4)."""
    return rules_from_config(current_app.config)


def _render_one(user, projection, status=200, headers=None, new=False):
    base = base_url()
    groups = None
    if not new and projection.wants(GROUPS_ATTR):
        groups = groups_of_users(db.session, [user.id], base).get(user.id)
    body = apply_projection(render_user(user, base, groups), USER_TYPE, projection)
    headers = {"ETag": etag(user.version), **(headers or {})}
    return scim_response(body, status, headers)


def _list(query):
    total, rows = run_list_query(db.session, query, USER_MAPPING, db.engine.dialect.name)
    base = base_url()
    groups = {}
    if rows and query.projection.wants(GROUPS_ATTR):
        groups = groups_of_users(db.session, [u.id for u in rows], base)
    resources = [apply_projection(render_user(u, base, groups.get(u.id)), USER_TYPE,
                                  query.projection) for u in rows]
    return scim_response({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "startIndex": query.start_index,
        "Resources": resources,
    })


@bp.get("/Users", strict_slashes=False)
def list_users():
    max_results = current_app.config["SCIM_MAX_RESULTS"]
    return _list(parse_list_query(request.args.to_dict(), USER_TYPE, max_results))


@bp.post("/Users/.search")
def search_users():
    max_results = current_app.config["SCIM_MAX_RESULTS"]
    return _list(parse_search_request(read_json(), USER_TYPE, max_results))


@bp.post("/Users", strict_slashes=False)
def create_user():
    projection = _projection()
    user = service.create_user(db.session, read_json(), rules=_rules())
    db.session.commit()
    location = f"{base_url()}/Users/{user.id}"
    return _render_one(user, projection, 201, {"Location": location},
                       new=user.version == 1)  # an adopted local account may have groups


@bp.get("/Users/<user_id>")
def get_user(user_id):
    projection = _projection()
    user = read_by_id(db.session, User, user_id)
    if user is None:
        raise NotFound(f"no User with id '{user_id}'")
    if request.if_none_match and request.if_none_match.contains_weak(str(user.version)):
        return scim_response(None, 304, {"ETag": etag(user.version)})
    return _render_one(user, projection)


@bp.put("/Users/<user_id>")
def replace_user(user_id):
    projection = _projection()
    user = service.replace_user(db.session, user_id, read_json(),
                                request.headers.get("If-Match"), rules=_rules())
    db.session.commit()
    return _render_one(user, projection)


@bp.patch("/Users/<user_id>")
def patch_user(user_id):
    projection = _projection()
    user = service.patch_user(db.session, user_id, read_json(),
                              request.headers.get("If-Match"), rules=_rules())
    db.session.commit()
    return _render_one(user, projection)


@bp.delete("/Users/<user_id>")
def delete_user(user_id):
    service.delete_user(db.session, user_id, request.headers.get("If-Match"))
    db.session.commit()
    return scim_response(None, 204)
