"""The orders list's new filters and search, and its bulk actions: review (counts, skipped
with reasons), start (a job for the worker), progress, roles, and bad input storing nothing."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.portal.conftest import PORTAL_RULES, Portal, count, order_body
from tests.portal.test_portal_orders import numbers_in

PASSWORD = "correct horse battery staple"


@pytest.fixture
def book(app, portal, seed, merchant_info):
    """March and April prepayment orders, an invoice order with an invoice number and extra
    numbers, one paid, one reminded, one in collection, one with a bounced reminder."""
    seed(
        merchant_info["id"],
        [
            order_body("M-1", name="Anna Alpen", ordered_on=date(2026, 3, 2), amount="120.50"),
            order_body("M-2", name="Bruno Berg", ordered_on=date(2026, 3, 30)),
            order_body("M-3", name="Clara Chur", ordered_on=date(2026, 3, 15)),
            order_body("A-1", name="Dora Dorn", ordered_on=date(2026, 4, 1), amount="1234.50"),
            order_body(
                "R-1",
                name="Emil Enz",
                method="invoice",
                ordered_on=date(2026, 3, 5),
                invoice_number="RE-2026-0042",
            ),  # fmt: skip
            order_body("C-1", name="Fritz Frey", method="invoice", ordered_on=date(2026, 2, 1)),
        ],
        PORTAL_RULES,
    )
    from ledger import collection, lifecycle, manual, order_edits, orders
    from ledger.clock import today_for
    from ledger.db import db
    from ledger.models import Merchant, Source, utcnow

    with app.app_context():
        merchant = db.session.get(Merchant, merchant_info["id"])
        today = today_for(merchant)
        cause = lifecycle.Cause("test", Source.MANUAL, today)
        orders.mark_paid(orders.find_order(merchant.id, "M-3"), today, "test")
        message = manual.remind_now(orders.find_order(merchant.id, "M-2"), today, "test")
        message.bounced_at = utcnow()
        merchant.collection_partner = "Inkasso Nord GmbH"
        collection.hand_over(orders.find_order(merchant.id, "C-1"), cause)
        order_edits.set_payment_info(
            orders.find_order(merchant.id, "R-1"), [], ["ZV-778899"], cause
        )
        db.session.commit()
    return portal


def listed(portal, query: str) -> set[str]:
    return set(numbers_in(portal.get(f"/orders?{query}").get_data(as_text=True)))


def test_the_new_filters(book):
    assert listed(book, "level=1") == {"M-2"}
    assert listed(book, "level=0") == {"M-1", "M-3", "A-1", "R-1", "C-1"}
    assert listed(book, "ordered_from=2026-03-01&ordered_to=2026-03-31") == {
        "M-1", "M-2", "M-3", "R-1",
    }  # fmt: skip
    assert listed(book, "ordered_from=2026-04-01") == {"A-1"}
    assert listed(book, "flag=in_collection") == {"C-1"}
    assert listed(book, "flag=bounced") == {"M-2"}
    assert listed(book, "status=unpaid&method=prepayment&ordered_to=2026-03-31") == {"M-1", "M-2"}


def test_bad_level_and_date_are_said_and_ignored(book):
    page = book.get("/orders?level=x&ordered_from=2026-13-01").get_data(as_text=True)
    assert "The dunning level must be a whole number from 0 to 9" in page
    assert "is not a date like 2026-03-31" in page
    assert len(numbers_in(page)) == 6
    assert listed(book, "level=12") == listed(book, "")
    for odd in ("²", "9" * 5000, "-1", "1.5"):  # digits int() refuses, or none at all
        response = book.get(f"/orders?level={odd}")
        assert response.status_code == 200
        assert "The dunning level must be a whole number" in response.get_data(as_text=True)


def test_search_by_invoice_number_email_and_amount(book):
    assert listed(book, "q=RE-2026-00") == {"R-1"}
    assert listed(book, "q=m-1%40example") == {"M-1"}  # the customer's email
    assert listed(book, "q=120,50") == {"M-1"}
    assert listed(book, "q=120.50") == {"M-1"}
    assert listed(book, "q=1.234,50") == {"A-1"}
    assert listed(book, "q=80") == {"M-2", "M-3", "R-1", "C-1"}  # 80.00 each
    assert listed(book, "q=dora") == {"A-1"}
    assert listed(book, "q=zv-7788") == {"R-1"}  # an extra number the customer pays with


def test_the_list_offers_a_checkbox_per_order_and_the_bulk_form(book):
    page = book.get("/orders").get_data(as_text=True)
    assert page.count('type="checkbox" name="order"') == 6
    assert re.search(r'<label class="sr-only" for="pick-1">[^<]+</label>', page)
    assert "Select all 6 orders matching the filter" in page
    assert 'action="/orders/bulk/review"' in page


def review_text(portal, query: str):
    response = portal.get(f"/orders/bulk/review?{query}")
    return response.status_code, response.get_data(as_text=True)


def test_review_counts_touched_and_skipped_with_reasons(book):
    status, page = review_text(book, "action=remind&all=1&ordered_to=2026-03-31")
    assert status == 200
    assert "4 orders will be touched." in page  # M-1, M-2, R-1, C-1 (the table allows it)
    assert "1 order will be skipped" in page
    assert "M-3</a>: the order is paid" in page
    assert 'name="ordered_to" value="2026-03-31"' in page and ">Start<" in page
    status, page = review_text(book, "action=cancel&all=1&flag=in_collection")
    assert "C-1</a>: the order is in collection" in page
    status, page = review_text(book, "action=cancel&order=M-1&order=R-1")
    assert "1 order will be touched." in page
    assert "R-1</a>: only prepayment orders can be cancelled" in page
    assert 'name="notice"' in page and 'name="reason"' in page


def test_nothing_to_touch_offers_no_start(book):
    status, page = review_text(book, "action=unblock&all=1")
    assert status == 200 and "nothing to start" in page and ">Start<" not in page


def start(portal, data: dict):
    return portal.post("/orders/bulk", data, htmx=False)


def test_start_runs_in_the_worker_and_shows_progress(app, book, merchant_info):
    from ledger import bulk_actions
    from ledger.db import db
    from ledger.models import AuditEntry, BulkJob

    response = start(
        book, {"action": "remind", "all": "1", "status": "unpaid", "ordered_to": "2026-03-31"}
    )
    assert response.status_code == 303
    job_url = response.headers["Location"]
    job_id = int(job_url.rsplit("/", 1)[1])
    page = book.get(job_url).get_data(as_text=True)
    assert "0 of 3 orders done" in page and 'hx-trigger="every 1s"' in page
    with app.app_context():
        bulk_actions.run(job_id)
        job = db.session.get(BulkJob, job_id)
        assert (job.state, job.done, job.created_by) == (
            "done",
            3,
            f"user:{merchant_info['email']}",
        )
        assert db.session.scalar(
            select(AuditEntry.action).where(AuditEntry.action == "bulk.started")
        )
    block = book.get(job_url, htmx=True).get_data(as_text=True)
    assert block.lstrip().startswith('<section id="bulk-progress"')
    assert "3 of 3 orders done" in block and "every 1s" not in block
    assert "Finished: 3 orders touched, 0 skipped." in block


def test_block_needs_a_reason_and_bad_input_stores_nothing(app, book):
    from ledger.models import BulkJob

    response = start(book, {"action": "block", "order": "M-1"})
    assert response.status_code == 422
    assert "Please give a reason for the dunning block." in response.get_data(as_text=True)
    response = start(book, {"action": "explode", "order": "M-1"})
    assert response.status_code == 422
    assert "Choose one of the bulk actions" in response.get_data(as_text=True)
    response = start(book, {"action": "remind"})
    assert response.status_code == 422
    assert "No orders are chosen" in response.get_data(as_text=True)
    response = start(book, {"action": "remind", "order": "M-3"})  # paid: nothing to touch
    assert response.status_code == 422
    assert "there are no orders to act on" in response.get_data(as_text=True)
    numbers = [f"X-{n}" for n in range(10_001)]
    response = start(book, {"action": "remind", "order": numbers})
    assert response.status_code == 422
    assert "More than 10,000 orders are chosen" in response.get_data(as_text=True)
    status, page = review_text(book, "action=remind&" + "&".join(f"order={n}" for n in numbers))
    assert "More than 10,000 orders are chosen" in page and ">Start<" not in page
    assert count(app, BulkJob) == 0


def _user(app, merchant_info, role: str) -> Portal:
    from ledger import accounts
    from ledger.db import db

    with app.app_context():
        merchant = accounts.find_merchant(merchant_info["name"])
        email = f"{role}.bulk@alpenkiste.example"
        accounts.create_user(email, merchant, PASSWORD, role)
        db.session.commit()
    return Portal(app, {"email": email, "password": PASSWORD})


def test_roles_are_refused(app, book, merchant_info):
    from ledger.models import BulkJob

    clerk = _user(app, merchant_info, "clerk")
    assert clerk.get("/orders/bulk/review?action=remind&order=M-1").status_code == 200
    assert clerk.get("/orders/bulk/review?action=mark_paid&order=M-1").status_code == 403
    assert start(clerk, {"action": "mark_paid", "order": "M-1"}).status_code == 403
    assert "Mark paid" not in clerk.get("/orders").get_data(as_text=True)
    viewer = _user(app, merchant_info, "viewer")
    assert viewer.get("/orders/bulk/review?action=remind&order=M-1").status_code == 403
    assert start(viewer, {"action": "remind", "order": "M-1"}).status_code == 403
    assert 'name="order"' not in viewer.get("/orders").get_data(as_text=True)
    assert count(app, BulkJob) == 0


def test_another_merchants_job_is_404(app, book, make_merchant):
    other = Portal(app, make_merchant("Bergladen AG"))
    response = start(book, {"action": "remind", "order": "M-1"})
    job_url = response.headers["Location"]
    assert other.get(job_url).status_code == 404
    assert book.get(job_url).status_code == 200
    page = other.get("/orders/bulk/review?action=remind&order=M-1").get_data(as_text=True)
    assert "0 orders will be touched." in page  # another merchant's number finds nothing


def test_start_acts_on_the_orders_the_review_counted_none_sent_since(
    app, book, seed, merchant_info
):
    from ledger.db import db
    from ledger.models import BulkJob

    _status, page = review_text(book, "action=remind&all=1&ordered_to=2026-03-31")
    upto = re.search(r'name="upto" value="(\d+)"', page).group(1)
    seed(merchant_info["id"], [order_body("M-9", ordered_on=date(2026, 3, 20))])  # the shop
    query = {"action": "remind", "all": "1", "ordered_to": "2026-03-31"}
    response = start(book, query | {"upto": upto})
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        job = db.session.get(BulkJob, job_id)
        assert len(job.order_ids) == 4  # M-1, M-2, R-1, C-1 as reviewed; not M-9
