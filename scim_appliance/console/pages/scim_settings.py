"""SCIM: what Entra needs (Tenant URL, Secret Token) and the synchronization switch.
The same domain functions as `scim-appliance endpoint`, `token issue` and `sync`."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for

from ...domain.access import appliance, endpoint
from ...domain.admins import audit
from ...storage.extensions import db
from ..blueprint import actor, bp, render_page
from ..forms import ConfirmForm, SyncForm


def _tenant_url() -> str:
    """PUBLIC_URL, else the address this browser reached the appliance at."""
    return endpoint.tenant_url(current_app.config.get("PUBLIC_URL"), request.host_url)


def _page(status: int = 200, **extra):
    url = _tenant_url()
    form = SyncForm(enabled=appliance.sync_enabled(db.session))
    return render_page("scim.html", status, title="SCIM", tenant_url=url,
                       tenant_url_flagged=endpoint.with_aad_flag(url),
                       https_advice=endpoint.https_advice(url),
                       token=appliance.token_status(db.session), sync_form=form,
                       active_nav="console.scim_settings", **extra)


@bp.get("/settings/scim")
def scim_settings():
    return _page()


@bp.get("/settings/scim/new-key")
def new_key_confirm():
    return render_page("scim_new_key.html", title="Create new SCIM key", form=ConfirmForm(),
                       token=appliance.token_status(db.session),
                       active_nav="console.scim_settings")


@bp.post("/settings/scim/new-key")
def new_key():
    replaced = appliance.token_status(db.session).active
    token = appliance.issue_token(db.session, current_app.config["SECRET_KEY"])
    audit.record(db.session, actor(), audit.TOKEN_ISSUED,
                 "replaced the previous token" if replaced else "first token")
    db.session.commit()
    # Shown in this answer only (no redirect, no-store): never again.
    return render_page("scim_key.html", title="New SCIM key", secret_token=token,
                       tenant_url=_tenant_url(), replaced=replaced,
                       active_nav="console.scim_settings")


@bp.post("/settings/scim/sync")
def set_sync():
    form = SyncForm()
    if not form.validate():
        return _page(400, sync_error="The form was not complete; try again.")
    enabled = bool(form.enabled.data)
    current = appliance.sync_enabled(db.session)
    if enabled == current:
        flash(f"SCIM synchronization is already {'on' if current else 'off'}.")
        return redirect(url_for("console.scim_settings"))
    if not enabled and request.form.get("confirmed") != "yes":
        return render_page("scim_sync_off.html", title="Turn SCIM synchronization off?",
                           form=ConfirmForm(), active_nav="console.scim_settings")
    appliance.set_sync(db.session, enabled)
    audit.record(db.session, actor(), audit.SYNC_SWITCHED, "on" if enabled else "off")
    db.session.commit()
    flash(f"SCIM synchronization is now {'on' if enabled else 'off'}.")
    return redirect(url_for("console.scim_settings"))
