"""The customer's links and "I have already paid" (ledger/customer_links.py, ledger/claims.py):
signed links told apart (forged, expired, erased), claims with real PDF, JPEG and PNG proofs,
refused HTML-as-PDF and oversized files (nothing stored), the pause in the daily run, the
team's notice, received when the money comes and not received after the pause."""

from __future__ import annotations

import io
import time
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from ledger import claims, customer_links, dunning, lifecycle, manual, messages
from ledger.db import db
from ledger.models import AuditEntry, OutboxMessage, PaymentClaim

DAY0 = date(2026, 10, 1)  # the add_order fixture's order day
REMIND_DAY = DAY0 + timedelta(days=14)  # the card's rules: remind after 14 days


def image(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(out, kind)
    return out.getvalue()


def pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string="<p>Überweisung 80,00 EUR</p>").write_pdf()


HTML_AS_PDF = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


@pytest.fixture
def order(card_merchant, add_order):
    found = add_order(card_merchant, "K-1")
    db.session.commit()
    return found


def claim(order, paid_on=DAY0 + timedelta(days=3), proof=None, name=None, today=REMIND_DAY):
    return lifecycle.retrying(
        lambda: claims.claim(order, paid_on, "paid by transfer", proof, name, today=today)
    )


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- links ---------------------------------------------------------------------------------


def test_a_link_opens_its_order_and_nothing_else(ctx, order):
    link = customer_links.link_for(order)
    assert link.startswith(ctx.config["PORTAL_URL"] + "/c/")
    token = link.rsplit("/", 1)[1]
    assert customer_links.resolve(token).id == order.id
    assert order.customer_email not in link and order.number not in link


def test_a_changed_or_foreign_signature_is_forged(ctx, order):
    token = customer_links.token_for(order)
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    with pytest.raises(customer_links.LinkForged):
        customer_links.resolve(tampered)
    with pytest.raises(customer_links.LinkForged):
        customer_links.resolve("not-a-token")
    from itsdangerous import URLSafeTimedSerializer

    other = URLSafeTimedSerializer("another secret", salt=customer_links.SALT)
    with pytest.raises(customer_links.LinkForged):
        customer_links.resolve(other.dumps({"o": order.id, "m": order.merchant_id, "v": 1}))


def test_a_link_older_than_180_days_is_expired(ctx, order, monkeypatch):
    then = time.time() - customer_links.MAX_AGE.total_seconds() - 60
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: then)
    old = customer_links.token_for(order)
    monkeypatch.undo()
    with pytest.raises(customer_links.LinkExpired) as caught:
        customer_links.resolve(old)
    assert caught.value.order.id == order.id and not caught.value.closed


def test_a_paid_order_s_link_is_expired_because_nothing_is_open(ctx, order, pay):
    token = customer_links.token_for(order)
    pay(order)
    with pytest.raises(customer_links.LinkExpired) as caught:
        customer_links.resolve(token)
    assert caught.value.closed


def test_erasure_ends_every_link_and_drops_the_proofs(ctx, order):
    token = customer_links.token_for(order)
    found = claim(order, proof=image("PNG"), name="beleg.png")
    manual.erase_personal_data(order, "user:owner@x.example", REMIND_DAY)
    db.session.commit()
    with pytest.raises(customer_links.LinkUnknown):
        customer_links.resolve(token)
    db.session.expire_all()
    assert db.session.get(PaymentClaim, found.id).proof is None
    assert db.session.get(PaymentClaim, found.id).note is None


# --- claims ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, media_type, extension",
    [(pdf, "application/pdf", "pdf"), (lambda: image("JPEG"), "image/jpeg", "jpg"),
     (lambda: image("PNG"), "image/png", "png")],
    ids=["pdf", "jpeg", "png"],
)  # fmt: skip
def test_a_claim_keeps_a_proof_of_each_allowed_type(ctx, order, make, media_type, extension):
    data = make()
    found = claim(order, proof=data, name="../../Beleg Überweisung.bin")
    db.session.expire_all()
    stored = db.session.get(PaymentClaim, found.id)
    assert stored.proof == data and stored.proof_type == media_type
    assert stored.proof_size == len(data) and stored.state == claims.OPEN
    assert stored.proof_name == f"Beleg Überweisung.{extension}"
    assert db.session.get(type(order), order.id).payment_claimed_on == REMIND_DAY  # claim day


@pytest.mark.parametrize(
    "proof, paid_on, code",
    [
        (HTML_AS_PDF, DAY0, "proof_type"),
        (b"%PDF-" + b"0" * claims.MAX_PROOF_BYTES, DAY0, "proof_too_big"),
        (None, REMIND_DAY + timedelta(days=1), "paid_on_future"),
        (None, DAY0 - timedelta(days=1), "paid_on_before_order"),
        (None, None, "paid_on_missing"),
    ],
    ids=["html-named-pdf", "over-5-mb", "future", "before-order", "no-day"],
)
def test_bad_input_is_refused_and_nothing_is_stored(ctx, order, proof, paid_on, code):
    before_messages, before_audit = count(OutboxMessage), count(AuditEntry)
    with pytest.raises(claims.ClaimRefused) as caught:
        claim(order, paid_on=paid_on, proof=proof, name="beleg.pdf")
    db.session.rollback()
    assert caught.value.code == code
    assert count(PaymentClaim) == 0
    assert count(OutboxMessage) == before_messages and count(AuditEntry) == before_audit
    assert db.session.get(type(order), order.id).payment_claimed_on is None


def test_exactly_5_mb_is_taken(ctx, order):
    data = b"%PDF-" + b"0" * (claims.MAX_PROOF_BYTES - 5)
    assert claim(order, proof=data).proof_size == claims.MAX_PROOF_BYTES


def test_the_claim_tells_the_team_in_the_merchant_s_language(ctx, order, card_merchant):
    card_merchant.team_email = "team@alpenkiste.example"
    db.session.commit()
    claim(order, proof=image("PNG"))
    notice = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.purpose == claims.NOTICE_PURPOSE)
    )
    assert notice.recipient == "team@alpenkiste.example" and notice.order_id == order.id
    assert "K-1" in notice.subject and "Kunde meldet Zahlung" in notice.subject
    assert "04.10.2026" in notice.body and "mit Beleg" in notice.body
    assert notice.body.strip().endswith("/orders/K-1")
    assert order.customer_email not in notice.body


def test_a_second_claim_updates_the_open_one_without_a_new_pause(ctx, order):
    first = claim(order, today=REMIND_DAY)
    second = claim(
        order, paid_on=DAY0 + timedelta(days=5), proof=pdf(), today=REMIND_DAY + timedelta(days=3)
    )
    assert second.id == first.id and count(PaymentClaim) == 1
    assert second.paid_on == DAY0 + timedelta(days=5) and second.proof_type == "application/pdf"
    assert order.payment_claimed_on == REMIND_DAY
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.order_id == order.id))
    assert list(actions).count("payment.claimed") == 1


def test_the_claim_pauses_the_daily_run_then_it_is_not_received(ctx, card_merchant, order):
    claim(order, today=REMIND_DAY)  # the reminder's day: the customer says they paid
    dunning.execute(card_merchant, REMIND_DAY)
    reminders = select(func.count()).where(OutboxMessage.purpose == "reminder")
    assert db.session.scalar(reminders) == 0
    dunning.execute(card_merchant, REMIND_DAY + timedelta(days=6))  # the pause is 7 days
    assert db.session.scalar(reminders) == 0
    assert db.session.scalar(select(PaymentClaim.state)) == claims.OPEN

    dunning.execute(card_merchant, REMIND_DAY + timedelta(days=7))
    assert db.session.scalar(reminders) == 1
    assert db.session.scalar(select(PaymentClaim.state)) == claims.NOT_RECEIVED


def test_the_claim_is_received_when_the_payment_comes(ctx, order, pay):
    found = claim(order)
    pay(order, day=REMIND_DAY + timedelta(days=2))
    db.session.commit()
    db.session.expire_all()
    found = db.session.get(PaymentClaim, found.id)
    assert found.state == claims.RECEIVED and found.closed_at is not None
    assert "claim.received" in db.session.scalars(select(AuditEntry.action)).all()


def test_a_claim_on_a_closed_order_is_refused(ctx, order, pay):
    pay(order)
    with pytest.raises(claims.ClaimRefused) as caught:
        claim(order)
    assert caught.value.code == "order_closed"


def test_a_partial_payment_leaves_the_claim_open_until_the_order_is_paid(ctx, order, pay):
    found = claim(order)
    pay(order, amount="30.00", day=REMIND_DAY)
    assert found.state == claims.OPEN
    pay(order, amount="50.00", day=REMIND_DAY + timedelta(days=1))
    db.session.commit()
    claims.review(order.merchant, REMIND_DAY + timedelta(days=2))  # the daily check catches it
    assert found.state == claims.RECEIVED


# --- the reminder mail ------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["de", "en", "fr", "it"])
def test_the_reminder_carries_the_link_in_text_and_html(ctx, card_merchant, add_order, language):
    order = add_order(card_merchant, f"L-{language}", language=language)
    mail = messages.reminder(order, card_merchant, 1, None, False)
    link = customer_links.link_for(order).rsplit("/", 1)[0] + "/"
    assert link in mail.body and f'href="{link}' in mail.html
    token = mail.body.split(link, 1)[1].split()[0]
    assert customer_links.resolve(token).id == order.id


def test_the_swiss_reminder_link_survives_the_swiss_spelling(ctx, card_merchant, add_order):
    order = add_order(card_merchant, "CH-1")
    order.country = "CH"
    mail = messages.reminder(order, card_merchant, 1, None, False)
    assert "ß" not in mail.body and customer_links.PATH in mail.body


def test_the_claim_is_audited_as_the_customer_s(ctx, order):
    claim(order)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "payment.claimed"))
    assert entry.actor == claims.CUSTOMER
