"""Administrators: who may sign in to this console."""

from __future__ import annotations

from ..blueprint import bp, render_page


@bp.get("/administrators")
def administrators():
    return render_page("coming.html", title="Administrators",
                       message="This page is not built yet.")
