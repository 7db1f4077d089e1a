"""Migration: legacy user IDs to email-based ones."""

from __future__ import annotations

from ..blueprint import bp, render_page


@bp.get("/migration")
def migration():
    return render_page("coming.html", title="Migration",
                       message="This page is not built yet.")
