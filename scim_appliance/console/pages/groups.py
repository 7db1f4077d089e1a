"""Groups: which groups Entra pushed, and who is in each."""

from __future__ import annotations

from flask import request

from ...domain.accounts import directory
from ...domain.display import safe_json
from ...domain.log.browse import entries_about
from ...domain.protocol.errors import NotFound
from ...domain.resources.groups import get_group
from ...domain.resources.representation import render_group
from ...storage.extensions import db
from ..blueprint import bp, paging, render_page
from .directory_common import dialect, scim_base


@bp.get("/groups")
def groups():
    page = paging()
    text = request.args.get("q", "")
    try:
        search = directory.parse_search(text, "Group")
        total, rows = directory.page_groups(db.session, search, page.offset, page.per_page,
                                            dialect())
        error = None
    except directory.SearchRefused as exc:
        db.session.rollback()
        search, total, rows, error = directory.Search(text, None, False), 0, [], str(exc)
    return render_page("groups.html", 400 if error else 200, title="Groups", rows=rows,
                       total=total, paging=page, search=search, error=error,
                       args={"q": text} if text else {})


@bp.get("/groups/<group_id>")
def group_detail(group_id: str):
    try:
        group = get_group(db.session, group_id)
    except NotFound:
        return render_page("error.html", 404, title="No such group",
                           message="There is no group with this id (it may have been deleted).")
    page = paging(per_page=50)
    total, members = directory.members_of_group(db.session, group.id, page.offset,
                                                page.per_page)
    # The document without its members: they are the paged table below.
    document = safe_json(render_group(group, scim_base(), None), indent=2)
    return render_page("group_detail.html", title=f"Group {group.display_name}", group=group,
                       document=document, members=members, total=total, paging=page,
                       source=directory.source_label(group.source),
                       entries=entries_about(db.session, "Group", group.id),
                       active_nav="console.groups", args={})
