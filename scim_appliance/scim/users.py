"""/Users routes: parse, call the users service, serialise. No domain logic here."""

from __future__ import annotations

from flask import g

from ..domain.protocol.projection import apply_projection
from ..domain.protocol.schema import USER_TYPE
from ..domain.query.listing import run_list_query
from ..domain.query.mappings import USER_MAPPING
from ..domain.resources import users as service
from ..domain.resources.representation import groups_of_users, render_user
from ..storage.extensions import db
from ..storage.models import User
from . import resources as r
from .blueprint import base_url, bp, commit_write, request_reads
from .http import read_json

GROUPS_ATTR = USER_TYPE.core.attribute("groups")


def render_list(rows, projection, base, new=False) -> list[dict]:
    """Users as SCIM JSON; their `groups` in one query, and only if asked for."""
    groups = {}
    if rows and not new and projection.wants(GROUPS_ATTR):
        groups = groups_of_users(request_reads(), [u.id for u in rows], base)
    return [apply_projection(render_user(u, base, groups.get(u.id)), USER_TYPE, projection)
            for u in rows]


def _one(user, projection, status=200, headers=None, new=False):
    body = render_list([user], projection, base_url(), new)[0]
    return r.resource_response(body, user, status, headers)


def _list(query):
    total, rows = run_list_query(db.session, query, USER_MAPPING, db.engine.dialect.name,
                                 g.get("reads"))
    return r.list_response(query, total, render_list(rows, query.projection, base_url()))


@bp.get("/Users", strict_slashes=False)
def list_users():
    return _list(r.list_query(USER_TYPE))


@bp.post("/Users/.search")
def search_users():
    return _list(r.search_query(USER_TYPE))


@bp.post("/Users", strict_slashes=False)
def create_user():
    projection = r.projection(USER_TYPE)
    user = service.create_user(db.session, read_json(), rules=r.name_rules(),
                               seats=r.seat_cap())
    commit_write()
    location = f"{base_url()}/Users/{user.id}"
    return _one(user, projection, 201, {"Location": location},
                new=user.version == 1)  # an adopted local account may have groups


@bp.get("/Users/<user_id>")
def get_user(user_id):
    projection = r.projection(USER_TYPE)
    user = r.read_or_404(User, USER_TYPE, user_id)
    return r.not_modified(user) or _one(user, projection)


@bp.put("/Users/<user_id>")
def replace_user(user_id):
    projection = r.projection(USER_TYPE)
    user = service.replace_user(db.session, user_id, read_json(), r.if_match(),
                                rules=r.name_rules(), seats=r.seat_cap())
    commit_write()
    return _one(user, projection)


@bp.patch("/Users/<user_id>")
def patch_user(user_id):
    projection = r.projection(USER_TYPE)
    user = service.patch_user(db.session, user_id, read_json(), r.if_match(),
                              rules=r.name_rules(), seats=r.seat_cap())
    commit_write()
    return _one(user, projection)


@bp.delete("/Users/<user_id>")
def delete_user(user_id):
    service.delete_user(db.session, user_id, r.if_match())
    commit_write()
    return r.no_content()
