"""The customer's "I have already paid" (the customer page, ledger/customer_links.py): the day
paid, a note and an optional proof (PDF, JPEG or PNG up to 5 MB, its type read from the
content, kept in the database, never served back to the customer).

A claim pauses dunning for the rules' claim pause (`lifecycle.claim_paid`, counted from the
day the customer tells us, so a claim of a payment weeks ago still pauses), tells the
merchant's team by mail, and shows on the order page. One open claim per order: a second one
while the first is open updates it (day, note, a new proof) and tells the team again, without
starting the pause anew. A claim is closed

- "received" when the order becomes paid (the lifecycle's transition calls `settle_claims`),
- "not_received" by the daily run's `review` when the pause ended and the order is still open
  (or was closed without the money: cancelled, written off).
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote

from flask import current_app
from sqlalchemy import select

from ledger import audit, clock, lifecycle, outbox, scheduling
from ledger.db import db
from ledger.models import (
    OPEN_STATUSES,
    Merchant,
    Order,
    PaymentClaim,
    Source,
    Status,
    utcnow,
)
from ledger.money import format_money
from ledger.rulebook import program_for

MAX_PROOF_BYTES = 5 * 1024 * 1024
MAX_NOTE = 1000
CUSTOMER = "customer"  # the actor of what the customer page does
NOTICE_PURPOSE = "claim_notice"
OPEN, RECEIVED, NOT_RECEIVED = "open", "received", "not_received"
# The proof's type from its first bytes (never from its name or the browser's word).
PROOF_SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)
EXTENSIONS = {media_type: ext for _sig, media_type, ext in PROOF_SIGNATURES}


class ClaimRefused(ValueError):
    """The claim is refused and nothing was stored: `code` (the customer page words it in the
    customer's language), `field` (where the form shows it) and its values."""

    def __init__(self, code: str, field: str | None = None, **params):
        super().__init__(code)
        self.code = code
        self.field = field
        self.params = params


def proof_type(data: bytes) -> str | None:
    """The media type the content is (PDF, JPEG, PNG), or None."""
    for signature, media_type, _ext in PROOF_SIGNATURES:
        if data.startswith(signature):
            return media_type
    return None


def claims_of(order: Order) -> list[PaymentClaim]:
    return list(
        db.session.scalars(
            select(PaymentClaim)
            .where(PaymentClaim.order_id == order.id)
            .order_by(PaymentClaim.id.desc())
        )
    )


def open_claim(order: Order) -> PaymentClaim | None:
    return db.session.scalar(
        select(PaymentClaim).where(PaymentClaim.order_id == order.id, PaymentClaim.state == OPEN)
    )


def check(
    order: Order, paid_on: date | None, note: str | None, proof: bytes | None, today: date
) -> str | None:
    """Refuses bad input before anything is stored; returns the proof's media type."""
    if paid_on is None:
        raise ClaimRefused("paid_on_missing", "paid_on")
    if paid_on > today:
        raise ClaimRefused("paid_on_future", "paid_on")
    if paid_on < order.ordered_on:
        raise ClaimRefused("paid_on_before_order", "paid_on", ordered_on=order.ordered_on)
    if note and len(note) > MAX_NOTE:
        raise ClaimRefused("note_too_long", "note", limit=MAX_NOTE)
    if not proof:
        return None
    if len(proof) > MAX_PROOF_BYTES:
        raise ClaimRefused("proof_too_big", "proof", limit=MAX_PROOF_BYTES)
    media_type = proof_type(proof)
    if media_type is None:
        raise ClaimRefused("proof_type", "proof")
    return media_type


def claim(
    order: Order,
    paid_on: date | None,
    note: str | None,
    proof_bytes: bytes | None,
    proof_name: str | None,
    actor: str = CUSTOMER,
    today: date | None = None,
) -> PaymentClaim:
    """The customer says they paid on `paid_on`. The caller commits (lifecycle.retrying)."""
    merchant = order.merchant or db.session.get(Merchant, order.merchant_id)
    today = today or clock.today_for(merchant)
    note = (note or "").strip() or None
    media_type = check(order, paid_on, note, proof_bytes, today)
    order = lifecycle.lock(order)
    if lifecycle.why_not(order, lifecycle.Event.CLAIM_PAID) is not None:
        raise ClaimRefused("order_closed")
    found = open_claim(order)
    updated = found is not None
    if found is None:
        found = PaymentClaim(merchant_id=order.merchant_id, order_id=order.id, state=OPEN)
        db.session.add(found)
    found.paid_on = paid_on
    found.note = note
    if media_type is not None:
        found.proof = proof_bytes
        found.proof_type = media_type
        found.proof_size = len(proof_bytes)
        found.proof_name = _file_name(proof_name, media_type)
    if not updated:
        cause = lifecycle.Cause(actor, Source.MANUAL, today)
        lifecycle.claim_paid(order, today, cause)  # audits "payment.claimed"
    db.session.flush()
    if updated:
        audit.record(
            order.merchant_id, actor, "claim.updated", order.id, paid_on=paid_on.isoformat()
        )
    _notify_team(order, merchant, found)
    return found


def _file_name(name: str | None, media_type: str) -> str:
    """The uploaded name, tidy and short, with the extension of what the content is."""
    base = "".join(
        c for c in (name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1] if c.isprintable()
    )
    stem = base.rsplit(".", 1)[0].strip() or "proof"
    return f"{stem[:150]}.{EXTENSIONS[media_type]}"


NOTICE = {
    "de": (
        "Bestellung {number}: Kunde meldet Zahlung",
        "Der Kunde der Bestellung {number} meldet auf der Kundenseite, am {paid_on} bezahlt "
        "zu haben{proof}.\nOffener Betrag: {open}.\nDas Mahnen ruht, bis die Zahlung eingeht "
        "oder die Pause der Regeln endet.\n\n{link}\n",
        " (mit Beleg)",
    ),
    "en": (
        "Order {number}: customer reports payment",
        "The customer of order {number} says on the customer page that they paid on "
        "{paid_on}{proof}.\nOpen amount: {open}.\nDunning pauses until the payment arrives or "
        "the rules' pause ends.\n\n{link}\n",
        " (with a proof)",
    ),
    "fr": (
        "Commande {number} : le client signale un paiement",
        "Le client de la commande {number} indique sur la page client avoir payé le "
        "{paid_on}{proof}.\nMontant ouvert : {open}.\nLes relances sont suspendues jusqu'à "
        "l'arrivée du paiement ou la fin de la pause des règles.\n\n{link}\n",
        " (avec justificatif)",
    ),
    "it": (
        "Ordine {number}: il cliente segnala il pagamento",
        "Il cliente dell'ordine {number} indica sulla pagina cliente di aver pagato il "
        "{paid_on}{proof}.\nImporto aperto: {open}.\nI solleciti sono sospesi fino all'arrivo "
        "del pagamento o alla fine della pausa delle regole.\n\n{link}\n",
        " (con ricevuta)",
    ),
}


def _notify_team(order: Order, merchant: Merchant, found: PaymentClaim) -> None:
    """A short plain mail to the team (its address, else accounting), in the merchant's
    language, with the order page's link. No customer data but the order number."""
    from ledger.messages import format_day

    lang = merchant.language if merchant.language in NOTICE else "de"
    subject, body, with_proof = NOTICE[lang]
    link = f"{current_app.config['PORTAL_URL']}/orders/{quote(order.number, safe='')}"
    outbox.add(
        merchant.id,
        "email",
        NOTICE_PURPOSE,
        merchant.team_email or merchant.accounting_email,
        order_id=order.id,
        subject=subject.format(number=order.number),
        body=body.format(
            number=order.number,
            paid_on=format_day(found.paid_on, lang),
            proof=with_proof if found.proof_type else "",
            open=format_money(order.open_amount, order.currency, lang),
            link=link,
        ),
    )


# --- closing -------------------------------------------------------------------------------


def _close(found: PaymentClaim, state: str, actor: str = "system") -> None:
    found.state = state
    found.closed_at = utcnow()
    audit.record(
        found.merchant_id,
        actor,
        "claim.received" if state == RECEIVED else "claim.not_received",
        found.order_id,
    )


def settle_claims(order: Order) -> None:
    """The order is paid: its open (and not received) claims were right."""
    for found in db.session.scalars(
        select(PaymentClaim).where(
            PaymentClaim.order_id == order.id, PaymentClaim.state.in_((OPEN, NOT_RECEIVED))
        )
    ):
        _close(found, RECEIVED)


def pause_ends(order: Order, found: PaymentClaim) -> date:
    """The day the claim's pause ends: from the day the claim was made (the order keeps it
    until a payment comes in), plus the claim pause of the rules that decide the order."""
    start = order.payment_claimed_on or found.created_at.date()
    _version, program = program_for(order)
    days = program.claim_pause(scheduling.order_facts(order)) if program else 0
    return start + timedelta(days=days)


def review(merchant: Merchant, today: date) -> int:
    """The daily check: each open claim of a paid order is received; of an order closed
    without the money, or still open after its pause, not received. Returns how many closed."""
    rows = db.session.execute(
        select(PaymentClaim, Order)
        .join(Order, Order.id == PaymentClaim.order_id)
        .where(PaymentClaim.merchant_id == merchant.id, PaymentClaim.state == OPEN)
    ).all()
    closed = 0
    for found, order in rows:
        if order.status == Status.PAID:
            _close(found, RECEIVED)
        elif order.status not in OPEN_STATUSES or today >= pause_ends(order, found):
            _close(found, NOT_RECEIVED)
        else:
            continue
        closed += 1
    return closed
