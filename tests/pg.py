"""PostgreSQL for the suite: SCIM_APPLIANCE_TEST_DATABASE_URL names a server (any
database on it the URL's user may connect to and create databases from), and every
pytest-xdist worker gets its own databases on it, so workers never share rows.

    SCIM_APPLIANCE_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Without the variable every test runs on SQLite and nothing here connects anywhere.
"""

from __future__ import annotations

import atexit
import itertools
import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

SERVER_URL = os.environ.get("SCIM_APPLIANCE_TEST_DATABASE_URL") or None
# Set by `make pytest` for its SQLite run when a PostgreSQL run comes after it.
POSTGRESQL_RUN_FOLLOWS = "SCIM_APPLIANCE_TEST_POSTGRESQL_RUN_FOLLOWS"
_counter = itertools.count()


def worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _admin():
    return create_engine(SERVER_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def create_database(suffix: str = "") -> str:
    """A new, empty database for this worker; returns its URL (password kept)."""
    name = f"scim_test_{worker()}{'_' + suffix if suffix else ''}"
    engine = _admin()
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)


_made: list[str] = []


def fresh_database() -> str:
    """A database of its own for one appliance process (tests/appliance_server.py),
    dropped when this worker exits."""
    url = create_database(f"p{os.getpid()}_{next(_counter)}")
    _made.append(url)
    return url


@atexit.register
def _drop_made() -> None:
    for url in _made:
        try:
            drop_database(url)
        except Exception:  # noqa: BLE001 - a server already gone leaves nothing to drop
            pass


def drop_database(url: str) -> None:
    name = make_url(url).database
    engine = _admin()
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def sqlite_only(reason: str):
    """Mark a test that checks SQLite's own machinery (pragmas, the write gate, the
    file itself): it runs in the SQLite run and is skipped, saying why, in the
    PostgreSQL one."""
    return pytest.mark.skipif(SERVER_URL is not None,
                              reason=f"SQLite only ({reason}); the SQLite run covers it")


def require_server() -> str:
    """The server URL for a test of PostgreSQL behaviour: under CI=true a missing server
    fails the test, elsewhere it is skipped with the way to run it."""
    if SERVER_URL is None:
        if os.environ.get(POSTGRESQL_RUN_FOLLOWS):
            pytest.skip("the PostgreSQL run of make test runs this")
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but SCIM_APPLIANCE_TEST_DATABASE_URL is unset: .ci/run "
                        "starts a PostgreSQL cluster and sets it")
        pytest.skip("needs PostgreSQL: set SCIM_APPLIANCE_TEST_DATABASE_URL=postgresql+"
                    "psycopg://user@host:port/postgres (apt-get install postgresql; "
                    ".ci/run starts one)")
    return SERVER_URL
