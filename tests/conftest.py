"""Fixtures: an app on a fresh SQLite file per test, a token, and a SCIM client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from scim_appliance import create_app
from scim_appliance.domain.access import appliance
from scim_appliance.storage import migrations
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import Base
from tests import pg

FIXTURES = Path(__file__).parent / "fixtures"
SCIM_JSON = "application/scim+json"


def load_fixture(name: str):
    """A payload fixture, named after its source (e.g. entra-create-user.json)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# SCIM_APPLIANCE_TEST_DATABASE_URL=postgresql+psycopg://user@host:port/postgres runs the
# suite on PostgreSQL (tests/pg.py): each xdist worker gets its own database,
# `scim_test_gw0` ..., emptied before every test, and every appliance process its own.
# The default is a fresh SQLite file per test.
OTHER_DATABASE = pg.create_database() if pg.SERVER_URL else None
_TABLES = [t.name for t in reversed(Base.metadata.sorted_tables)]


def _fresh_schema(connection) -> None:
    """The schema the migrations make (test_migrations checks they agree), empty."""
    connection.exec_driver_sql("DROP SCHEMA public CASCADE")
    connection.exec_driver_sql("CREATE SCHEMA public")
    Base.metadata.create_all(connection)
    migrations.stamp_head(connection)


def _empty_other_database(engine) -> None:
    """DELETE and a restart of the id sequences: a few ms for tables this small, where
    TRUNCATE took 150 ms and dropping and creating the tables more. A test that dropped
    or changed tables (the migration tests) gets them made afresh."""
    try:
        with engine.begin() as connection:
            for table in _TABLES:
                connection.exec_driver_sql(f'DELETE FROM "{table}"')
            for (sequence,) in connection.exec_driver_sql(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"):
                connection.exec_driver_sql(f'ALTER SEQUENCE "{sequence}" RESTART')
            versions = connection.exec_driver_sql(
                f"SELECT version_num FROM {migrations.VERSION_TABLE}").scalars().all()
            if versions == [migrations.head()]:
                return
    except DBAPIError:
        pass
    with engine.begin() as connection:
        _fresh_schema(connection)


@pytest.fixture
def app(tmp_path):
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": OTHER_DATABASE or f"sqlite:///{tmp_path / 'test.db'}",
    })
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        if OTHER_DATABASE:
            _empty_other_database(db.engine)
        else:
            db.create_all()
            with db.engine.begin() as connection:  # what the migrations make
                migrations.stamp_head(connection)
        appliance.set_sync(db.session, True)
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def token(app):
    with app.app_context():
        value = appliance.issue_token(db.session, app.config["SECRET_KEY"])
        db.session.commit()
    return value


class ScimClient:
    """A Flask test client that sends the bearer token and SCIM JSON like Entra does."""

    def __init__(self, client, token):
        self.client = client
        self.token = token

    def request(self, method, path, body=None, headers=None, raw=None, **kw):
        hdrs = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if body is not None or raw is not None:
            hdrs["Content-Type"] = "application/scim+json; charset=utf-8"
        hdrs.update(headers or {})
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return self.client.open(path, method=method, data=data, headers=hdrs, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


@pytest.fixture
def scim(app, token):
    return ScimClient(app.test_client(), token)


def make_user(scim, user_name="adele.vance@contoso.com", **extra):
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name,
            **extra}
    resp = scim.post("/scim/Users", body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


@pytest.fixture
def three_users(scim):
    """Users with and without a title, for the conformance filter and sort tests."""
    return {
        "a": make_user(scim, "alice@contoso.com", title="Zookeeper",
                       emails=[{"type": "work", "value": "alice@contoso.com"}]),
        "b": make_user(scim, "bob@contoso.com"),
        "c": make_user(scim, "carol@contoso.com", title="analyst"),
    }
