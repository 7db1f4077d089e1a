"""Users: who Entra provisioned, and local accounts."""

from __future__ import annotations

from ..blueprint import bp, render_page


@bp.get("/users")
def users():
    return render_page("coming.html", title="Users",
                       message="This page is not built yet.")
