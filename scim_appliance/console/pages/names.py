"""Name adjustments: names changed on their way downstream."""

from __future__ import annotations

from ..blueprint import bp, render_page


@bp.get("/names")
def names():
    return render_page("coming.html", title="Name adjustments",
                       message="This page is not built yet.")
