"""Name adjustments: which names were changed on their way downstream, and a dry run
of the name rules over an uploaded file (the same code as `scim-appliance names`)."""

from __future__ import annotations

from flask import current_app, request
from sqlalchemy import func, select

from ...domain.names.check import check_names, entries_from_text, summary
from ...domain.names.policy import rules_from_config
from ...domain.names.rules import GROUP_NAME, USER_NAME
from ...storage.extensions import db
from ...storage.models import NameAdjustment
from ..blueprint import bp, paging, render_page

MAX_UPLOAD = 2 * 1024 * 1024
MAX_NAMES = 20_000


def _listing_page(status=200, **extra):
    page = paging()
    total = db.session.scalar(select(func.count()).select_from(NameAdjustment)) or 0
    rows = db.session.scalars(select(NameAdjustment).order_by(NameAdjustment.id.desc())
                              .offset(page.offset).limit(page.per_page)).all()
    rules = rules_from_config(current_app.config)
    return render_page("names.html", status, title="Name adjustments", rows=rows, total=total,
                       paging=page, args={}, preset=rules.user.rule.preset,
                       mode=rules.user.mode, active_nav="console.names", **extra)


@bp.get("/names")
def names():
    return _listing_page()


@bp.post("/names/dry-run")
def names_dry_run():
    """Nothing is stored: the file is read in memory and answered."""
    field = request.form.get("field", USER_NAME)
    if field not in (USER_NAME, GROUP_NAME):
        return _listing_page(400, error="Choose userName or group names.")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _listing_page(400, error="Choose a CSV or JSON file of names.")
    raw = upload.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        return _listing_page(400, error=f"The file is larger than {MAX_UPLOAD // 1024} KiB.")
    try:
        text = raw.decode("utf-8-sig")
        entries = entries_from_text(text, field, upload.filename.lower().endswith(".json"))
    except (UnicodeDecodeError, ValueError) as exc:
        return _listing_page(400, error=f"The file could not be read: {exc}")
    if len(entries) > MAX_NAMES:
        return _listing_page(400, error=f"The file holds more than {MAX_NAMES} names.")
    policy = rules_from_config(current_app.config).policy(field)
    results = check_names(entries, policy)
    return _listing_page(results=results, counts=summary(results), field=field,
                         filename=upload.filename)
