"""The order list (filters, search, pages), the order page, its manual actions, and that each
merchant sees only its own orders."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from ledger.db import db
from ledger.models import Merchant, OutboxMessage
from tests.portal.conftest import Portal, order_body


def numbers_in(html: str) -> list[str]:
    return re.findall(r'class="order-link" href="/orders/[^"]+">([^<]+)</a>', html)


@pytest.fixture
def other(app, make_merchant, seed):
    info = make_merchant("Bergladen AG")
    seed(info["id"], [order_body("B-1", name="Berta Bergmann")])
    return Portal(app, info)


def test_a_merchant_never_sees_another_merchants_orders(portal, other, seed, merchant_info):
    seed(merchant_info["id"], [order_body("A-1", name="Anna Alpen")])
    assert portal.get("/orders/A-1").status_code == 200
    assert other.get("/orders/A-1").status_code == 404
    assert portal.get("/orders/B-1").status_code == 404
    assert numbers_in(portal.get("/orders").get_data(as_text=True)) == ["A-1"]
    listing = other.get("/orders?q=Anna").get_data(as_text=True)
    assert "A-1" not in listing and "Anna Alpen" not in listing


def test_actions_on_another_merchants_order_are_404_and_change_nothing(app, portal, other):
    from ledger.db import db
    from ledger.models import AuditEntry, Order

    for action in ("mark-paid", "cancel", "remind", "erase"):
        assert portal.post(f"/orders/B-1/{action}", {"confirm": "yes"}).status_code == 404
    assert portal.post("/orders/B-1/block", {"blocked": "on", "reason": "x"}).status_code == 404
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == "B-1"))
        assert order.status == "unpaid" and not order.dunning_block and not order.erased_at
        actions = db.session.scalars(select(AuditEntry.action)).all()
        assert actions == ["order.created"]


def test_filters_and_search(portal, seed, merchant_info):
    seed(
        merchant_info["id"],
        [
            order_body("AK-100", name="Anna Schmidt", method="prepayment"),
            order_body("AK-101", name="Lukas Müller", method="invoice"),
            order_body("AK-102", name="Sophie Weber", method="cod"),
            order_body("XY-7", name="Anna Gruber", method="invoice"),
        ],
    )
    with portal.app.app_context():
        from ledger import orders
        from ledger.db import db

        orders.mark_paid(orders.find_order(merchant_info["id"], "AK-101"), order_day(), "test")
        db.session.commit()

    def listed(query: str) -> set[str]:
        return set(numbers_in(portal.get(f"/orders?{query}").get_data(as_text=True)))

    assert listed("") == {"AK-100", "AK-101", "AK-102", "XY-7"}
    assert listed("method=invoice") == {"AK-101", "XY-7"}
    assert listed("status=paid") == {"AK-101"}
    assert listed("status=unpaid&method=invoice") == {"XY-7"}
    assert listed("q=anna") == {"AK-100", "XY-7"}  # customer name, case-insensitive
    assert listed("q=AK-10") == {"AK-100", "AK-101", "AK-102"}  # order number
    assert listed("q=%25") == set()  # LIKE wildcards are searched for literally
    # htmx gets only the results block, with the same rows.
    fragment = portal.get("/orders?q=anna", htmx=True).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="results"')
    assert "<nav" not in fragment and set(numbers_in(fragment)) == {"AK-100", "XY-7"}


def test_search_through_the_index_finds_what_a_merchant_types(portal, seed, merchant_info):
    """The search reads a trigram index (pg_trgm / FTS5) from three characters on: any part of
    a number, name, e-mail or extra reference, upper or lower case, umlauts too; a match never
    spans two fields; a changed name is found by its new value, an erased one no more."""
    seed(
        merchant_info["id"],
        [
            order_body("AK-200", name="Jörg Müller", invoice_number="RE-2026-0042"),
            order_body("AK-201", name='Anna "Nanni" Schmidt'),
            order_body("AK-202", name="Sophie Weber", amount="123.45"),
        ],
    )
    with portal.app.app_context():
        from ledger import manual, orders
        from ledger.db import db

        orders.find_order(merchant_info["id"], "AK-201").extra_references = ["PRJ-77/3"]
        db.session.commit()  # as the order page's payment information writes it

    def listed(q: str) -> set[str]:
        return set(numbers_in(portal.get("/orders", query_string={"q": q}).get_data(True)))

    assert listed("MÜLLER") == listed("müll") == {"AK-200"}
    assert listed("2026-004") == {"AK-200"}  # the invoice number
    assert listed("ak-201@exam") == {"AK-201"}  # the e-mail
    assert listed("prj-77/") == {"AK-201"}  # an extra reference
    assert listed('"Nanni"') == {"AK-201"}  # quotes are text, not query syntax
    assert listed("123,45") == {"AK-202"}  # an amount
    assert listed("Weber ak-202") == set()  # name and e-mail are two fields
    assert listed("AK-2") == {"AK-200", "AK-201", "AK-202"}  # shorter than a trigram
    assert listed("ö") == {"AK-200"}

    with portal.app.app_context():
        order = orders.find_order(merchant_info["id"], "AK-202")
        order.customer_name = "Sophie Becker"  # as an edit writes it
        db.session.commit()
        manual.erase_personal_data(orders.find_order(merchant_info["id"], "AK-200"), "t", None)
        db.session.commit()
    assert listed("Becker") == {"AK-202"} and listed("Weber") == set()
    assert listed("Müller") == set()


def test_a_bad_filter_value_says_so_and_shows_everything(portal, seed, merchant_info):
    seed(merchant_info["id"], [order_body("AK-1")])
    text = portal.get("/orders?status=bogus").get_data(as_text=True)
    assert "Unknown status &#39;bogus&#39;" in text
    assert numbers_in(text) == ["AK-1"]


def test_pages_of_fifty(portal, seed, merchant_info):
    from datetime import date, timedelta

    bodies = [
        order_body(f"AK-{i:03d}", ordered_on=date(2026, 9, 1) + timedelta(days=i))
        for i in range(1, 56)
    ]
    seed(merchant_info["id"], bodies)
    first = portal.get("/orders").get_data(as_text=True)
    assert len(numbers_in(first)) == 50
    assert numbers_in(first)[0] == "AK-055"  # newest first
    assert "Page 1 of 2" in first and "Orders 1–50 of 55" in first
    second = numbers_in(portal.get("/orders?page=2").get_data(as_text=True))
    assert second == ["AK-005", "AK-004", "AK-003", "AK-002", "AK-001"]
    assert numbers_in(portal.get("/orders?page=99").get_data(as_text=True)) == second
    assert len(numbers_in(portal.get("/orders?page=abc").get_data(as_text=True))) == 50
    # The pager keeps the filters.
    assert 'href="/orders?page=2&amp;method=prepayment"' in portal.get(
        "/orders?method=prepayment"
    ).get_data(as_text=True)


def test_a_filter_finding_more_than_the_cap_says_more_than_and_ends_its_pages(
    portal, seed, merchant_info, monkeypatch
):
    from datetime import date, timedelta

    from portal import ui

    bodies = [
        order_body(f"AK-{i:03d}", ordered_on=date(2026, 9, 1) + timedelta(days=i))
        for i in range(1, 56)
    ]
    seed(merchant_info["id"], bodies)
    monkeypatch.setattr(ui, "COUNT_CAP", 54)  # the list counts no further than this
    first = portal.get("/orders").get_data(as_text=True)
    assert "Orders 1–50 of more than 54" in first and "Page 1 of more than 2" in first
    assert 'name="all"' not in first  # more than a bulk action takes: not offered
    assert "The list ends after" not in first
    last = portal.get("/orders?page=2").get_data(as_text=True)
    assert numbers_in(last) == ["AK-005", "AK-004", "AK-003", "AK-002"]  # the 54th is the last
    assert "The list ends after the first 54" in last and 'rel="next"' not in last
    assert numbers_in(portal.get("/orders?page=3").get_data(as_text=True)) == numbers_in(last)
    monkeypatch.setattr(ui, "COUNT_CAP", 55)  # exactly as many as found: not "more than"
    page = portal.get("/orders?page=2").get_data(as_text=True)
    assert "Orders 51–55 of 55" in page and "more than" not in page
    assert 'name="all"' in page  # "select all 55" offered again
    german = portal.get("/orders", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Bestellungen 1–50 von 55" in german


def order_day():
    from tests.portal.conftest import ORDER_DAY

    return ORDER_DAY


def audit_actions(app, number: str) -> list[str]:
    from ledger.db import db
    from ledger.models import AuditEntry, Order

    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        return db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.order_id == order.id)
        ).all()


def load(app, number: str):
    from ledger.db import db
    from ledger.models import Order

    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        db.session.expunge(order)
        return order


def test_order_page_shows_the_order(portal, seed, merchant_info):
    seed(merchant_info["id"], [order_body("AK-1", name="Anna Schmidt", amount="1234.50")])
    text = portal.get("/orders/AK-1").get_data(as_text=True)
    assert "Order AK-1" in text and "Anna Schmidt" in text
    assert "€1,234.50" in text  # the English page (German: tests/portal/test_i18n.py)
    assert "2026-10-01" in text
    assert "No rules are active" in text
    assert "order.created" in text  # the audit trail


def test_mark_paid(app, portal, seed, merchant_info):
    app.config["MAHNWERK_TODAY"] = "2026-10-05"
    seed(merchant_info["id"], [order_body("AK-1", amount="80.00")])
    response = portal.post("/orders/AK-1/mark-paid")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert text.lstrip().startswith('<div id="order"')
    assert "Recorded a payment of €80.00" in text
    order = load(app, "AK-1")
    assert order.status == "paid" and order.paid_total == 80
    assert "payment.recorded" in audit_actions(app, "AK-1")
    assert "2026-10-05" in text and "marked paid by hand" in text  # the payment row
    again = portal.post("/orders/AK-1/mark-paid")
    assert again.status_code == 422
    assert "paid already" in again.get_data(as_text=True)
    assert audit_actions(app, "AK-1").count("payment.recorded") == 1


def test_block_needs_a_reason_then_blocks_and_unblocks(app, portal, seed, merchant_info):
    seed(merchant_info["id"], [order_body("AK-1")])
    refused = portal.post("/orders/AK-1/block", {"blocked": "on", "reason": "  "})
    assert refused.status_code == 422
    assert "Please give a reason" in refused.get_data(as_text=True)
    assert not load(app, "AK-1").dunning_block

    response = portal.post("/orders/AK-1/block", {"blocked": "on", "reason": "disputed"})
    assert response.status_code == 200
    order = load(app, "AK-1")
    assert order.dunning_block and order.dunning_block_reason == "disputed"
    assert "blocked: disputed" in response.get_data(as_text=True)

    response = portal.post("/orders/AK-1/block", {"blocked": "off"})
    assert response.status_code == 200
    assert not load(app, "AK-1").dunning_block
    assert audit_actions(app, "AK-1")[-2:] == ["dunning.blocked", "dunning.unblocked"]


def test_refused_action_keeps_what_was_typed(portal, seed, merchant_info):
    seed(merchant_info["id"], [order_body("AK-1")])
    long_reason = "x" * 501
    response = portal.post("/orders/AK-1/block", {"blocked": "on", "reason": long_reason})
    assert response.status_code == 422
    assert f'value="{long_reason}"' in response.get_data(as_text=True)


def test_cancel(app, portal, seed, merchant_info):
    app.config["MAHNWERK_TODAY"] = "2026-10-09"
    seed(merchant_info["id"], [order_body("AK-1")])
    with app.app_context():
        db.session.get(Merchant, merchant_info["id"]).webhook_url = "https://shop.example/hooks"
        db.session.commit()
    response = portal.post("/orders/AK-1/cancel", {"reason": "customer withdrew"})
    assert response.status_code == 200
    order = load(app, "AK-1")
    assert order.status == "cancelled"
    with app.app_context():  # the shop hears of the cancel and may sell the goods again
        hooks = db.session.scalars(
            select(OutboxMessage.purpose).where(
                OutboxMessage.order_id == order.id, OutboxMessage.kind == "webhook"
            )
        ).all()
    assert sorted(hooks) == ["order.cancelled", "order.reservation_released"]
    assert order.cancelled_on.isoformat() == "2026-10-09"
    assert "order.cancelled" in audit_actions(app, "AK-1")
    assert "customer withdrew" in portal.get("/orders/AK-1").get_data(as_text=True)
    again = portal.post("/orders/AK-1/cancel")
    assert again.status_code == 422 and "cancelled already" in again.get_data(as_text=True)


def test_paid_order_cannot_be_cancelled(app, portal, seed, merchant_info):
    seed(merchant_info["id"], [order_body("AK-1")])
    portal.post("/orders/AK-1/mark-paid")
    response = portal.post("/orders/AK-1/cancel")
    assert response.status_code == 422
    assert load(app, "AK-1").status == "paid"


def test_plain_form_post_redirects_back_with_a_notice(portal, seed, merchant_info):
    seed(merchant_info["id"], [order_body("AK-1")])
    response = portal.client.post(
        "/orders/AK-1/block", data={"blocked": "on", "reason": "r", "csrf_token": portal.token}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/orders/AK-1"
    assert "Dunning is blocked." in portal.get("/orders/AK-1").get_data(as_text=True)


def test_remind_now_writes_an_event_and_a_message_and_enqueues_delivery(
    app, portal, seed, merchant_info
):
    from ledger.db import db
    from ledger.models import DunningEvent, OutboxMessage

    app.config["MAHNWERK_TODAY"] = "2026-10-07"
    seed(merchant_info["id"], [order_body("AK-1")])
    queue = app.extensions["job_queue"].queue
    response = portal.post("/orders/AK-1/remind")
    assert response.status_code == 200
    with app.app_context():
        event = db.session.scalar(select(DunningEvent))
        message = db.session.scalar(select(OutboxMessage))
        assert event.step_key == "manual/2026-10-07/1" and event.level == 1
        assert message.purpose == "reminder" and message.recipient == "ak-1@example.de"
        assert message.event_id == event.id and message.state == "pending"
        assert "AK-1" in message.subject
        assert [job.args for job in queue.get_jobs()] == [(message.id,)]
        assert queue.get_jobs()[0].func_name == "worker.jobs.deliver"
    assert load(app, "AK-1").dunning_level == 1
    assert "dunning.reminded" in audit_actions(app, "AK-1")
    # A second one the same day gets its own step key.
    assert portal.post("/orders/AK-1/remind").status_code == 200
    with app.app_context():
        keys = db.session.scalars(select(DunningEvent.step_key).order_by(DunningEvent.id)).all()
        assert keys == ["manual/2026-10-07/1", "manual/2026-10-07/2"]


def test_remind_now_is_refused_for_a_blocked_order(app, portal, seed, merchant_info):
    from ledger.db import db
    from ledger.models import OutboxMessage

    seed(merchant_info["id"], [order_body("AK-1")])
    portal.post("/orders/AK-1/block", {"blocked": "on", "reason": "disputed"})
    response = portal.post("/orders/AK-1/remind")
    assert response.status_code == 422
    assert "dunning is blocked" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage)) is None
    assert app.extensions["job_queue"].queue.count == 0


def test_gdpr_erasure_needs_confirmation_and_keeps_the_books(app, portal, seed, merchant_info):
    from ledger.db import db
    from ledger.models import AuditEntry, OutboxMessage

    seed(merchant_info["id"], [order_body("AK-1", name="Anna Schmidt", amount="49.90")])
    portal.post("/orders/AK-1/remind")
    refused = portal.post("/orders/AK-1/erase")
    assert refused.status_code == 422
    assert load(app, "AK-1").customer_name == "Anna Schmidt"

    response = portal.post("/orders/AK-1/erase", {"confirm": "yes"})
    assert response.status_code == 200
    order = load(app, "AK-1")
    assert order.erased_at is not None
    assert order.customer_name == "[erased]" and order.customer_email == "[erased]"
    assert order.amount == Decimal("49.90") and order.ordered_on.isoformat() == "2026-10-01"
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage))
        assert message.state == "cancelled" and message.body is None and message.html is None
        assert message.recipient == "[erased]"
        details = db.session.scalars(select(AuditEntry.detail)).all()
        assert "Anna Schmidt" not in repr(details) and "ak-1@example.de" not in repr(details)
    text = portal.get("/orders/AK-1").get_data(as_text=True)
    assert "Anna Schmidt" not in text and "personal data erased" in text
    assert "order.erased" in audit_actions(app, "AK-1")
    assert portal.post("/orders/AK-1/remind").status_code == 422


def test_a_paid_order_gets_no_dunning_block(app, portal, seed, merchant_info):
    seed(merchant_info["id"], [order_body("AK-1")])
    portal.post("/orders/AK-1/mark-paid")
    response = portal.post("/orders/AK-1/block", {"blocked": "on", "reason": "disputed"})
    assert response.status_code == 422
    assert "Nothing was changed: the order is paid" in response.get_data(as_text=True)
    assert not load(app, "AK-1").dunning_block
