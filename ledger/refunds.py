"""Refunds paid out by SEPA credit transfer files (pain.001).

A refund pays back an order's credit: an overpayment, or what was paid on a cancelled order
(the lifecycle refuses anything else — a paid order's goods sent back are a change of the order
amount by the shop first, which leaves the credit to refund). `create_refund` books the money
at once through the lifecycle (`lifecycle.refund`: the order's credit goes down, so it cannot
be paid back twice) and keeps the payout as a `Refund` row with the payee's bank details and a
unique end-to-end id. Its life:

    awaiting_details ─ give_details ─► open ─ export ─► exported ─ bank statement ─► executed
            └──────────── cancel_refund (the refund entry reversed) ◄─┘

`export` writes one pain.001.001.09 (or .03) file of open refunds of one currency, from the
merchant's account in that currency, every IBAN checked again, validated against the XSD, and
marks them exported by a conditional UPDATE, so two exports never take the same refund. A bank
import calls `mark_executed`: a debit carrying a refund's end-to-end id executes it.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date
from decimal import Decimal

from schwifty import BIC
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaTransfer
from sepaxml.validation import ValidationError
from sqlalchemy import select, update

from ledger import audit, entries, lifecycle, refusals
from ledger.bank import accounts as bank_accounts
from ledger.clock import today_for
from ledger.db import db
from ledger.models import (
    BankAccount,
    BankTransaction,
    EntryKind,
    LedgerEntry,
    Merchant,
    Order,
    Refund,
    RefundExport,
    RefundState,
    Source,
)
from ledger.money import ZERO

log = logging.getLogger(__name__)

VERSIONS = ("pain.001.001.09", "pain.001.001.03")
SHORT_VERSIONS = {"09": VERSIONS[0], "03": VERSIONS[1]}
MAX_PAYEE = 70  # SEPA's creditor name (Cdtr/Nm)
MAX_REMITTANCE = 140  # one unstructured remittance line (RmtInf/Ustrd)
CANCELLABLE = (RefundState.AWAITING_DETAILS, RefundState.OPEN)
# The remittance text the form proposes, in the customer's language.
REMITTANCE = {"de": "Erstattung", "en": "Refund", "fr": "Remboursement", "it": "Rimborso"}


class RefundRefused(refusals.Refused):
    """A refund action that cannot be done (a code of ledger.refusals.TEXTS); nothing was
    changed. `field`: the form field it is about, None for the whole form."""

    def __init__(self, reason, /, field: str | None = None, **params):
        super().__init__(reason, **params)
        self.field = field


# --- checks --------------------------------------------------------------------------------


def check_payee(payee: str | None) -> str:
    payee = " ".join((payee or "").split())
    if not payee or len(payee) > MAX_PAYEE:
        raise RefundRefused("refund_payee", field="payee")
    return payee


def check_remittance(text: str | None) -> str:
    text = " ".join((text or "").split())
    if not text or len(text) > MAX_REMITTANCE:
        raise RefundRefused("refund_remittance", field="remittance")
    return text


def check_account(
    iban: str | None, bic: str | None, required: bool = False
) -> tuple[str | None, str | None]:
    """The IBAN (compact; checked by schwifty, in the SEPA area) and the BIC (checked, or the
    one the IBAN's bank has). No IBAN when not `required`: (None, None), details come later."""
    text = (iban or "").strip()
    if not text and not required:
        return None, None
    try:
        number = bank_accounts._iban(text)  # the one home of the IBAN check and its reasons
    except bank_accounts.AccountError as exc:
        raise RefundRefused(
            "refund_iban", field="iban", value=text, problem=exc.params["reason"]
        ) from exc
    if not number.in_sepa_zone:
        raise RefundRefused("refund_iban_sepa", field="iban", value=number.formatted)
    bic = (bic or "").strip()
    if bic:
        try:
            return number.compact, BIC(bic).compact
        except SchwiftyException as exc:
            raise RefundRefused("refund_bic", field="bic", value=bic) from exc
    return number.compact, (number.bic.compact if number.bic else None)


def refunded(order: Order) -> Decimal:
    """What the order's refunds paid back so far (less the reversed ones)."""
    return entries.total(order.id, EntryKind.REFUND)


def most(order: Order) -> Decimal:
    """The most a new refund may pay back: the credit, and never more than was paid less the
    refunds made."""
    statement = order.statement
    return max(min(statement.credit, statement.paid - refunded(order)), ZERO)


def default_remittance(order: Order) -> str:
    word = REMITTANCE.get((order.language or "de")[:2], REMITTANCE["de"])
    return f"{word} {order.number}"[:MAX_REMITTANCE]


def _end_to_end_id(order: Order) -> str:
    """Unique and at most 35 characters: "MW-R-<order id>-<12 random hex digits>"."""
    return f"MW-R-{order.id}-{secrets.token_hex(6).upper()}"[:35]


def _cause(merchant_id: int, actor: str, reason: str | None = None) -> lifecycle.Cause:
    merchant = db.session.get(Merchant, merchant_id)
    return lifecycle.Cause(actor, Source.MANUAL, today_for(merchant), reason=reason)


# --- a refund's life -----------------------------------------------------------------------


def create_refund(
    order: Order,
    amount: Decimal,
    payee: str | None,
    iban: str | None,
    bic: str | None,
    remittance: str | None,
    actor: str,
) -> Refund:
    """Pay back `amount` of the order's credit: the refund entry is booked through the
    lifecycle and the payout kept (open, or awaiting details without an IBAN). In the caller's
    transaction (run it in `lifecycle.retrying`); a refusal changes nothing."""
    payee = check_payee(payee)
    iban, bic = check_account(iban, bic)
    remittance = check_remittance(remittance)
    order = lifecycle.lock(order)
    reason = lifecycle.why_not(order, lifecycle.Event.REFUND)
    if reason is not None:
        raise RefundRefused(reason, field="amount")
    limit = most(order)
    if amount is None or amount <= 0 or amount > limit:
        raise RefundRefused("refund_amount", field="amount", credit=limit)
    end_to_end_id = _end_to_end_id(order)
    cause = _cause(order.merchant_id, actor)
    entry = lifecycle.refund(order, amount, cause, reference=end_to_end_id)
    db.session.flush()
    refund = Refund(
        merchant_id=order.merchant_id,
        order_id=order.id,
        entry_id=entry.id,
        amount=amount,
        currency=order.currency,
        payee=payee,
        iban=iban,
        bic=bic,
        remittance=remittance,
        end_to_end_id=end_to_end_id,
        state=RefundState.OPEN if iban else RefundState.AWAITING_DETAILS,
        created_by=actor[:254],
    )
    db.session.add(refund)
    db.session.flush()
    audit.record(
        order.merchant_id,
        actor,
        "refund.created",
        order.id,
        amount=str(amount),
        end_to_end_id=end_to_end_id,
        state=str(refund.state),
    )
    return refund


def give_details(
    refund: Refund, iban: str | None, bic: str | None, payee: str | None, actor: str = "customer"
) -> Refund:
    """The payee's bank details for a refund awaiting them (the customer page): checked like
    a new refund's; the refund is open then, ready to export."""
    payee = check_payee(payee)
    iban, bic = check_account(iban, bic, required=True)
    changed = db.session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.state == RefundState.AWAITING_DETAILS)
        .values(payee=payee, iban=iban, bic=bic, state=RefundState.OPEN)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(refund)
    if not changed:
        raise RefundRefused("refund_state", state=RefundState(refund.state))
    audit.record(refund.merchant_id, actor, "refund.details_given", refund.order_id)
    return refund


def cancel_refund(refund: Refund, actor: str, reason: str | None = None) -> Refund:
    """Cancel a refund not exported yet: the refund entry is reversed through the lifecycle,
    the credit is back on the order. In the caller's transaction."""
    changed = db.session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.state.in_(CANCELLABLE))
        .values(state=RefundState.CANCELLED)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(refund)
    if not changed:
        raise RefundRefused("refund_state", state=RefundState(refund.state))
    order = lifecycle.lock(refund.order_id)
    entry = db.session.get(LedgerEntry, refund.entry_id)
    lifecycle.reverse_refund(order, entry, _cause(refund.merchant_id, actor, reason))
    audit.record(
        refund.merchant_id,
        actor,
        "refund.cancelled",
        refund.order_id,
        amount=str(refund.amount),
        end_to_end_id=refund.end_to_end_id,
        reason=reason,
    )
    return refund


# --- the SEPA file -------------------------------------------------------------------------


def version_of(value: str | None) -> str:
    """ "09", "03" or a full name → the pain version; refused otherwise."""
    value = (value or VERSIONS[0]).strip()
    version = SHORT_VERSIONS.get(value, value)
    if version not in VERSIONS:
        raise RefundRefused(
            "refund_version", field="version", version=value, versions=", ".join(VERSIONS)
        )
    return version


def debtor_account(merchant_id: int, currency: str) -> BankAccount | None:
    """The merchant's account the refunds of `currency` are paid from (for CHF a Swiss one)."""
    fitting = [a for a in bank_accounts.accounts_of(merchant_id) if a.currency == currency]
    if currency == "CHF":
        fitting = [a for a in fitting if a.country in bank_accounts.SWISS]
    return fitting[0] if fitting else None


def _payment(refund: Refund, today: date) -> dict:
    iban, bic = check_account(refund.iban, refund.bic, required=True)  # no file with a bad one
    payment = {
        "name": check_payee(refund.payee),
        "IBAN": iban,
        "amount": int((refund.amount * 100).to_integral_value()),
        "execution_date": today,
        "description": check_remittance(refund.remittance),
        "endtoend_id": refund.end_to_end_id,
    }
    if bic:
        payment["BIC"] = bic
    return payment


def build_xml(
    account: BankAccount, refunds: list[Refund], version: str, today: date
) -> tuple[bytes, str]:
    """The pain.001 document and its message id: one transfer each (BtchBookg false, so the
    statement shows each debit with its end-to-end id), umlauts kept (clean=False), checked
    against sepaxml's XSD."""
    config = {
        "name": account.holder[:MAX_PAYEE],
        "IBAN": account.iban,
        "batch": False,
        "currency": refunds[0].currency,
    }
    if account.bic:
        config["BIC"] = account.bic
    sepa = SepaTransfer(config, schema=version, clean=False)
    for refund in refunds:
        sepa.add_payment(_payment(refund, today))
    try:
        return sepa.export(validate=True), sepa.msg_id
    except ValidationError as exc:
        raise RefundRefused("refund_schema", detail=str(exc.__cause__ or exc)[:300]) from exc


def export(
    merchant: Merchant,
    refund_ids: list[int] | None,
    actor: str,
    version: str = VERSIONS[0],
) -> RefundExport:
    """One SEPA credit transfer file of the merchant's open refunds (`refund_ids`: only those;
    None: all open ones), kept as a RefundExport; the refunds are exported then. Refused
    (nothing changed) when a chosen one is not open, or they are in several currencies, or
    there is no account to pay from. In the caller's transaction."""
    version = version_of(version)
    query = select(Refund).where(
        Refund.merchant_id == merchant.id, Refund.state == RefundState.OPEN
    )
    if refund_ids is not None:
        wanted = {int(i) for i in refund_ids}
        query = query.where(Refund.id.in_(wanted))
    chosen = list(db.session.scalars(query.order_by(Refund.id)))
    if refund_ids is not None and len(chosen) != len(wanted):
        found = {refund.id for refund in chosen}
        other = db.session.get(Refund, min(wanted - found))
        if other is None or other.merchant_id != merchant.id:
            raise RefundRefused("refund_none")
        raise RefundRefused("refund_state", state=RefundState(other.state))
    if not chosen:
        raise RefundRefused("refund_none")
    currencies = sorted({refund.currency for refund in chosen})
    if len(currencies) > 1:
        raise RefundRefused("refund_currencies", currencies=currencies)
    account = debtor_account(merchant.id, currencies[0])
    if account is None:
        raise RefundRefused("refund_no_account", currency=currencies[0])
    xml, message_id = build_xml(account, chosen, version, today_for(merchant))
    record = RefundExport(
        merchant_id=merchant.id,
        message_id=message_id[:35],
        pain_version=version,
        account_iban=account.iban,
        count=len(chosen),
        total=sum((refund.amount for refund in chosen), ZERO),
        xml=xml,
        created_by=actor[:254],
    )
    db.session.add(record)
    db.session.flush()
    ids = [refund.id for refund in chosen]
    taken = db.session.execute(
        update(Refund)
        .where(Refund.id.in_(ids), Refund.state == RefundState.OPEN)
        .values(state=RefundState.EXPORTED, export_id=record.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != len(ids):  # another export took some meanwhile: this file is not handed out
        raise RefundRefused("refund_state", state=RefundState.EXPORTED)
    for refund in chosen:
        db.session.refresh(refund)
        audit.record(
            merchant.id,
            actor,
            "refund.exported",
            refund.order_id,
            amount=str(refund.amount),
            end_to_end_id=refund.end_to_end_id,
            export=record.id,
        )
    return record


def mark_executed(merchant: Merchant, transaction_ids: list[int]) -> int:
    """After a bank import: each new debit whose end-to-end id is an exported refund's (and
    whose amount is the refund's) executes that refund. Commits; returns how many."""
    if not transaction_ids:
        return 0
    debits = db.session.scalars(
        select(BankTransaction).where(
            BankTransaction.id.in_(transaction_ids),
            BankTransaction.merchant_id == merchant.id,
            BankTransaction.credit.is_(False),
            BankTransaction.reversal.is_(False),
            BankTransaction.end_to_end_id.is_not(None),
        )
    ).all()
    if not debits:
        return 0
    by_id = {
        refund.end_to_end_id: refund
        for refund in db.session.scalars(
            select(Refund).where(
                Refund.merchant_id == merchant.id,
                Refund.state == RefundState.EXPORTED,
                Refund.end_to_end_id.in_({row.end_to_end_id for row in debits}),
            )
        )
    }
    executed = 0
    for row in debits:
        refund = by_id.get(row.end_to_end_id)
        if refund is None:
            continue
        if (refund.amount, refund.currency) != (row.amount, row.currency):
            log.warning(
                "refund %s: the debit %s is %s %s, not %s %s",
                refund.end_to_end_id,
                row.id,
                row.amount,
                row.currency,
                refund.amount,
                refund.currency,
            )
            continue
        changed = db.session.execute(
            update(Refund)
            .where(Refund.id == refund.id, Refund.state == RefundState.EXPORTED)
            .values(state=RefundState.EXECUTED, executed_on=row.booking_date, transaction_id=row.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed:
            executed += 1
            audit.record(
                merchant.id,
                "bank",
                "refund.executed",
                refund.order_id,
                end_to_end_id=refund.end_to_end_id,
                executed_on=row.booking_date.isoformat(),
            )
    db.session.commit()
    return executed


# --- reading -------------------------------------------------------------------------------


def of_order(order_id: int) -> list[Refund]:
    return list(db.session.scalars(select(Refund).where(Refund.order_id == order_id)))


def exports_of(merchant_id: int, limit: int = 20) -> list[RefundExport]:
    return list(
        db.session.scalars(
            select(RefundExport)
            .where(RefundExport.merchant_id == merchant_id)
            .order_by(RefundExport.id.desc())
            .limit(limit)
        )
    )


def own_refund(merchant_id: int, refund_id: int) -> Refund | None:
    refund = db.session.get(Refund, refund_id)
    return refund if refund is not None and refund.merchant_id == merchant_id else None


def own_export(merchant_id: int, export_id: int) -> RefundExport | None:
    found = db.session.get(RefundExport, export_id)
    return found if found is not None and found.merchant_id == merchant_id else None
