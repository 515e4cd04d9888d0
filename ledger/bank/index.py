"""The keys under which a payment's text finds an order (OrderReference rows), and the payment
reference each order is given: an RF creditor reference, or a Swiss QR reference when the order
is paid to a QR-IBAN. Kept up to date when an order is written; `ensure_indexed` catches up
orders from before (or from an older version of the key rules: REFERENCES_VERSION)."""

from __future__ import annotations

from sqlalchemy import and_, delete, or_, select

from ledger.bank import accounts, references
from ledger.db import db
from ledger.models import Order, OrderReference

REFERENCES_VERSION = 1  # raise when references.reference_keys changes: every order re-indexed
BATCH = 2000


def payment_reference_for(order: Order, account=None) -> str:
    """The structured reference printed on the order's payment requests."""
    account = account if account is not None else accounts.for_order(order)
    if account is not None and account.qr_iban and order.currency == "CHF":
        return references.qr_reference(order.id, order.merchant_id)
    return references.creditor_reference(order.number, order.merchant_id)


def order_keys(order: Order) -> dict[str, str]:
    """key → kind, the strongest kind first when two give the same key."""
    found: dict[str, str] = {}
    if order.payment_reference:
        parsed = references.parse_structured(order.payment_reference)
        if parsed:
            found.setdefault(parsed[1], parsed[0])
    for kind, values in (
        ("number", [order.number]),
        ("invoice", [order.invoice_number] if order.invoice_number else []),
        ("extra", list(order.extra_references or [])),
    ):
        for value in values:
            for key in sorted(references.reference_keys(value)):
                found.setdefault(key, kind)
    return found


def index_order(order: Order, account_list=None) -> None:
    """(Re)write the order's keys; give it a payment reference if it has none."""
    db.session.flush()  # the order needs its id
    if not order.payment_reference:
        account = accounts.for_order(order, account_list)
        order.payment_reference = payment_reference_for(order, account)
    if order.references_version is not None:  # written before: its old keys go
        db.session.execute(delete(OrderReference).where(OrderReference.order_id == order.id))
    db.session.add_all(
        OrderReference(merchant_id=order.merchant_id, order_id=order.id, key=key[:40], kind=kind)
        for key, kind in order_keys(order).items()
    )
    order.references_version = REFERENCES_VERSION


def ensure_indexed(merchant_id: int) -> int:
    """Index every order of the merchant whose keys are missing or stale; returns how many."""
    account_list = accounts.accounts_of(merchant_id)
    done = 0
    while True:
        batch = db.session.scalars(select(Order).where(_stale(merchant_id)).limit(BATCH)).all()
        if not batch:
            return done
        for order in batch:
            index_order(order, account_list)
        db.session.flush()
        done += len(batch)


def _stale(merchant_id: int):
    """Orders without keys or with keys of another version: three ranges of
    ix_orders_merchant_references_version, each with the merchant (so SQLite's planner ORs
    the three index searches instead of reading all the merchant's orders)."""
    mine = Order.merchant_id == merchant_id
    version = Order.references_version
    return or_(
        and_(mine, version.is_(None)),
        and_(mine, version < REFERENCES_VERSION),
        and_(mine, version > REFERENCES_VERSION),
    )
