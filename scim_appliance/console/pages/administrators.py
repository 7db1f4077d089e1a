"""Administrators: who may sign in here; add, reset a password, remove (each confirmed),
and the audit trail of every change. The same functions as `scim-appliance admin`."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user

from ...domain.admins import administrators as admins
from ...domain.admins import audit
from ...storage.extensions import db
from ..blueprint import actor, bp, paging, render_page
from ..forms import AdminForm, ConfirmForm, PasswordForm


def _listing(form=None, status=200, error=None):
    return render_page("administrators.html", status, title="Administrators",
                       admins=admins.list_admins(db.session), form=form or AdminForm(),
                       error=error)


@bp.get("/administrators")
def administrators():
    return _listing()


@bp.post("/administrators")
def add_administrator():
    form = AdminForm()
    if not form.validate():
        return _listing(form, 400, "Give a name and a password.")
    try:
        admin = admins.create_admin(db.session, form.name.data, form.password.data, actor())
    except admins.AdminError as exc:
        db.session.rollback()
        return _listing(form, 400, str(exc))
    db.session.commit()
    flash(f"Administrator {admin.name} added.")
    return redirect(url_for("console.administrators"))


def _admin_or_404(name: str):
    admin = admins.find(db.session, name)
    if admin is None:
        return None, render_page("error.html", 404, title="No such administrator",
                                 message="There is no administrator of this name.")
    return admin, None


@bp.route("/administrators/<name>/password", methods=["GET", "POST"])
def reset_administrator_password(name: str):
    admin, missing = _admin_or_404(name)
    if missing:
        return missing
    form = PasswordForm()
    error = None
    if form.is_submitted():
        if form.validate():
            try:
                admins.reset_password(db.session, admin.name, form.password.data, actor())
            except admins.AdminError as exc:
                db.session.rollback()
                error = str(exc)
            else:
                own = admin.id == current_user.administrator_id
                db.session.commit()
                flash(f"Password of {admin.name} changed; their sessions were ended."
                      + (" Sign in with the new password." if own else ""))
                return redirect(url_for("console.administrators"))
        else:
            error = "Give the new password."
    return render_page("admin_password.html", 400 if error else 200,
                       title=f"Reset the password of {admin.name}", admin=admin, form=form,
                       error=error, own=admin.id == current_user.administrator_id,
                       active_nav="console.administrators")


@bp.route("/administrators/<name>/remove", methods=["GET", "POST"])
def remove_administrator(name: str):
    admin, missing = _admin_or_404(name)
    if missing:
        return missing
    form = ConfirmForm()
    error = None
    if form.is_submitted():
        try:
            admins.delete_admin(db.session, admin.name, actor())
        except admins.AdminError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash(f"Administrator {name} removed.")
            return redirect(url_for("console.administrators"))
    return render_page("admin_remove.html", 400 if error else 200,
                       title=f"Remove {admin.name}?", admin=admin, form=form, error=error,
                       active_nav="console.administrators")


@bp.get("/audit")
def audit_trail():
    page = paging()
    rows, total = audit.entries(db.session, page.offset, page.per_page)
    return render_page("audit.html", title="Audit trail", rows=rows, total=total, paging=page,
                       args={}, active_nav="console.administrators")
