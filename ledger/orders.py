"""Orders and payments: validation, upsert, status, and the manual actions of the order page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from ledger import audit, lifecycle, notes, order_edits, scheduling, schemas
from ledger.bank import index
from ledger.clock import today_for
from ledger.db import db
from ledger.models import LedgerEntry, Merchant, Method, Order, Source, utcnow
from ledger.rulebook import Rulebook

# The API's input rules live in ledger/schemas.py (the models that are also the OpenAPI document).
METHOD_ALIASES = schemas.METHOD_ALIASES
MAX_AMOUNT = schemas.MAX_AMOUNT


class ValidationError(ValueError):
    """Carries every bad field at once, so an API client can fix them all in one go."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class OrderInput:
    number: str
    customer_name: str
    customer_email: str
    country: str
    region: str | None
    postal_address: str | None
    language: str
    customer_type: str
    amount: Decimal
    currency: str
    payment_method: str
    ordered_on: date
    due_on: date | None
    invoice_number: str | None
    tags: tuple[str, ...]
    customer_number: str | None = None
    discount_amount: Decimal | None = None
    discount_until: date | None = None
    payment_terms: dict | None = None  # net_days, discount_percent, discount_days


@dataclass(frozen=True)
class PaymentInput:
    amount: Decimal
    paid_on: date
    reference: str | None


def _validate(model: type[schemas.BaseModel], data):
    try:
        return model.model_validate(data)
    except schemas.PydanticValidationError as exc:
        raise ValidationError(schemas.error_fields(exc)) from None


def parse_order(data) -> OrderInput:
    """An order body (a JSON object as Python data) checked against schemas.OrderIn."""
    body: schemas.OrderIn = _validate(schemas.OrderIn, data)
    customer = body.customer
    return OrderInput(
        number=body.number,
        customer_name=customer.name,
        customer_email=customer.email,
        country=customer.country,
        region=customer.region,
        postal_address=customer.address,
        language=customer.language,
        customer_type=customer.type,
        amount=body.amount,
        currency=body.currency,
        payment_method=schemas.METHOD_ALIASES[body.payment_method],
        ordered_on=body.ordered_on,
        due_on=body.due_on,
        invoice_number=body.invoice_number,
        tags=tuple(body.tags),
        customer_number=customer.number,
        discount_amount=body.discount.amount if body.discount else None,
        discount_until=body.discount.until if body.discount else None,
        payment_terms=body.payment_terms.model_dump() if body.payment_terms else None,
    )


def parse_payment(data) -> PaymentInput:
    """A payment body checked against schemas.PaymentIn."""
    body: schemas.PaymentIn = _validate(schemas.PaymentIn, data)
    return PaymentInput(amount=body.amount, paid_on=body.paid_on, reference=body.reference)


def find_order(merchant_id: int, number: str) -> Order | None:
    return db.session.scalar(
        select(Order).where(Order.merchant_id == merchant_id, Order.number == number)
    )


def upsert_order(
    merchant: Merchant, data: OrderInput, actor: str, source: str = Source.API
) -> tuple[Order, bool]:
    """Create or update the order with this number. Returns (order, created). A new amount is
    a charge in the order's money ledger (ledger.lifecycle.change_amount)."""
    order = find_order(merchant.id, data.number)
    book = Rulebook.active(merchant.id)
    created = order is None
    cause = lifecycle.Cause(actor, source, today_for(merchant))
    if created:
        order = Order(merchant_id=merchant.id, number=data.number)
        order.paid_total = order.fees_total = Decimal("0.00")
        order.interest_total = order.adjustments_total = Decimal("0.00")
        order.dunning_level = 0
        order.dunning_block = False
        order.rules_version_id = book.version.id if book.version else None
        db.session.add(order)
    else:
        order = lifecycle.lock(order)
    changes = {}
    manual = set(order.manual_fields or []) if not created else set()
    discount_before = (order.discount_amount, order.discount_until)
    for field in DETAIL_FIELDS:
        new = getattr(data, field)
        if field in manual:
            _shop_sends(order, field, new, actor)
        elif getattr(order, field) != new:
            changes[field] = str(new)
            setattr(order, field, new)
    due_on = data.due_on or (order.due_on if not created else default_due_on(merchant, data))
    if "due_on" in manual:
        _shop_sends(order, "due_on", due_on, actor)
    elif order.due_on != due_on:
        changes["due_on"] = due_on.isoformat()
        order.due_on = due_on
    if list(order.tags or []) != list(data.tags):
        order.tags = list(data.tags)
    if created:
        order.amount = data.amount
        lifecycle.open_order(order, cause)
    elif "amount" in manual:
        _shop_sends(order, "amount", data.amount, actor)
    elif order.amount != data.amount:
        changes["amount"] = str(data.amount)
        lifecycle.change_amount(order, data.amount, cause)
    changes |= order_edits.apply_terms(order, data.payment_terms, data.discount_amount is not None)
    if (order.discount_amount, order.discount_until) == discount_before:
        changes.pop("discount_amount", None)
        changes.pop("discount_until", None)
    if not created:
        order.updated_at = utcnow()
        scheduling.refresh_next_due(order, book)
    if "currency" in changes:
        order.payment_reference = None  # the reference fits the account of the currency
    if created or "invoice_number" in changes or "currency" in changes:
        index.index_order(order)  # the keys a bank payment finds it by
    if created or changes:
        audit.record(
            merchant.id, actor, "order.created" if created else "order.updated", order.id, **changes
        )
    return order, created


def _shop_sends(order: Order, field: str, new, actor: str) -> None:
    """A field edited by hand (Order.manual_fields): the shop's differing value is kept aside
    (ledger.order_edits), an equal one ends what was kept aside."""
    if getattr(order, field) != new:
        order_edits.keep_aside(order, field, new, actor)
    elif field in (order.shop_changes or {}):
        order.shop_changes = {k: v for k, v in order.shop_changes.items() if k != field}


def default_due_on(merchant: Merchant, data: OrderInput) -> date:
    """The due date of a new order the shop sent without one: the order's own net days
    (payment_terms), else for an invoice the merchant's net days after the order day when
    set (Merchant.payment_days), else the order day."""
    net_days = (data.payment_terms or {}).get("net_days")
    if net_days is not None:
        return data.ordered_on + timedelta(days=net_days)
    if data.payment_method == Method.INVOICE and merchant.payment_days is not None:
        return data.ordered_on + timedelta(days=merchant.payment_days)
    return data.ordered_on


# Order fields the shop's data sets directly (the amount goes through the money ledger).
DETAIL_FIELDS = (
    "customer_name",
    "customer_email",
    "country",
    "region",
    "postal_address",
    "language",
    "customer_type",
    "currency",
    "payment_method",
    "ordered_on",
    "invoice_number",
    "customer_number",
    "discount_amount",
    "discount_until",
)


def record_payment(
    order: Order, data: PaymentInput, actor: str, source: str = Source.API
) -> tuple[LedgerEntry, bool]:
    """Book a payment through the lifecycle; (entry, created) — a repeated reference from the
    same source is the same payment, stored once."""
    merchant = order.merchant or db.session.get(Merchant, order.merchant_id)
    cause = lifecycle.Cause(actor, source, today_for(merchant))
    return lifecycle.record_payment(order, data.amount, data.paid_on, cause, data.reference)


def mark_paid(order: Order, today: date, actor: str) -> LedgerEntry | None:
    """Record what is left of the order amount as paid by hand (e.g. cash, or seen in the bank)."""
    order = lifecycle.lock(order)
    missing = order.statement.principal_open
    if missing <= 0:
        return None
    cause = lifecycle.Cause(actor, Source.MANUAL, today)
    entry, _created = lifecycle.record_payment(
        order, missing, today, cause, note=notes.text("marked_paid")
    )
    return entry
