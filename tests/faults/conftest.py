"""Fixtures of the fault suite (its parts are in tests/faults/parts.py)."""

from __future__ import annotations

import pytest

from tests.faults.parts import RedisServer


@pytest.fixture
def own_redis(tmp_path, app):
    """The app's queue on a redis-server of this test's own, which the test may kill."""
    from ledger.queueing import JobQueue

    server = RedisServer(tmp_path)
    server.start()
    shared, shared_url = app.extensions["job_queue"], app.config["REDIS_URL"]
    app.config["REDIS_URL"] = server.url
    app.extensions["job_queue"] = JobQueue(app)
    yield server
    app.extensions["job_queue"].close()
    server.stop()
    app.config["REDIS_URL"], app.extensions["job_queue"] = shared_url, shared
