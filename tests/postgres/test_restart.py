"""Connections that PostgreSQL dropped (a restart, a failover, an administrator's
pg_terminate_backend) never surface as an error: the pool pings each connection it
hands out and replaces a dead one, and a write that lost its connection before
committing runs again."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests import pg
from tests.appliance_server import RunningAppliance

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def server(tmp_path):
    pg.require_server()
    appliance = RunningAppliance(tmp_path / "instance", database=pg.fresh_database()).start()
    yield appliance
    appliance.stop()


def drop_connections(url: str) -> int:
    """What a server restart does to every open connection of the appliance."""
    engine = create_engine(pg.SERVER_URL)
    try:
        with engine.begin() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"),
                {"name": make_url(url).database}).all())
    finally:
        engine.dispose()


def test_requests_after_the_server_dropped_every_connection_all_succeed(server):
    http = server.session()
    scim = f"{server.base}/scim"
    ids = []
    for i in range(10):  # fill the pool (and start the log writer's connection)
        created = http.post(f"{scim}/Users", data=json.dumps(
            {"schemas": [USER], "userName": f"before{i}@contoso.com"}))
        assert created.status_code == 201
        ids.append(created.json()["id"])
    assert drop_connections(server.env["SCIM_APPLIANCE_SQLALCHEMY_DATABASE_URI"]) > 0
    statuses = [http.get(f"{scim}/Users/{ids[0]}").status_code,
                http.get(f"{scim}/Users", params={"filter": 'userName eq "before1@contoso.com"'}
                         ).status_code,
                http.patch(f"{scim}/Users/{ids[2]}", data=json.dumps(
                    {"schemas": [PATCH], "Operations": [
                        {"op": "replace", "path": "title", "value": "after"}]})).status_code,
                http.post(f"{scim}/Users", data=json.dumps(
                    {"schemas": [USER], "userName": "after@contoso.com"})).status_code,
                http.delete(f"{scim}/Users/{ids[3]}").status_code]
    assert statuses == [200, 200, 200, 201, 204]
