"""Users: who is on the appliance, where each came from, the name downstream."""

from __future__ import annotations

from flask import request

from ...domain.accounts import directory
from ...domain.display import safe_json
from ...domain.log.browse import entries_about
from ...domain.protocol.errors import NotFound
from ...domain.resources.representation import render_user
from ...domain.resources.users import get_user
from ...storage.extensions import db
from ..blueprint import bp, paging, render_page
from .directory_common import dialect, scim_base


@bp.get("/users")
def users():
    page = paging()
    text = request.args.get("q", "")
    try:
        search = directory.parse_search(text, "User")
        total, rows = directory.page_users(db.session, search, page.offset, page.per_page,
                                           dialect())
        error = None
    except directory.SearchRefused as exc:
        db.session.rollback()
        search, total, rows, error = directory.Search(text, None, False), 0, [], str(exc)
    return render_page("users.html", 400 if error else 200, title="Users", rows=rows,
                       total=total, paging=page, search=search, error=error,
                       args={"q": text} if text else {})


@bp.get("/users/<user_id>")
def user_detail(user_id: str):
    try:
        user = get_user(db.session, user_id)
    except NotFound:
        return render_page("error.html", 404, title="No such user",
                           message="There is no user with this id (it may have been deleted).")
    page = paging(per_page=25)
    total, groups = directory.groups_of_user(db.session, user.id, page.offset, page.per_page)
    document = safe_json(render_user(user, scim_base()), indent=2)
    return render_page("user_detail.html", title=f"User {user.user_name}", user=user,
                       document=document, groups=groups, total=total, paging=page,
                       source=directory.source_label(user.source),
                       entries=entries_about(db.session, "User", user.id),
                       active_nav="console.users", args={})
