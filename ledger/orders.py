"""Orders and payments: validation, upsert, status, and the manual actions of the order page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from ledger import audit, lifecycle, scheduling
from ledger.accounts import valid_email
from ledger.clock import today_for
from ledger.db import db
from ledger.models import CUSTOMER_TYPES, LANGUAGES, LedgerEntry, Merchant, Order, Source, utcnow
from ledger.money import CENT, CURRENCIES
from ledger.rulebook import Rulebook

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
    for field in DETAIL_FIELDS:
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
    if created:
        order.amount = data.amount
        lifecycle.open_order(order, cause)
    elif order.amount != data.amount:
        changes["amount"] = str(data.amount)
        lifecycle.change_amount(order, data.amount, cause)
    if not created:
        order.updated_at = utcnow()
        scheduling.refresh_next_due(order, book)
    if created or changes:
        audit.record(
            merchant.id, actor, "order.created" if created else "order.updated", order.id, **changes
        )
    return order, created


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
        order, missing, today, cause, note="marked paid by hand"
    )
    return entry
