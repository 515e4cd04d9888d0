"""Run now (a run record, a queued job, a progress fragment that polls until the run is done),
the runs history, and the outbox page."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.portal.conftest import Portal, order_body

POLL = 'hx-trigger="every 1s"'


def drain(app) -> None:
    from worker.runner import InlineWorker, make_worker

    make_worker(app, InlineWorker).work(burst=True)


def test_run_now_creates_a_run_and_enqueues_it(app, portal, merchant_info):
    from ledger.db import db
    from ledger.models import DunningRun

    app.config["MAHNWERK_TODAY"] = "2026-10-15"
    queue = app.extensions["job_queue"].queue
    response = portal.post("/runs")
    assert response.status_code == 202
    with app.app_context():
        run = db.session.scalar(select(DunningRun))
        assert run.merchant_id == merchant_info["id"]
        assert run.trigger == "portal" and run.started_by == merchant_info["email"]
        assert run.state == "queued" and run.run_on.isoformat() == "2026-10-15"
        run_id = run.id
    jobs = queue.get_jobs()
    assert queue.count == 1
    assert jobs[0].func_name == "worker.jobs.run_dunning" and jobs[0].args == (run_id,)
    # under the id the scheduler's recovery looks for
    assert jobs[0].id == app.extensions["job_queue"].job_id("run", run_id)
    fragment = response.get_data(as_text=True)
    assert f'hx-get="/runs/{run_id}/progress"' in fragment and POLL in fragment
    assert "<nav" not in fragment


def test_run_now_with_redis_away_keeps_the_run_queued(app, portal):
    """No 500: the run waits, queued, for the scheduler's recovery to hand it over."""
    from ledger.db import db
    from ledger.models import DunningRun
    from ledger.queueing import JobQueue

    app.config["MAHNWERK_TODAY"] = "2026-10-15"
    shared, shared_url = app.extensions["job_queue"], app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens
    app.extensions["job_queue"] = JobQueue(app)
    try:
        response = portal.post("/runs")
    finally:
        app.config["REDIS_URL"], app.extensions["job_queue"] = shared_url, shared
    assert response.status_code == 202
    with app.app_context():
        assert db.session.scalar(select(DunningRun.state)) == "queued"


def test_progress_polls_until_the_run_is_done(app, portal, seed, merchant_info):
    from tests.portal.conftest import PORTAL_RULES

    app.config["MAHNWERK_TODAY"] = "2026-10-15"
    seed(merchant_info["id"], [order_body("AK-1"), order_body("AK-2")], rules=PORTAL_RULES)
    run_id = re.search(r"/runs/(\d+)/progress", portal.post("/runs").get_data(as_text=True))[1]
    queued = portal.get(f"/runs/{run_id}/progress", htmx=True).get_data(as_text=True)
    assert POLL in re.search(r'<div id="run-progress"[^>]*>', queued)[0]
    assert "state-queued" in queued

    drain(app)

    done = portal.get(f"/runs/{run_id}/progress", htmx=True)
    text = done.get_data(as_text=True)
    assert done.status_code == 200
    opening = re.search(r'<div id="run-progress"[^>]*>', text)[0]
    assert "hx-trigger" not in opening and "hx-get" not in opening  # the poll stops
    assert POLL not in text
    assert "state-done" in text
    assert "2 of 2 due orders examined" in text
    assert "remind" in text
    history = portal.get("/runs").get_data(as_text=True)
    assert "portal" in history and "state-done" in history


def test_progress_of_another_merchants_run_is_404(app, portal, make_merchant):
    other = Portal(app, make_merchant("Bergladen AG"))
    run_id = re.search(r"/runs/(\d+)/progress", other.post("/runs").get_data(as_text=True))[1]
    assert portal.get(f"/runs/{run_id}/progress", htmx=True).status_code == 404
    assert "Bergladen" not in portal.get("/runs").get_data(as_text=True)
    assert f">{run_id}</a>" not in portal.get("/runs").get_data(as_text=True)


def test_outbox_lists_own_messages_and_filters_by_state(app, portal, seed, merchant_info):
    from ledger import outbox
    from ledger.db import db

    seed(merchant_info["id"], [order_body("AK-1"), order_body("AK-2")])
    portal.post("/orders/AK-1/remind")
    portal.post("/orders/AK-2/remind")
    portal.post("/orders/AK-2/mark-paid")  # withdraws AK-2's pending reminder
    with app.app_context():
        outbox.add(merchant_info["id"], "email", "accounting_digest", "x@example.com")
        db.session.commit()
    other = Portal(app, _other(app))
    text = portal.get("/outbox").get_data(as_text=True)
    assert "ak-1@example.de" in text and "ak-2@example.de" in text
    assert 'href="/orders/AK-1"' in text
    pending = portal.get("/outbox?state=pending", htmx=True).get_data(as_text=True)
    assert "ak-1@example.de" in pending and "ak-2@example.de" not in pending
    cancelled = portal.get("/outbox?state=cancelled").get_data(as_text=True)
    assert "ak-2@example.de" in cancelled and "ak-1@example.de" not in cancelled
    assert "the order was paid" in cancelled  # the reason
    assert "Unknown state" in portal.get("/outbox?state=nope").get_data(as_text=True)
    assert "No messages match." in other.get("/outbox").get_data(as_text=True)


def _other(app):
    from ledger import accounts
    from ledger.db import db

    with app.app_context():
        merchant = accounts.create_merchant("Bergladen AG", "b@example.com")
        accounts.create_user("owner@bergladen.example", merchant, "correct horse battery")
        db.session.commit()
    return {"email": "owner@bergladen.example", "password": "correct horse battery"}
