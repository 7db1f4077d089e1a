"""A write whose transaction PostgreSQL aborts for a deadlock or a serialization failure
runs again from the start (scim/blueprint.py), within a bound, and never twice once
committed. The failures are raised in place of the database's own, so this runs on
every backend; scripts/concurrency_pg.py provokes real ones."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from scim_appliance.domain.resources import users as service
from scim_appliance.storage import database
from tests.conftest import make_user

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Aborted(Exception):
    def __init__(self, sqlstate):
        super().__init__(f"{sqlstate}: the transaction was aborted")
        self.sqlstate = sqlstate


def failing_first(monkeypatch, times: int, sqlstate: str):
    real = service.patch_user
    calls = []

    def patch_user(*args, **kwargs):
        calls.append(1)
        user = real(*args, **kwargs)  # the write happened in the transaction...
        if len(calls) <= times:       # ...and the database then aborts it
            raise OperationalError("UPDATE users", {}, Aborted(sqlstate))
        return user

    monkeypatch.setattr(service, "patch_user", patch_user)
    monkeypatch.setattr(database, "retry_pause", lambda attempt: None)
    return calls


def replace_title(value):
    return {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title",
                                                "value": value}]}


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_a_deadlocked_write_runs_again_and_is_acknowledged_once(scim, monkeypatch, sqlstate):
    user = make_user(scim)
    calls = failing_first(monkeypatch, 2, sqlstate)
    resp = scim.patch(f"/scim/Users/{user['id']}", replace_title("Engineer"))
    assert resp.status_code == 200 and len(calls) == 3
    assert resp.get_json()["title"] == "Engineer"
    assert resp.get_json()["meta"]["version"] == 'W/"2"'  # the aborted runs left nothing


def test_the_retries_are_bounded_and_then_the_answer_is_503(scim, monkeypatch):
    user = make_user(scim)
    calls = failing_first(monkeypatch, 100, "40P01")
    resp = scim.patch(f"/scim/Users/{user['id']}", replace_title("Engineer"))
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    assert len(calls) == database.RETRY_ATTEMPTS
    monkeypatch.undo()
    assert "title" not in scim.get(f"/scim/Users/{user['id']}").get_json()


def test_other_database_errors_are_not_retried(scim, monkeypatch):
    user = make_user(scim)
    calls = failing_first(monkeypatch, 1, "57014")  # query_canceled
    assert scim.patch(f"/scim/Users/{user['id']}", replace_title("x")).status_code == 503
    assert len(calls) == 1
