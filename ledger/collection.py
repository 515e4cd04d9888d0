"""Debt collection cases: an order handed over to a collection partner, by hand or by the rules'
`hand over to collection`, and the partner's reports on it.

A case (models.CollectionCase) keeps what was handed over, itemised from the order's statement
at that moment (principal, fees, interest, paid before, the open amount handed over), our file
number ("IK-2026-00017", counted per merchant and year) and the partner's. One open case per
order: a second hand-over is refused while one is open.

The partner reports through POST /api/v1/orders/<number>/collection (`update_from_partner`):
a status of STATUSES, its own file number, its fees (the total so far; kept for the record,
not booked: the partner takes them from the debtor), and a payment it collected. A payment
`{amount, paid_on, reference}` is booked through the lifecycle as a payment with source
`collection`, once per reference; the case's `recovered` is the sum of the payments booked so.
A report repeating a payment already booked with the status the case has is a duplicate: it
stores nothing. The status moves only forward (RANK): a closed case (paid, closed, recalled)
takes no report. `paid` needs the order paid (with that report's payment) and closes the case;
`closed` closes it too, the order staying in collection until it is recalled or written off;
`uncollectible` leaves the order in collection.

`recall` takes a case back: the order goes back into dunning (lifecycle.recall), the partner
hears `collection.recalled`. Every change is a CollectionUpdate (the case's history), an audit
entry, and a webhook with the case where it matters (`collection.handed_over`,
`collection.recalled`), beside the lifecycle's own `order.handed_over_to_collection`.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)
from sqlalchemy import select

from ledger import audit, lifecycle, schemas
from ledger.db import db
from ledger.models import (
    CollectionCase,
    CollectionUpdate,
    DunningEvent,
    Merchant,
    Order,
    Source,
    Status,
    utcnow,
)
from ledger.money import ZERO
from ledger.refusals import Refusal, Refused

HANDED_OVER = "handed_over"
RECALLED = "recalled"
# What the partner may report, in the order a case moves through them.
STATUSES = (
    "accepted",
    "in_progress",
    "payment_plan",
    "partially_paid",
    "paid",
    "uncollectible",
    "closed",
)
# How far a case is: a report may repeat its status or move it on, never back.
RANK = {
    HANDED_OVER: 0,
    "accepted": 1,
    "in_progress": 2,
    "payment_plan": 3,
    "partially_paid": 3,  # a plan's instalments and partial payments alternate
    "uncollectible": 4,
    "paid": 5,
    "closed": 5,
    RECALLED: 6,
}
CLOSING = ("paid", "closed")  # reports that close the case
FILE_PREFIX = "IK"
PARTNER_MAX = 120  # CollectionCase.partner
PARTNER_FILE_MAX = 64  # CollectionCase.partner_file_number
NOTE_MAX = 500


# --- reading ------------------------------------------------------------------------------


def cases_of(order: Order) -> list[CollectionCase]:
    """The order's cases, newest first."""
    return list(
        db.session.scalars(
            select(CollectionCase)
            .where(CollectionCase.order_id == order.id)
            .order_by(CollectionCase.id.desc())
        )
    )


def latest_case(order: Order) -> CollectionCase | None:
    return db.session.scalar(
        select(CollectionCase)
        .where(CollectionCase.order_id == order.id)
        .order_by(CollectionCase.id.desc())
        .limit(1)
    )


def is_open(case: CollectionCase | None) -> bool:
    return case is not None and case.closed_at is None and case.recalled_at is None


def partner_of(order: Order, partner: str | None = None) -> str | None:
    """The partner to hand over to: the one given, else the merchant's (settings)."""
    merchant = order.merchant or db.session.get(Merchant, order.merchant_id)
    named = " ".join((partner or merchant.collection_partner or "").split())
    return named[:PARTNER_MAX] or None


def why_not_hand_over(order: Order, partner: str | None = None) -> Refusal | None:
    """Why the order cannot be handed over now (None: it can): the transition table, the
    customer's data, a partner set, no open case."""
    reason = lifecycle.why_not(order, lifecycle.Event.HAND_OVER)
    if reason is not None:
        return reason
    if order.erased_at is not None:
        return Refusal("erased")
    if partner_of(order, partner) is None:
        return Refusal("no_collection_partner")
    if is_open(latest_case(order)):
        return Refusal("collection_open")
    return None


def why_not_recall(order: Order) -> Refusal | None:
    case = latest_case(order)
    if case is None or case.recalled_at is not None:
        return Refusal("no_collection_case")
    if case.status == "paid":
        return Refusal("collection_closed", status=case.status)
    return lifecycle.why_not(order, lifecycle.Event.RECALL)


def next_file_number(merchant_id: int, year: int) -> str:
    """Our next file number of the year: IK-<year>-<5 digits>, counted per merchant."""
    prefix = f"{FILE_PREFIX}-{year}-"
    last = db.session.scalar(
        select(CollectionCase.file_number)
        .where(
            CollectionCase.merchant_id == merchant_id,
            CollectionCase.file_number.startswith(prefix, autoescape=True),
        )
        .order_by(CollectionCase.file_number.desc())
        .limit(1)
    )
    count = int(last[len(prefix) :]) if last and last[len(prefix) :].isdigit() else 0
    return f"{prefix}{count + 1:05d}"


def case_json(case: CollectionCase, order: Order) -> dict:
    """The case as the webhooks carry it: file numbers, the amounts itemised, the debtor."""
    return {
        "file_number": case.file_number,
        "partner": case.partner,
        "partner_file_number": case.partner_file_number,
        "status": case.status,
        "currency": case.currency,
        "handed_over_on": case.created_at.date().isoformat() if case.created_at else None,
        "amounts": {
            "principal": str(case.principal),
            "fees": str(case.fees),
            "interest": str(case.interest),
            "paid_before": str(case.paid_before),
            "handed_over": str(case.handed_over),
            "recovered": str(case.recovered),
            "partner_fees": str(case.partner_fees),
        },
        "order_number": order.number,
        "invoice_number": order.invoice_number,
        "due_on": order.due_on.isoformat(),
        "customer": {
            "name": order.customer_name,
            "email": order.customer_email,
            "address": order.postal_address,
            "country": order.country,
            "language": order.language,
            "type": order.customer_type,
            "number": order.customer_number,
        },
    }


def _note(case: CollectionCase, status: str, actor: str, **detail) -> CollectionUpdate:
    update = CollectionUpdate(
        case=case,
        status=status,
        actor=actor,
        detail={k: v for k, v in detail.items() if v is not None},
    )
    db.session.add(update)
    return update


# --- hand-over and recall -----------------------------------------------------------------


def hand_over(
    order: Order,
    cause: lifecycle.Cause,
    partner: str | None = None,
    event: DunningEvent | None = None,
) -> CollectionCase:
    """Hand the order over to the partner (given, or the merchant's): the order goes into
    collection (lifecycle.hand_over), the case is opened with the open amount itemised and
    the partner hears `collection.handed_over`. Refused (Refused) without a partner, with a
    case open, or when the table refuses the hand-over."""
    order = lifecycle._locked(order)  # the daily run locked its batch already
    reason = why_not_hand_over(order, partner)
    if reason is not None:
        raise Refused(reason)
    statement = order.statement  # the hand-over itself moves no money
    lifecycle.hand_over(order, cause, event)
    case = CollectionCase(
        merchant_id=order.merchant_id,
        order_id=order.id,
        partner=partner_of(order, partner),
        file_number=next_file_number(order.merchant_id, cause.today.year),
        currency=order.currency,
        principal=statement.principal,
        fees=statement.fees,
        interest=statement.interest,
        paid_before=statement.paid + statement.adjustments,
        handed_over=statement.open,
        status=HANDED_OVER,
        recovered=ZERO,
        partner_fees=ZERO,
        created_by=cause.actor,
    )
    db.session.add(case)
    _note(case, HANDED_OVER, cause.actor, amount=str(case.handed_over), reason=cause.reason)
    db.session.flush()
    audit.record(
        order.merchant_id,
        cause.actor,
        "collection.updated",
        order.id,
        file_number=case.file_number,
        partner=case.partner,
        status=HANDED_OVER,
        amount=str(case.handed_over),
    )
    lifecycle.queue_webhook(
        order, "collection.handed_over", cause, event, extra={"case": case_json(case, order)}
    )
    return case


def recall(order: Order, cause: lifecycle.Cause) -> CollectionCase:
    """Take the order's case back from the partner (cause.reason: why): the case is recalled,
    the order back into dunning (lifecycle.recall), the partner hears `collection.recalled`."""
    order = lifecycle.lock(order)
    reason = why_not_recall(order)
    if reason is not None:
        raise Refused(reason)
    case = latest_case(order)
    lifecycle.recall(order, cause)
    now = utcnow()
    case.status = RECALLED
    case.recalled_at = now
    case.closed_at = case.closed_at or now
    _note(case, RECALLED, cause.actor, reason=cause.reason)
    db.session.flush()
    lifecycle.queue_webhook(
        order, "collection.recalled", cause, extra={"case": case_json(case, order)}
    )
    return case


# --- the partner's reports ----------------------------------------------------------------


_ZERO_TEXT = re.compile(r"0{1,10}(\.0+)?\Z")


def _fees(value: Any) -> Decimal:
    """The partner's fees so far: 0 or more (schemas.parse_amount takes only more than 0)."""
    if isinstance(value, bool):
        return schemas.parse_amount(value)  # refused as it refuses it
    if isinstance(value, int | float | Decimal) and value == 0:
        return ZERO
    if isinstance(value, str) and _ZERO_TEXT.match(value.strip()):
        return ZERO
    return schemas.parse_amount(value)


Fees = Annotated[
    Decimal,
    PlainValidator(_fees),
    WithJsonSchema(
        {
            "description": "The partner's fees so far (its total, not booked here): 0 or "
            "more, at most 2 decimal places; a string or a JSON number.",
            "anyOf": [
                {
                    "type": "string",
                    "pattern": schemas.AMOUNT_PATTERN,
                    "maxLength": schemas.AMOUNT_STRING_MAX,
                },
                {
                    "type": "number",
                    "minimum": 0,
                    "maximum": float(schemas.MAX_AMOUNT),
                    "multipleOf": 0.01,
                },
            ],
            "examples": ["35.00"],
        }
    ),
]


class CollectionPaymentIn(BaseModel):
    """Money the partner collected and passes on: booked once per reference."""

    model_config = ConfigDict(extra="ignore", title="CollectionPayment")

    amount: schemas.Amount
    paid_on: schemas.Day("The day the partner received the money.")
    reference: schemas.Text(
        schemas.REFERENCE_MAX,
        "The partner's reference of this payment; the same one again is booked once.",
    )

    @model_validator(mode="before")
    @classmethod
    def _nulls(cls, data: Any) -> Any:
        return schemas._drop_nulls(data)


class CollectionUpdateIn(BaseModel):
    """POST /api/v1/orders/{number}/collection: the collection partner's report on its case."""

    model_config = ConfigDict(
        extra="ignore",
        title="CollectionUpdate",
        json_schema_extra={
            "examples": [
                {
                    "status": "partially_paid",
                    "partner_file_number": "INK-4711",
                    "fees": "35.00",
                    "payment": {"amount": "50.00", "paid_on": "2026-12-01", "reference": "R-1"},
                }
            ]
        },
    )

    status: schemas._choice(STATUSES, "The case's status; it moves only forward.")
    partner_file_number: (
        schemas.Text(PARTNER_FILE_MAX, "The partner's own file number of the case.") | None
    ) = None
    fees: Fees | None = None
    payment: CollectionPaymentIn | None = None
    note: schemas.Text(NOTE_MAX, "A remark for the merchant.") | None = None

    @model_validator(mode="before")
    @classmethod
    def _nulls(cls, data: Any) -> Any:
        return schemas._drop_nulls(data)


def parse_update(data) -> CollectionUpdateIn:
    """A report body checked against CollectionUpdateIn (orders.ValidationError: every bad
    field)."""
    from ledger import orders

    return orders._validate(CollectionUpdateIn, data)


def update_from_partner(
    order: Order, report: CollectionUpdateIn, actor: str, today: date
) -> tuple[CollectionCase, bool]:
    """Apply the partner's report to the order's case: (the case, whether anything was
    stored). A payment is booked through the lifecycle (source `collection`)."""
    order = lifecycle.lock(order)
    case = latest_case(order)
    if case is None:
        raise Refused("no_collection_case")
    payment = report.payment
    booked = (
        lifecycle.find_payment(order, Source.COLLECTION, payment.reference) if payment else None
    )
    if booked is not None and report.status == case.status:
        return case, False  # the same report again
    if not is_open(case):
        raise Refused("collection_closed", status=case.status)
    if RANK[report.status] < RANK[case.status]:
        raise Refused("collection_backwards", status=case.status, state=report.status)
    if payment is not None and booked is None:
        cause = lifecycle.Cause(actor, Source.COLLECTION, today)
        lifecycle.record_payment(
            order, payment.amount, payment.paid_on, cause, reference=payment.reference
        )
        case.recovered += payment.amount
    if report.status == "paid" and order.status != Status.PAID:
        raise Refused("collection_not_paid", amount=order.statement.open)
    if report.partner_file_number:
        case.partner_file_number = report.partner_file_number
    if report.fees is not None:
        case.partner_fees = report.fees
    case.status = report.status
    if report.status in CLOSING:
        case.closed_at = utcnow()
    detail = {
        "partner_file_number": report.partner_file_number,
        "fees": str(report.fees) if report.fees is not None else None,
        "note": report.note,
    }
    if payment is not None:
        detail |= {
            "amount": str(payment.amount),
            "paid_on": payment.paid_on.isoformat(),
            "reference": payment.reference,
            "booked": booked is None,
        }
    _note(case, report.status, actor, **detail)
    audit.record(
        order.merchant_id,
        actor,
        "collection.updated",
        order.id,
        file_number=case.file_number,
        status=report.status,
        amount=detail.get("amount"),
        reference=detail.get("reference"),
    )
    db.session.flush()
    return case, True


# --- the API's answer ---------------------------------------------------------------------


class CollectionAmountsOut(BaseModel):
    model_config = ConfigDict(title="CollectionAmounts")

    principal: str
    fees: str
    interest: str
    paid_before: str = Field(description="Payments and credits before the hand-over.")
    handed_over: str = Field(description="The open amount handed over.")
    recovered: str = Field(description="The partner's payments booked on the order.")
    partner_fees: str = Field(description="The partner's fees as it last reported them.")


class CollectionCaseOut(BaseModel):
    """The order's collection case after the report, and the order's status and open amount."""

    model_config = ConfigDict(title="CollectionCase")

    order: str = Field(description="The order's number.")
    file_number: str = Field(description="Our file number of the case.")
    partner: str
    partner_file_number: str | None
    status: str
    currency: str
    amounts: CollectionAmountsOut
    order_status: str
    open_amount: str
    duplicate: bool = Field(description="The same report came before: nothing was stored.")


def answer_json(case: CollectionCase, order: Order, stored: bool) -> dict:
    """The API's answer to a report (CollectionCaseOut)."""
    sent = case_json(case, order)
    return {
        "order": order.number,
        "file_number": case.file_number,
        "partner": case.partner,
        "partner_file_number": case.partner_file_number,
        "status": case.status,
        "currency": case.currency,
        "amounts": sent["amounts"],
        "order_status": str(order.status),
        "open_amount": str(order.statement.open),
        "duplicate": not stored,
    }
