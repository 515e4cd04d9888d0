"""Bulk reminders in a real browser: filter the unpaid prepayment orders of March, select all
the filter finds, review, start, and watch the progress reach "done" while the worker runs."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.portal.conftest import PORTAL_RULES, order_body
from tests.portal.test_portal_browser import _log_in, browser, csp  # noqa: F401 (fixtures)
from tests.portal.test_portal_runs_outbox import drain

pytestmark = pytest.mark.browser


@pytest.fixture
def shop(app, make_merchant, seed):
    """March and April orders; one of March paid, one an invoice. Today is 2026-04-10."""
    app.config["MAHNWERK_TODAY"] = "2026-04-10"
    info = make_merchant("Alpenkiste GmbH")
    march = [date(2026, 3, 2), date(2026, 3, 14), date(2026, 3, 31)]
    seed(
        info["id"],
        [order_body(f"MZ-{n}", ordered_on=day) for n, day in enumerate(march, 1)]
        + [
            order_body("MZ-PAID", ordered_on=date(2026, 3, 20)),
            order_body("MZ-RE", method="invoice", ordered_on=date(2026, 3, 5)),
            order_body("AP-1", ordered_on=date(2026, 4, 2)),
        ],
        rules=PORTAL_RULES,
    )
    from ledger import orders
    from ledger.db import db

    with app.app_context():
        orders.mark_paid(orders.find_order(info["id"], "MZ-PAID"), date(2026, 4, 1), "test")
        db.session.commit()
    return info


def test_bulk_reminders_for_a_filter_with_progress(app, live_server, csp, shop):  # noqa: F811
    from ledger.db import db
    from ledger.models import BulkJob, OutboxMessage

    page = csp.page()
    _log_in(page, live_server, shop)
    assert page.locator("a.order-link").count() == 6

    # The filter: unpaid prepayment orders ordered in March.
    # (each change sends the form through htmx and pushes its URL: one after the other)
    page.select_option("select[name=status]", "unpaid")
    page.wait_for_url(re.compile(r".*status=unpaid.*"))
    page.select_option("select[name=method]", "prepayment")
    page.wait_for_url(re.compile(r".*method=prepayment.*"))
    page.fill("input[name=ordered_from]", "2026-03-01")
    page.wait_for_url(re.compile(r".*ordered_from=2026-03-01.*"))
    page.fill("input[name=ordered_to]", "2026-03-31")
    page.click("button:has-text('Filter')")
    page.wait_for_url(re.compile(r".*ordered_to=2026-03-31.*"))
    page.locator("#results .summary", has_text="of 3").wait_for()
    assert sorted(page.locator("a.order-link").all_inner_texts()) == ["MZ-1", "MZ-2", "MZ-3"]

    # Select all the filter finds, choose the reminder, review.
    page.check("input[name=all]")
    page.select_option("select[name=action]", "remind")
    page.click("button:has-text('Review')")
    page.wait_for_url(re.compile(r".*/orders/bulk/review\?.*"))
    assert "3 orders will be touched." in page.locator("#bulk-review").inner_text()

    page.click("button:has-text('Start')")
    page.wait_for_url(re.compile(r".*/orders/bulk/\d+$"))
    progress = page.locator("#bulk-progress")
    assert "of 3 orders done" in progress.inner_text()

    # The worker runs the job (and delivers the reminders) while the page polls.
    drain(app)
    page.locator("#bulk-progress", has_text="3 of 3 orders done").wait_for(timeout=10_000)
    page.locator("#bulk-progress", has_text="Finished: 3 orders touched, 0 skipped.").wait_for()
    assert page.locator("#bulk-progress progress").get_attribute("value") == "3"
    assert page.locator("#bulk-progress[hx-trigger]").count() == 0  # polling stopped

    with app.app_context():
        job = db.session.scalar(select(BulkJob))
        assert (job.state, job.done, job.total) == ("done", 3, 3)
        reminders = db.session.scalars(
            select(OutboxMessage.recipient).where(OutboxMessage.purpose == "reminder")
        ).all()
        assert sorted(reminders) == [f"mz-{n}@example.de" for n in (1, 2, 3)]
        assert db.session.scalar(select(func.count(OutboxMessage.id))) >= 3
