"""The personal link in every payment request and reminder to the customer page (no login):
`{PORTAL_URL}/c/<token>`, the token signed with the app's SECRET_KEY (itsdangerous, salt
"customer-page") over the order's id, its merchant's id and its `customer_link_version`.

A link is good while
- its signature is right (else: forged),
- it is at most 180 days old (each message carries a fresh one, so: 180 days after the last
  message the customer got) and the order still asks something of the customer: it is open,
  or a refund waits for the customer's bank details (else: expired),
- the order exists, is not erased and its link version is the one signed (erasure bumps it and
  ends every link at once; else: unknown).
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from ledger.db import db
from ledger.models import Merchant, Order, Refund, RefundState

SALT = "customer-page"
MAX_AGE = timedelta(days=180)
PATH = "/c/"


class LinkError(Exception):
    """The link does not open the page: `kind` is "forged", "expired" or "unknown"; `order`
    when the signature was right (its language words the answer)."""

    kind = "unknown"

    def __init__(self, order: Order | None = None, closed: bool = False):
        super().__init__(self.kind)
        self.order = order
        self.closed = closed  # expired because nothing is open any more (not by its age)


class LinkForged(LinkError):
    kind = "forged"


class LinkExpired(LinkError):
    kind = "expired"


class LinkUnknown(LinkError):
    kind = "unknown"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(order: Order) -> str:
    payload = {"o": order.id, "m": order.merchant_id, "v": order.customer_link_version or 1}
    return _serializer().dumps(payload)


def link_for(order: Order) -> str:
    return current_app.config["PORTAL_URL"] + PATH + token_for(order)


def refund_awaiting_details(order: Order) -> Refund | None:
    """The order's refund that waits for the customer's bank details, when the merchant asks
    customers for them on the page."""
    merchant = order.merchant or db.session.get(Merchant, order.merchant_id)
    if not merchant.ask_refund_details:
        return None
    return db.session.scalar(
        select(Refund)
        .where(Refund.order_id == order.id, Refund.state == RefundState.AWAITING_DETAILS)
        .order_by(Refund.id)
        .limit(1)
    )


def _order(payload) -> Order | None:
    if not isinstance(payload, dict):
        return None
    order_id, merchant_id, version = payload.get("o"), payload.get("m"), payload.get("v")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (order_id, merchant_id)):
        return None
    order = db.session.get(Order, order_id)
    if order is None or order.merchant_id != merchant_id or order.erased_at is not None:
        return None
    if version != (order.customer_link_version or 1):
        return None
    return order


def resolve(token: str) -> Order:
    """The order the link is for; LinkForged, LinkExpired or LinkUnknown when it opens nothing."""
    serializer = _serializer()
    try:
        payload = serializer.loads(token, max_age=int(MAX_AGE.total_seconds()))
    except SignatureExpired as exc:
        try:
            order = _order(serializer.load_payload(exc.payload))
        except BadSignature:
            order = None
        raise LinkExpired(order) from None
    except BadSignature:
        raise LinkForged() from None
    order = _order(payload)
    if order is None:
        raise LinkUnknown()
    if not order.is_open and refund_awaiting_details(order) is None:
        raise LinkExpired(order, closed=True)
    return order
