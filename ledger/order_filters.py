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

from sqlalchemy import Text, cast, exists, func, literal, literal_column, or_, select, table

from ledger.db import db
from ledger.models import OPEN_STATUSES, CollectionCase, Order, OutboxMessage

FLAGS = ("paid_after_cancellation", "payment_claimed", "in_collection", "bounced")
MAX_LEVEL = 9

# "120", "120,50", "120.50", "1.234,50", "1,234.50", "1 234,50"
_PLAIN = re.compile(r"\d+(?:[.,]\d{1,2})?")
_GROUPED_DE = re.compile(r"\d{1,3}(?:[. ']\d{3})+(?:,\d{1,2})?")
_GROUPED_EN = re.compile(r"\d{1,3}(?:[, ]\d{3})+(?:\.\d{1,2})?")


# Nothing a search box sends: line breaks separate the fields in the search text.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Fewer characters than a trigram: no index can find them; the fields are read one by one.
_SHORTEST_INDEXED = 3


def _text_search(q: str):
    """The orders whose number, invoice number, customer name, e-mail or extra references
    contain `q`, case-insensitively: through the trigram index on PostgreSQL (pg_trgm) and
    the FTS5 trigram table on SQLite (migration f3b5d7e9a1c2), which holds the same fields."""
    if len(q) < _SHORTEST_INDEXED:
        fields = (Order.number, Order.invoice_number, Order.customer_name, Order.customer_email)
        return or_(
            *(field.icontains(q, autoescape=True) for field in fields),
            cast(Order.extra_references, Text).icontains(q, autoescape=True),
        )
    if db.session.get_bind().dialect.name == "postgresql":
        # lowered by the database, as the indexed text is (its locale's lower(), not Python's)
        pattern = "%" + re.sub(r"([/%_])", r"/\1", q) + "%"
        return search_text().like(func.lower(literal(pattern, Text)), escape="/")
    phrase = '"' + q.replace('"', '""') + '"'  # FTS5: the text itself, no query syntax
    search = table("orders_search")
    return Order.id.in_(
        select(literal_column("rowid"))
        .select_from(search)
        .where(literal_column("orders_search").op("MATCH")(phrase))
    )


def search_text():
    """PostgreSQL: the expression the trigram index `ix_orders_search` holds, the searched
    fields a line each (a search has no line break: a match never spans two fields). The
    planner uses the index only for this very expression."""
    line = literal_column("E'\\n'")
    return func.lower(
        Order.number.concat(line)
        .concat(func.coalesce(Order.invoice_number, literal_column("''")))
        .concat(line)
        .concat(Order.customer_name)
        .concat(line)
        .concat(Order.customer_email)
        .concat(line)
        .concat(func.coalesce(cast(Order.extra_references, Text), literal_column("''")))
    )


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
    q = _CONTROL.sub("", filters.get("q") or "").strip()
    if q:
        matches = [_text_search(q)]
        amount = parse_amount(q)
        if amount is not None:
            matches.append(Order.amount == amount)
        found.append(or_(*matches))
    return found
