"""Console fixtures: an administrator, and a Flask test client signed in as them."""

from __future__ import annotations

import re

import pytest

from scim_appliance.domain.admins import administrators, audit
from scim_appliance.storage.extensions import db

PASSWORD = "correct horse battery"


def csrf_of(page: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:2000]
    return found.group(1)


def create_admin(app, name="alex", password=PASSWORD):
    with app.app_context():
        if administrators.find(db.session, name) is not None:
            return
        administrators.create_admin(db.session, name, password, audit.Actor("cli"))
        db.session.commit()


class Console:
    """A browser-like test client: keeps the cookie, posts forms with their CSRF token."""

    def __init__(self, client):
        self.client = client

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def post_form(self, page_path, action, data=None, **kw):
        """Open `page_path`, take its CSRF token, post `data` to `action`."""
        page = self.client.get(page_path)
        token = csrf_of(page.get_data(as_text=True))
        return self.client.post(action, data={"csrf_token": token, **(data or {})}, **kw)

    def sign_in(self, name="alex", password=PASSWORD, **kw):
        return self.post_form("/sign-in", "/sign-in", {"username": name, "password": password},
                              **kw)


@pytest.fixture
def console(app):
    create_admin(app)
    client = Console(app.test_client())
    assert client.sign_in().status_code == 302
    return client


@pytest.fixture
def anonymous(app):
    create_admin(app)
    return Console(app.test_client())
