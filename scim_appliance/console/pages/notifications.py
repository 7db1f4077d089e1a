"""Notifications: failure email."""

from __future__ import annotations

from ..blueprint import bp, render_page


@bp.get("/notifications")
def notifications():
    return render_page("coming.html", title="Notifications",
                       message="This page is not built yet.")
