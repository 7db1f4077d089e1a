"""GET /healthz: for monitoring; no token, nothing sensitive in the body."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..storage.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1 FROM appliance_state LIMIT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        db.session.rollback()
        current_app.logger.warning("health check failed: %s", type(exc).__name__)
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
