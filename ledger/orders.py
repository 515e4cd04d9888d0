"""Orders and payments: validation, upsert, status, and the manual actions of the order page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from ledger import audit, outbox, rulesets, scheduling
from ledger.accounts import valid_email
from ledger.db import db
from ledger.models import CUSTOMER_TYPES, LANGUAGES, Merchant, Order, Payment
from ledger.money import CENT, CURRENCIES

METHOD_ALIASES = {
    "prepayment": "prepayment",
    "vorkasse": "prepayment",
    "invoice": "invoice",
    "rechnung": "invoice",
    "cod": "cod",
    "nachnahme": "cod",
}
NUMBER_RE = re.compile(r"^[^\s/\\?][^/\\?]{0,62}[^\s/\\?]?$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
MAX_AMOUNT = Decimal("9999999999.99")


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


@dataclass(frozen=True)
class PaymentInput:
    amount: Decimal
    paid_on: date
    reference: str | None


class _Reader:
    """Reads fields out of a JSON object and collects one message per bad field."""

    def __init__(self, data):
        self.data = data if isinstance(data, dict) else {}
        self.errors: dict[str, str] = {}
        if not isinstance(data, dict):
            self.errors["body"] = "expected a JSON object"

    def get(self, path: str, required: bool = True):
        node = self.data
        for part in path.split("."):
            if not isinstance(node, dict):
                self.errors[path] = "expected an object above this field"
                return None
            node = node.get(part)
        if node is None and required:
            self.errors[path] = "is required"
        return node

    def text(self, path: str, max_len: int, required: bool = True) -> str | None:
        value = self.get(path, required)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.errors[path] = "must be a non-empty string"
            return None
        if len(value) > max_len:
            self.errors[path] = f"must be at most {max_len} characters"
            return None
        return value.strip()

    def choice(self, path: str, choices, default=None) -> str | None:
        value = self.get(path, required=default is None)
        if value is None:
            return default
        key = value.strip().lower() if isinstance(value, str) else value
        if key not in choices:
            self.errors[path] = "must be one of " + ", ".join(sorted(set(choices)))
            return None
        return choices[key] if isinstance(choices, dict) else key

    def amount(self, path: str) -> Decimal | None:
        value = self.get(path)
        if value is None:
            return None
        amount = None
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            try:
                amount = Decimal(str(value).strip())
            except InvalidOperation:
                pass
        if amount is None or not amount.is_finite():
            self.errors[path] = "must be a decimal amount such as 49.90"
        elif amount != amount.quantize(CENT):
            self.errors[path] = "must not have more than two decimal places"
        elif amount <= 0:
            self.errors[path] = "must be greater than zero"
        elif amount > MAX_AMOUNT:
            self.errors[path] = "is too large"
        else:
            return amount.quantize(CENT)
        return None

    def day(self, path: str, required: bool = True) -> date | None:
        value = self.get(path, required)
        if value is None:
            return None
        if isinstance(value, str) and len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.errors[path] = "must be a date as YYYY-MM-DD"
        return None


def parse_order(data) -> OrderInput:
    r = _Reader(data)
    number = r.text("number", 64)
    if number and not NUMBER_RE.match(number):
        r.errors["number"] = "must not contain '/', '\\', '?' or surrounding spaces"
    name = r.text("customer.name", 200)
    email = r.text("customer.email", 254)
    if email and not valid_email(email):
        r.errors["customer.email"] = "is not an email address"
    country = r.text("customer.country", 2)
    if country and not COUNTRY_RE.match(country.upper()):
        r.errors["customer.country"] = "must be a two-letter ISO country code such as DE"
    region = r.text("customer.region", 10, required=False)
    address = r.text("customer.address", 500, required=False)
    language = r.choice("customer.language", LANGUAGES)
    customer_type = r.choice("customer.type", CUSTOMER_TYPES)
    amount = r.amount("amount")
    currency = r.text("currency", 3)
    if currency and currency.upper() not in CURRENCIES:
        r.errors["currency"] = "must be one of " + ", ".join(CURRENCIES)
    method = r.choice("payment_method", METHOD_ALIASES)
    ordered_on = r.day("ordered_on")
    due_on = r.day("due_on", required=False)
    if ordered_on and due_on and due_on < ordered_on:
        r.errors["due_on"] = "must not be before ordered_on"
    invoice_number = r.text("invoice_number", 64, required=False)
    tags = r.get("tags", required=False) or []
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        r.errors["tags"] = "must be a list of non-empty strings"
        tags = []
    if r.errors:
        raise ValidationError(r.errors)
    return OrderInput(
        number=number,
        customer_name=name,
        customer_email=email,
        country=country.upper(),
        region=region.upper() if region else None,
        postal_address=address,
        language=language,
        customer_type=customer_type,
        amount=amount,
        currency=currency.upper(),
        payment_method=method,
        ordered_on=ordered_on,
        due_on=due_on,
        invoice_number=invoice_number,
        tags=tuple(t.strip() for t in tags),
    )


def parse_payment(data) -> PaymentInput:
    r = _Reader(data)
    amount = r.amount("amount")
    paid_on = r.day("paid_on")
    reference = r.text("reference", 200, required=False)
    if r.errors:
        raise ValidationError(r.errors)
    return PaymentInput(amount=amount, paid_on=paid_on, reference=reference)


def find_order(merchant_id: int, number: str) -> Order | None:
    return db.session.scalar(
        select(Order).where(Order.merchant_id == merchant_id, Order.number == number)
    )


def upsert_order(merchant: Merchant, data: OrderInput, actor: str) -> tuple[Order, bool]:
    """Create or update the order with this number. Returns (order, created)."""
    order = find_order(merchant.id, data.number)
    book = rulesets.Rulebook.active(merchant.id)
    created = order is None
    if created:
        order = Order(merchant_id=merchant.id, number=data.number, status="unpaid")
        order.paid_total = Decimal("0.00")
        order.fees_total = Decimal("0.00")
        order.dunning_level = 0
        order.dunning_block = False
        order.rules_version_id = book.version.id if book.version else None
        db.session.add(order)
    changes = {}
    for field in (
        "customer_name",
        "customer_email",
        "country",
        "region",
        "postal_address",
        "language",
        "customer_type",
        "amount",
        "currency",
        "payment_method",
        "ordered_on",
        "invoice_number",
    ):
        new = getattr(data, field)
        if getattr(order, field) != new:
            changes[field] = str(new)
            setattr(order, field, new)
    due_on = data.due_on or (order.due_on if not created else data.ordered_on)
    if order.due_on != due_on:
        changes["due_on"] = due_on.isoformat()
        order.due_on = due_on
    if list(order.tags or []) != list(data.tags):
        order.tags = list(data.tags)
    db.session.flush()
    _settle(order)
    scheduling.refresh_next_due(order, book)
    if created or changes:
        audit.record(
            merchant.id, actor, "order.created" if created else "order.updated", order.id, **changes
        )
    return order, created


def _settle(order: Order) -> None:
    """Derive the payment status. Paid means the order amount is covered; open fees alone
    never keep an order in dunning (a late fee must not cancel a paid prepayment order)."""
    if order.status == "cancelled":
        return
    if order.paid_total >= order.amount:
        if order.status != "paid":
            order.status = "paid"
            outbox.cancel_pending_for_order(order.id, "the order was paid")
    elif order.status == "paid":
        order.status = "partially_paid" if order.paid_total > 0 else "unpaid"
    elif order.paid_total > 0 and order.status == "unpaid":
        order.status = "partially_paid"


def record_payment(order: Order, data: PaymentInput, actor: str, source: str = "api") -> Payment:
    payment = Payment(
        merchant_id=order.merchant_id,
        order=order,
        amount=data.amount,
        paid_on=data.paid_on,
        reference=data.reference,
        source=source,
    )
    db.session.add(payment)
    order.paid_total = (order.paid_total or Decimal("0.00")) + data.amount
    order.payment_claimed_on = None
    _settle(order)
    scheduling.refresh_next_due(order)
    audit.record(
        order.merchant_id,
        actor,
        "payment.recorded",
        order.id,
        amount=str(data.amount),
        paid_on=data.paid_on.isoformat(),
        reference=data.reference,
        status=order.status,
    )
    return payment


def mark_paid(order: Order, today: date, actor: str) -> Payment | None:
    """Record the outstanding order amount as paid by hand (e.g. cash, or seen in the bank)."""
    missing = order.amount - order.paid_total
    if missing <= 0:
        return None
    return record_payment(
        order, PaymentInput(missing, today, "marked paid by hand"), actor, source="manual"
    )


def cancel(order: Order, today: date, actor: str, reason: str) -> None:
    if order.status == "cancelled":
        return
    order.status = "cancelled"
    order.cancelled_on = today
    order.next_due_on = None
    outbox.cancel_pending_for_order(order.id, "the order was cancelled")
    audit.record(order.merchant_id, actor, "order.cancelled", order.id, reason=reason)


def set_dunning_block(order: Order, blocked: bool, actor: str, reason: str | None = None) -> None:
    order.dunning_block = blocked
    order.dunning_block_reason = reason if blocked else None
    scheduling.refresh_next_due(order)
    audit.record(
        order.merchant_id,
        actor,
        "dunning.blocked" if blocked else "dunning.unblocked",
        order.id,
        reason=reason,
    )
