"""The provisioning log: every SCIM request, newest first."""

from __future__ import annotations

from ..blueprint import bp, render_page


@bp.get("/log")
def log():
    return render_page("coming.html", title="Provisioning log",
                       message="This page is not built yet.")


@bp.get("/log/<int:entry_id>")
def log_entry(entry_id: int):
    return render_page("coming.html", title="Log entry", message="Not built yet.")
