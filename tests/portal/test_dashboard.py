"""The dashboard page: the hand-built book's figures on the page (English and German formats),
the snapshot recomputed by the worker job (and the triggers that ask for it), an empty
merchant, every role; the order list's open total as its own lazy block."""

from __future__ import annotations

import re
from datetime import date

import pytest

from ledger.permissions import Role
from tests.ledger.test_dashboard import TODAY, _order, build_book
from tests.portal.conftest import PORTAL_RULES, Portal, order_body
from tests.portal.test_roles import _user


def _drain(app) -> None:
    from worker.runner import InlineWorker, make_worker

    make_worker(app, InlineWorker).work(burst=True, logging_level="WARNING")


def _jobs(app) -> list[str]:
    return [job.func_name for job in app.extensions["job_queue"].queue.get_jobs()]


@pytest.fixture
def book(app, merchant_info):
    from ledger.accounts import find_merchant

    app.config["MAHNWERK_TODAY"] = TODAY.isoformat()
    with app.app_context():
        merchant = find_merchant(merchant_info["name"])
        build_book(merchant)
        _order(merchant, "G1", "invoice", "1234.50", date(2026, 11, 25), date(2026, 12, 9))
        from ledger.db import db

        db.session.commit()
    return merchant_info


def _text(html: str) -> str:
    """The page's text without tags, spaces collapsed."""
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html))


def _row(html: str, header: str) -> str:
    """The text of the table row headed `header`."""
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        cells = _text(row).strip()
        if cells.startswith(header + " "):
            return cells
    raise AssertionError(f"no row {header!r}")


def test_the_page_shows_the_books_figures(app, book):
    portal = Portal(app, book)
    html = portal.get("/dashboard").get_data(as_text=True).replace("\xa0", " ")  # CHF 1.00
    text = _text(html)
    # open: 7 orders, EUR 710.00 + G1's 1,234.50; CHF apart
    assert "7 open orders" in text and "€1,944.50" in text and "CHF 150.00" in text
    assert _row(html, "invoice") == "invoice 5 €1,834.50 CHF 150.00"
    assert _row(html, "prepayment") == "prepayment 1 €30.00 CHF 0.00"
    assert _row(html, "cod") == "cod 1 €80.00 CHF 0.00"
    assert _row(html, "not yet due") == "not yet due 2 €1,334.50 CHF 0.00"
    assert _row(html, "15–30 days") == "15–30 days 1 €0.00 CHF 150.00"
    assert _row(html, "more than 90 days") == "more than 90 days 1 €80.00 CHF 0.00"
    assert "1 overdue €80.00" in text and "1 in collection €300.00" in text
    # recovery: level 1 half paid within 14 days, level 2 all
    assert _row(html, "1") == "1 2 1 50% €120.00 CHF 0.00"
    assert _row(html, "2") == "2 1 1 100% €90.00 CHF 0.00"
    assert "within 14 days of their first reminder" in text
    # months: November's sales without the cancelled unpaid prepayment order
    assert _row(html, "Nov 2026") == "Nov 2026 4 €1,534.50 CHF 150.00 1 €60.00 CHF 0.00"
    assert _row(html, "Dec 2025") == "Dec 2025 0 €0.00 CHF 0.00 0 €0.00 CHF 0.00"
    # work waiting, each with the page that handles it
    assert "1 payment claim to check" in text and "2 bank payments in the inbox" in text
    assert "5 days old bank data (Nov 25, 2026)" in text and "Older than 3 days" in text
    assert "1 failed message" in text
    assert 'href="/orders?flag=payment_claimed"' in html
    assert 'href="/outbox?state=failed"' in html and 'href="/bank#inbox"' in html
    assert len(re.findall(r'href="/runs/\d+/progress"', html)) == 3
    # charts: SVG images with a title, the numbers also in tables
    assert html.count('role="img"') == 3 and 'aria-labelledby="chart-age-title' in html
    assert '<title id="chart-recovery-title">' in html and "style=" not in html
    assert "Figures as of" in text


def test_the_page_in_german_formats(app, book):
    portal = Portal(app, book)
    portal.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9"
    html = portal.get("/dashboard").get_data(as_text=True)
    text = _text(html)
    assert "1.944,50\xa0€" in text and "CHF\xa0150.00" in text
    assert _row(html, "Rechnung").startswith("Rechnung 5 1.834,50\xa0€")
    assert _row(html, "1").startswith("1 2 1 50\xa0% 120,00\xa0€")
    assert "Übersicht" in text or "Dashboard" in text
    assert "Zahlen vom" in text


def test_counts_in_german_have_thousands_points(app, merchant_info):
    from portal.i18n import number

    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert number(1_000_000) == "1.000.000"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert number(1_000_000) == "1,000,000"


def test_the_snapshot_is_recomputed_by_the_job(app, book):
    from ledger.accounts import find_merchant
    from ledger.db import db

    portal = Portal(app, book)
    assert "7 open orders" in _text(portal.get("/dashboard").get_data(as_text=True))
    with app.app_context():
        _order(find_merchant(book["name"]), "N1", "invoice", "5.00", TODAY, TODAY)
        db.session.commit()
    # the page reads the snapshot: the new order is not in it yet
    assert "7 open orders" in _text(portal.get("/dashboard").get_data(as_text=True))

    waiting = portal.post("/dashboard/recompute").get_data(as_text=True)
    assert "Recomputing" in waiting and 'hx-trigger="every 2s"' in waiting
    assert "<nav" not in waiting  # the figures block only
    assert _jobs(app) == ["worker.jobs.refresh_dashboard"]
    portal.post("/dashboard/recompute")  # a second click queues no second job
    assert _jobs(app) == ["worker.jobs.refresh_dashboard"]

    _drain(app)
    block = portal.get("/dashboard", htmx=True).get_data(as_text=True)
    assert "8 open orders" in _text(block) and "Recomputing" not in block
    assert "every 2s" not in block
    assert re.search(
        r"Figures as of \w{3} \d+, \d{4}, \d+:\d\d\s?[AP]M \((now|\d+ seconds? ago)\)", _text(block)
    )


def test_another_queues_running_recompute_does_not_hold_this_one(app, book):
    """Job ids belong to their queue: a recompute left running (its worker killed) by another
    installation or test run on the same Redis server, for a merchant with the same id, does not
    keep this merchant's recompute from being queued (CI failed on exactly that)."""
    from rq.job import JobStatus

    from ledger import dashboard
    from ledger.accounts import find_merchant
    from ledger.queueing import JobQueue

    with app.app_context():
        merchant_id = find_merchant(book["name"]).id
        other = JobQueue(app)
        other.name = app.extensions["job_queue"].name + "-other"
        stuck = other.enqueue(
            "worker.jobs.refresh_dashboard",
            merchant_id,
            job_id=other.job_id("dashboard", merchant_id),
        )
        stuck.set_status(JobStatus.STARTED)
        try:
            assert dashboard.schedule_refresh(merchant_id) is True
            assert dashboard.schedule_refresh(merchant_id) is False  # its own one waits
        finally:
            other.queue.empty()  # deletes the job too
    assert _jobs(app) == ["worker.jobs.refresh_dashboard"]


def test_the_daily_run_and_the_dispatch_ask_for_a_recompute(app, book):
    from ledger import dunning
    from ledger.accounts import find_merchant
    from ledger.db import db
    from worker import jobs

    with app.app_context():
        merchant = find_merchant(book["name"])
        assert jobs.refresh_stale_dashboards() == [merchant.id]  # no snapshot yet
        assert jobs.refresh_stale_dashboards() == []  # queued already
        _drain(app)
        assert jobs.refresh_stale_dashboards() == []  # fresh
        run = dunning.start_run(merchant, TODAY, "cli")
        db.session.commit()
        jobs.run_dunning(run.id)
    assert _jobs(app) == ["worker.jobs.refresh_dashboard"]


def test_an_empty_merchants_dashboard(app, merchant_info):
    portal = Portal(app, merchant_info)
    response = portal.get("/dashboard")
    assert response.status_code == 200
    text = _text(response.get_data(as_text=True))
    assert "0 open orders" in text and "No reminders yet." in text
    assert "No bank data imported yet" in text and "No runs yet." in text


@pytest.mark.parametrize("role", list(Role))
def test_every_role_sees_the_dashboard(app, merchant_info, role):
    portal = _user(app, merchant_info, role)
    assert portal.get("/dashboard").status_code == 200
    assert portal.post("/dashboard/recompute").status_code == 200


def test_the_start_page_is_the_dashboard(app, portal):
    response = portal.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"


def test_the_order_list_loads_its_open_total_as_its_own_block(app, portal, merchant_info, seed):
    seed(
        merchant_info["id"],
        [
            order_body("AK-1", amount="100.00"),
            order_body("AK-2", amount="20.50"),
            order_body("AK-3", amount="1000.00", method="invoice"),
        ],
        PORTAL_RULES,
    )
    listing = portal.get("/orders?method=prepayment", htmx=True).get_data(as_text=True)
    placeholder = re.search(r'<span class="open-total" id="open-total"[^>]*>', listing)[0]
    assert 'hx-get="/orders/open-total?method=prepayment"' in placeholder
    assert 'hx-trigger="load"' in placeholder and "€" not in _text(listing).split("Open:")[1][:20]
    block = portal.get("/orders/open-total?method=prepayment", htmx=True).get_data(as_text=True)
    assert "Open: <strong>€120.50</strong>" in block and "<table" not in block
    everything = portal.get("/orders/open-total", htmx=True).get_data(as_text=True)
    assert "Open: <strong>€1,120.50</strong>" in everything
    nothing = portal.get("/orders/open-total?q=nobody", htmx=True).get_data(as_text=True)
    assert "Open:" not in nothing and 'id="open-total"' in nothing


def test_the_order_list_filters_payment_claims(app, book):
    portal = Portal(app, book)
    html = portal.get("/orders?flag=payment_claimed").get_data(as_text=True)
    numbers = re.findall(r'class="order-link" href="/orders/([^"]+)"', html)
    assert numbers == ["A2"]
