"""Manual actions from the order page that the rules do not take: a reminder now, and erasing
a customer's personal data (GDPR Art. 17) while keeping what the accountant must retain."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from ledger import audit, lifecycle, notes, notices, outbox, refusals
from ledger.db import db
from ledger.documents import invoices, print_runs
from ledger.messages import reminder
from ledger.models import (
    AuditEntry,
    BankTransaction,
    DunningEvent,
    LedgerEntry,
    Letter,
    Merchant,
    MessageState,
    Order,
    OutboxMessage,
    PaymentAssignment,
    PaymentClaim,
    Refund,
    RefundState,
    Source,
)
from ledger.rulebook import program_for

ERASED = "[erased]"
# Order fields that identify the customer; amounts, dates, numbers and the country stay.
PERSONAL_FIELDS = ("customer_name", "customer_email", "postal_address", "region")
# A bank transaction's own fields (ledger.bank.camt / mt940 `raw`) that name no person.
BANK_FIELDS_KEPT = frozenset(
    {"entry", "detail", "Amt", "detail Amt", "CdtDbtInd", "Sts", "BkTxCd", "AcctSvcrRef",
     "NtryRef", "EndToEndId", "CdtrRefInf", "RtrInf", "line", "mark", "GVC"}
)  # fmt: skip


ActionRefused = lifecycle.Refused
STEP_PREFIX = "manual/"  # a reminder by hand's step key: manual/<day>/<n>


def remind_now(order: Order, today: date, actor: str) -> OutboxMessage:
    """Send the customer a reminder today, outside the rules: one dunning event (with the next
    level, no fee) and one email in the outbox. The worker delivers it like any other. The
    rules' step of that level is then done: no second reminder of the level is planned."""
    order = lifecycle.lock(order)
    reason = lifecycle.why_not(order, lifecycle.Event.REMIND)
    if reason:
        raise ActionRefused(reason)
    merchant = order.merchant or db.session.get(Merchant, order.merchant_id)
    cause = lifecycle.Cause(actor, Source.MANUAL, today)
    reminded_before = order.dunning_level > 0
    prefix = f"{STEP_PREFIX}{today.isoformat()}/"
    earlier = db.session.scalar(
        select(func.count(DunningEvent.id)).where(
            DunningEvent.order_id == order.id, DunningEvent.step_key.startswith(prefix)
        )
    )
    level = order.dunning_level + 1
    version, _program = program_for(order)
    event = DunningEvent(
        merchant_id=order.merchant_id,
        order=order,
        run_id=None,
        ruleset_version_id=version.id if version else None,
        step_key=f"{prefix}{earlier + 1}",
        action="remind",
        level=level,
        fee=None,
        decided_on=today,
        reason=notes.text("reminded_by_hand", actor=actor),
    )
    db.session.add(event)
    lifecycle.remind(order, level, cause)
    db.session.flush()
    mail = reminder(order, merchant, level, None, reminded_before)
    message = outbox.add(
        order.merchant_id,
        "email",
        "reminder",
        order.customer_email,
        order_id=order.id,
        event_id=event.id,
        subject=mail.subject,
        body=mail.body,
        html=mail.html,
        payload={"language": order.language, "level": level, "manual": True, "inline": mail.inline},
    )
    lifecycle.refresh(order, cause)  # the rules see the reminder (its level, a minimum gap)
    audit.record(
        order.merchant_id, actor, "dunning.reminded", order.id, level=level, message=message.id
    )
    return message


def cancel(order: Order, cause: lifecycle.Cause, notice: str = "none") -> OutboxMessage | None:
    """Cancel a prepayment order by hand (the order page, the orders list's bulk action): the
    lifecycle's cancel (reminders withdrawn, `order.cancelled` to the shop), the reservation
    released (`order.reservation_released`: the shop may sell the goods again) and the
    customer told as chosen (ledger.notices: none, email, letter). The notice's message."""
    lifecycle.cancel(order, cause)
    lifecycle.queue_webhook(order, "order.reservation_released", cause)
    return notices.send_cancellation_notice(order, notice, cause.actor)


def undo_payment(order: Order, entry_id: int, cause: lifecycle.Cause) -> LedgerEntry:
    """Undo a payment marked by hand (a reversal entry, as for a returned bank transfer;
    audited "payment.reversed"). Bank payments are undone on the bank page, not here."""
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None or entry.order_id != order.id or entry.source != Source.MANUAL:
        raise ActionRefused("not_a_payment")
    return lifecycle.reverse_payment(order, entry, cause)


def block(order: Order, cause: lifecycle.Cause, until: date | None = None) -> None:
    """Block dunning (the cause's reason); with `until`, dunning resumes by itself after that
    day (the daily run lifts the block first: `end_blocks`)."""
    lifecycle.block(order, cause)
    order.dunning_block_until = until
    if until is not None:
        audit.record(
            order.merchant_id, cause.actor, "dunning.block_ends", order.id,
            blocked_until=until.isoformat(),
        )  # fmt: skip


def unblock(order: Order, cause: lifecycle.Cause) -> None:
    lifecycle.unblock(order, cause)
    order.dunning_block_until = None


def end_blocks(merchant_id: int, today: date) -> int:
    """Lift the dunning blocks whose end has passed (the daily run, before it decides), each
    through the lifecycle, audited as "system". Returns how many were lifted."""
    ids = db.session.scalars(
        select(Order.id).where(
            Order.merchant_id == merchant_id,
            Order.dunning_block.is_(True),
            Order.dunning_block_until < today,
        )
    ).all()
    cause = lifecycle.Cause("system", Source.RULE, today)
    for order_id in ids:
        order = lifecycle.lock(order_id)
        if order.dunning_block and order.dunning_block_until and order.dunning_block_until < today:
            unblock(order, cause)
    db.session.commit()
    return len(ids)


def erase_personal_data(order: Order, actor: str, today) -> None:
    """Erase who the customer is, keep what the books need (amounts, dates, numbers, payments,
    dunning steps and fees: commercial and tax retention, HGB § 257 / AO § 147). Messages still
    pending for the order are cancelled; sent ones lose recipient and text."""
    lifecycle.erase(order, lifecycle.Cause(actor, Source.MANUAL, today), _scrub)


def _scrub(order: Order) -> None:
    name, email = order.customer_name, order.customer_email

    def scrub(text):
        if not isinstance(text, str):
            return text
        for value in (name, email):
            if value:
                text = text.replace(value, ERASED)
        return text

    order.customer_name = ERASED
    order.customer_email = ERASED
    order.postal_address = None
    order.region = None
    order.payer_names = []  # other people who pay for the customer (additional payment info)
    # The bank transactions that paid the order lose the payer's name, account and text, and
    # the bank's fields that carry them (amounts, dates, the bank's references and the
    # fingerprint that recognises a file imported again stay); the payments' ledger notes,
    # which quote the text, go too (an entry's amount, reference and source stay).
    paid_by = select(PaymentAssignment.transaction_id).where(PaymentAssignment.order_id == order.id)
    for row in db.session.scalars(select(BankTransaction).where(BankTransaction.id.in_(paid_by))):
        row.counterparty_name = ERASED if row.counterparty_name else None
        row.counterparty_iban = None
        row.remittance = ERASED if row.remittance else ""
        row.raw = {key: value for key, value in (row.raw or {}).items() if key in BANK_FIELDS_KEPT}
    for entry in db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.order_id == order.id, LedgerEntry.note.is_not(None))
    ):
        entry.note = ERASED if entry.source == Source.BANK else scrub(entry.note)
    # Every customer-page link of the order ends; the customer's claims lose proof and note.
    order.customer_link_version = (order.customer_link_version or 1) + 1
    for claim in db.session.scalars(select(PaymentClaim).where(PaymentClaim.order_id == order.id)):
        claim.proof = claim.note = None
        claim.proof_name = ERASED if claim.proof_name else None
    # Refunds keep amount, dates and end-to-end id (the books' payout); payee and account go
    # once the money is on its way (a refund still to pay needs them: the customer is owed it).
    # An exported SEPA file stays as handed to the bank: a payment order the books retain.
    for refund in db.session.scalars(
        select(Refund).where(
            Refund.order_id == order.id,
            Refund.state.not_in((RefundState.OPEN, RefundState.AWAITING_DETAILS)),
        )
    ):
        refund.payee = ERASED
        refund.iban = refund.bic = None
        refund.remittance = scrub(refund.remittance)
    for message in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.order_id == order.id)
    ):
        if message.state in (MessageState.PENDING, MessageState.SENDING):
            outbox.mark_cancelled(message, str(refusals.Refusal("erased")))
        message.recipient = ERASED
        message.body = message.html = None
        message.subject = scrub(message.subject)
    # Letters: one not posted yet is stopped; every letter's PDF and address go (the letter's
    # kind, dates and state stay); the stored copy of the shop's invoice goes too (the shop
    # keeps its own), its number, size and checksum stay.
    for letter in db.session.scalars(select(Letter).where(Letter.order_id == order.id)):
        if print_runs.can(letter, "cancel"):
            print_runs.cancel_letter(letter, "system", str(refusals.Refusal("erased")))
        letter.pdf = None
        letter.recipient = ERASED
    invoice = invoices.invoice_of(order)
    if invoice is not None:
        invoice.pdf = None
        invoice.filename = ERASED
    # The accounting digests list many orders by customer name: take this one's name out.
    for message in db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.merchant_id == order.merchant_id,
            OutboxMessage.order_id.is_(None),
            OutboxMessage.purpose == "accounting_digest",
        )
    ):
        if order.number in ((message.payload or {}).get("orders") or ()):
            message.body = scrub(message.body)
    for entry in db.session.scalars(select(AuditEntry).where(AuditEntry.order_id == order.id)):
        detail = dict(entry.detail or {})
        scrubbed = {k: (ERASED if k in PERSONAL_FIELDS else scrub(v)) for k, v in detail.items()}
        if scrubbed != detail:
            entry.detail = scrubbed  # a new dict, so the JSON column sees the change
