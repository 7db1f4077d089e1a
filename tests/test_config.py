"""Configuration: every setting is documented, and the layering order holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.pool import StaticPool

from scim_appliance import create_app
from scim_appliance.config import DEFAULTS
from tests.pg import sqlite_only

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme():
    missing = [key for key in DEFAULTS if f"`{key}`" not in README]
    assert not missing, f"document these settings in README.md: {missing}"


def test_instance_config_then_environment(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text("SECRET_KEY = 'from-file'\nPORT = 7000\nHOST = 'h'\n")
    monkeypatch.setenv("SCIM_APPLIANCE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SCIM_APPLIANCE_PORT", "7100")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["HOST"] == "h"
    assert app.config["PORT"] == 7100
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/scim-appliance.db"


@sqlite_only("pragmas")
def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(app):
    from sqlalchemy import text

    from scim_appliance.storage.extensions import db

    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_the_pool_never_makes_a_request_wait_for_a_connection(tmp_path):
    """A read holds two connections at times (its own and the session's): eight busy
    threads plus the log writer once exceeded SQLAlchemy's default limit of 15. The
    pool is capped (DATABASE_POOL_SIZE + DATABASE_MAX_OVERFLOW) so that processes
    sharing one PostgreSQL server cannot exhaust its max_connections."""
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from scim_appliance.storage.extensions import db

    app = create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI":
                      f"sqlite:///{tmp_path / 'pool.db'}",
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_timeout": 0.05}})
    with app.app_context():
        assert "Pool size: 10 " in db.engine.pool.status()
        cap = app.config["DATABASE_POOL_SIZE"] + app.config["DATABASE_MAX_OVERFLOW"]
        assert cap >= 2 * app.config["THREADS"] + 2
        connections = [db.engine.raw_connection() for _ in range(cap)]
        with pytest.raises(PoolTimeout):
            db.engine.raw_connection()
        for connection in connections:
            connection.close()
        db.engine.dispose()
    small = create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI":
                        f"sqlite:///{tmp_path / 'pool.db'}", "DATABASE_POOL_SIZE": 3,
                        "DATABASE_MAX_OVERFLOW": 1})
    with small.app_context():
        assert "Pool size: 3 " in db.engine.pool.status()
        assert db.engine.pool._max_overflow == 1
        db.engine.dispose()
    # An in-memory database has a static pool, which takes no pool options.
    memory = create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with memory.app_context():
        assert isinstance(db.engine.pool, StaticPool)
