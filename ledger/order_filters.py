"""What the orders list's filters and search mean, as SQL conditions: the list, its open total,
its exports and the bulk actions (ledger/bulk_actions.py) find the same orders by them.

The portal parses and checks the request's words (and says what it ignored); here a filter is a
dict of clean values: status, method, flag, level (a number; "" or None: any), ordered_from and
ordered_to (dates or None) and q (the search text). One query, no Python per order: a book may
hold a million orders.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from sqlalchemy import String, cast, exists, or_, select

from ledger.models import OPEN_STATUSES, CollectionCase, Order, OutboxMessage

FLAGS = ("paid_after_cancellation", "payment_claimed", "in_collection", "bounced")
MAX_LEVEL = 9

# "120", "120,50", "120.50", "1.234,50", "1,234.50", "1 234,50"
_PLAIN = re.compile(r"\d+(?:[.,]\d{1,2})?")
_GROUPED_DE = re.compile(r"\d{1,3}(?:[. ']\d{3})+(?:,\d{1,2})?")
_GROUPED_EN = re.compile(r"\d{1,3}(?:[, ]\d{3})+(?:\.\d{1,2})?")


def parse_amount(text: str) -> Decimal | None:
    """The search text read as an amount of money, or None when it does not read as one."""
    text = text.strip().removesuffix("€").removesuffix("EUR").strip()
    if _PLAIN.fullmatch(text):
        number = text.replace(",", ".")
    elif _GROUPED_DE.fullmatch(text):
        number = re.sub(r"[. ']", "", text).replace(",", ".")
    elif _GROUPED_EN.fullmatch(text):
        number = re.sub(r"[, ]", "", text)
    else:
        return None
    try:
        return Decimal(number).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def empty() -> dict:
    """A filter that finds every order."""
    return {
        "status": "",
        "method": "",
        "flag": "",
        "level": "",
        "ordered_from": None,
        "ordered_to": None,
        "q": "",
    }


def conditions(merchant_id: int, filters: dict) -> list:
    """The SQLAlchemy conditions on Order for the merchant's orders the filters find."""
    found = [Order.merchant_id == merchant_id]
    if filters.get("status"):
        found.append(Order.status == filters["status"])
    if filters.get("method"):
        found.append(Order.payment_method == filters["method"])
    if filters.get("level") not in (None, ""):
        found.append(Order.dunning_level == int(filters["level"]))
    if filters.get("ordered_from"):
        found.append(Order.ordered_on >= filters["ordered_from"])
    if filters.get("ordered_to"):
        found.append(Order.ordered_on <= filters["ordered_to"])
    flag = filters.get("flag")
    if flag == "paid_after_cancellation":
        found.append(Order.paid_after_cancellation.is_(True))
    elif flag == "payment_claimed":  # open orders whose customer says they paid
        found += [Order.payment_claimed_on.is_not(None), Order.status.in_(OPEN_STATUSES)]
    elif flag == "in_collection":  # an open collection case (ledger.collection.is_open)
        found.append(
            exists(
                select(CollectionCase.id).where(
                    CollectionCase.order_id == Order.id,
                    CollectionCase.closed_at.is_(None),
                    CollectionCase.recalled_at.is_(None),
                )
            )
        )
    elif flag == "bounced":  # a message to the customer came back undeliverable
        found.append(
            exists(
                select(OutboxMessage.id).where(
                    OutboxMessage.order_id == Order.id, OutboxMessage.bounced_at.is_not(None)
                )
            )
        )
    q = (filters.get("q") or "").strip()
    if q:
        matches = [
            Order.number.icontains(q, autoescape=True),
            Order.invoice_number.icontains(q, autoescape=True),
            Order.customer_name.icontains(q, autoescape=True),
            Order.customer_email.icontains(q, autoescape=True),
            # The extra numbers the customer may pay with (ledger.order_edits): a JSON list.
            cast(Order.extra_references, String).icontains(q, autoescape=True),
        ]
        amount = parse_amount(q)
        if amount is not None:
            matches.append(Order.amount == amount)
        found.append(or_(*matches))
    return found
