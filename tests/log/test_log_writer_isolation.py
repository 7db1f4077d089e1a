"""A provisioning-log entry the database refuses costs that entry only, not its batch."""

from __future__ import annotations

from sqlalchemy import select

from scim_appliance.domain.clock import utcnow
from scim_appliance.domain.log.entries import RequestFacts
from scim_appliance.server.log_writer import LogWriter
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import ProvisioningLogEntry


def facts(request_id, at):
    return RequestFacts(request_id=request_id, at=at, client="127.0.0.1", method="POST",
                        path="/scim/Users", filter=None, status=201, duration_us=1,
                        authenticated=True)


def test_a_refused_entry_is_dropped_alone_and_the_rest_of_its_batch_is_stored(app, caplog):
    with app.app_context():
        engine = db.engine
    writer = LogWriter(engine, notify=False, retention_days=0)
    now = utcnow()
    # `at` is NOT NULL on every backend: the database itself refuses this one.
    batch = [facts(f"r{i}", now) for i in range(5)] + [facts("bad", None)] + \
        [facts(f"r{i}", now) for i in range(5, 10)]
    writer._write(batch)  # one batch, as the writer thread hands it over
    with app.app_context():
        stored = db.session.execute(select(ProvisioningLogEntry.request_id)).scalars().all()
    assert sorted(stored) == sorted(f"r{i}" for i in range(10))
    assert "request bad" in caplog.text and "one by one" in caplog.text
