"""Provisioning log: what Entra asked, what failed, and what to do about it."""

from __future__ import annotations

from flask import request

from ...domain.clock import utcnow
from ...domain.display import safe_json
from ...domain.log import browse
from ...domain.log.store import parse_since
from ...storage.extensions import db
from ...storage.models import ProvisioningLogEntry
from ..blueprint import bp, paging, render_page

PER_PAGE = 50


def _query() -> tuple[browse.LogQuery, dict, list[str]]:
    """The filters from the query string; a bad time is reported, not a 500."""
    args = request.args
    errors = []
    now = utcnow()
    times = {}
    for name in ("since", "until"):
        text = args.get(name, "").strip()
        if text:
            try:
                times[name] = parse_since(text, now)
            except ValueError as exc:
                errors.append(f"{name.capitalize()}: {exc}")
    kept = {k: v for k, v in ((k, args.get(k, "").strip()) for k in
                              ("failures", "since", "until", "about", "request_id")) if v}
    query = browse.LogQuery(failures_only=bool(kept.get("failures")),
                            since=times.get("since"), until=times.get("until"),
                            about=kept.get("about", "")[:200] or None,
                            request_id=kept.get("request_id", "")[:64] or None)
    return query, kept, errors


@bp.get("/log")
def log():
    page = paging(per_page=PER_PAGE, max_page=100_000)
    query, kept, errors = _query()
    entries, more = ([], False) if errors else browse.search(db.session, query, page.offset,
                                                             page.per_page)
    return render_page("log.html", 400 if errors else 200, title="Provisioning log",
                       entries=entries, more=more, paging=page, filters=kept, errors=errors)


@bp.get("/log/<int:entry_id>")
def log_entry(entry_id: int):
    entry = db.session.get(ProvisioningLogEntry, entry_id)
    if entry is None:
        return render_page("error.html", 404, title="No such log entry",
                           message="This entry is not in the log (it may have been pruned).")
    changes = safe_json(entry.changes, indent=2) if entry.changes else None
    return render_page("log_entry.html", title=f"Log entry {entry.id}", entry=entry,
                       kind=browse.advice_for(entry), changes=changes,
                       active_nav="console.log")
