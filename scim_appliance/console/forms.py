"""The console's forms (Flask-WTF: each carries its CSRF token). Labels are what the
pages and the browser tests find controls by."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length


class SignInForm(FlaskForm):
    # No validators: an empty field is one more wrong sign-in, with the same message.
    username = StringField("Username")
    password = PasswordField("Password")
    submit = SubmitField("Sign in")


class ConfirmForm(FlaskForm):
    """A confirmation step: the button posts, carrying only the CSRF token."""

    submit = SubmitField("Confirm")


class SyncForm(FlaskForm):
    enabled = BooleanField("SCIM synchronization")
    submit = SubmitField("Save")


class AdminForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])
    submit = SubmitField("Add administrator")


class PasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=256)])
    submit = SubmitField("Reset password")


class WebhookForm(FlaskForm):
    # Checked by the domain (events/endpoints.check_url, catalogue.parse_selection), the
    # same checks as `webhooks add`; the form only bounds the sizes.
    url = StringField("Endpoint URL", validators=[DataRequired(), Length(max=2000)])
    event_types = StringField("Event types", validators=[Length(max=2000)])
    submit = SubmitField("Add endpoint")
