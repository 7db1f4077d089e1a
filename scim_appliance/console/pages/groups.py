"""Groups and their members."""

from __future__ import annotations

from ..blueprint import bp, render_page


@bp.get("/groups")
def groups():
    return render_page("coming.html", title="Groups",
                       message="This page is not built yet.")
