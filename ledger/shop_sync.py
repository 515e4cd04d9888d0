"""Re-read an order from the shop (the order page's button): a signed GET of
`{shop_url}/orders/{number}` that answers the same JSON as our API's order body, parsed by the
API's parser and applied through the API's upsert (ledger.orders), so fields edited by hand
keep the shop's differing values aside (ledger.order_edits) exactly as an API call would.

The request: urllib without redirects (ledger.webhooks.post), at most TIMEOUT_SECONDS, an
answer of at most MAX_BYTES, JSON only. Headers `X-Mahnwerk-Timestamp: <unix seconds>` and,
when the merchant has a webhook secret, `X-Mahnwerk-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.GET.<path>" with the secret>` (path: the URL's path as sent, percent-encoded).

A failure stores nothing but the audit entry "order.reread_failed" with the reason; a success
is audited "order.reread" with the changed fields (old → new) next to the upsert's own
"order.updated" / "order.shop_change_ignored" entries. Messages are English msgids (N_),
translated by the portal (babel.cfg extracts this file)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from urllib.parse import quote, urlsplit

from ledger import audit, lifecycle, orders, webhooks
from ledger.db import db
from ledger.models import Merchant, Order, Source
from ledger.refusals import N_, Refused

TIMEOUT_SECONDS = 10
MAX_BYTES = 1_000_000
TIMESTAMP_HEADER = "X-Mahnwerk-Timestamp"
SIGNATURE_HEADER = webhooks.SIGNATURE_HEADER
# What the result compares before and after (the amount goes through the money ledger).
COMPARED = (*orders.DETAIL_FIELDS, "amount", "due_on", "tags") + (
    "payment_days",
    "discount_percent",
    "discount_days",
)


def signature(secret: str, timestamp: str, path: str) -> str:
    """The GET's signature, as the shop verifies it: HMAC-SHA256 of "<timestamp>.GET.<path>"."""
    message = f"{timestamp}.GET.{path}".encode()
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def order_url(shop_url: str, number: str) -> str:
    return shop_url.rstrip("/") + "/orders/" + quote(number, safe="")


@dataclass(frozen=True)
class Result:
    """What re-reading did: `changes` {field: [old, new]} applied, `kept_aside` {field: value}
    the shop sent for fields edited by hand; or `error` (an English msgid, `params` fill it)
    and, for invalid order data, the parser's `fields` {field: message}."""

    changes: dict = field(default_factory=dict)
    kept_aside: dict = field(default_factory=dict)
    error: str | None = None
    params: dict = field(default_factory=dict)
    fields: dict = field(default_factory=dict)
    refusal: object = None  # the lifecycle's Refusal, when it refused

    @property
    def ok(self) -> bool:
        return self.error is None

    def reason(self) -> str:
        """The error in English, as the audit log keeps it."""
        text = self.error % self.params if self.params else self.error
        if self.fields:
            text += ": " + "; ".join(f"{k}: {v}" for k, v in self.fields.items())
        return text


class _Failed(Exception):
    def __init__(self, message: str, fields: dict | None = None, **params):
        super().__init__(message)
        self.result = Result(error=message, params=params, fields=fields or {})


def reread(order: Order, actor: str, private_addresses: bool = True) -> Result:
    """Fetch the order from the merchant's shop and apply it; commits (the failure's audit
    entry too). With `private_addresses` False a shop URL whose host is internal is not
    contacted (ledger.webhooks.private_address, as for webhooks)."""
    merchant = order.merchant or db.session.get(Merchant, order.merchant_id)
    order_id = order.id
    try:
        data = fetch(merchant, order, private_addresses)
        result = lifecycle.retrying(lambda: _apply(merchant, order, data, actor))
    except _Failed as failed:
        result = failed.result
    except orders.ValidationError as exc:  # pragma: no cover - the upsert checks nothing new
        result = Result(error=N_("the shop's order data is invalid"), fields=exc.errors)
    except Refused as exc:  # the lifecycle refused the upsert's change
        reason = exc.reason
        result = Result(
            error=N_("refused: %(reason)s"), params={"reason": str(reason)}, refusal=reason
        )
    if result.ok:
        return result
    db.session.rollback()
    text = result.reason()
    lifecycle.retrying(
        lambda: audit.record(merchant.id, actor, "order.reread_failed", order_id, reason=text)
    )
    return result


def fetch(merchant: Merchant, order: Order, private_addresses: bool = True):
    """The shop's order as OrderInput (the API's parser); raises _Failed with the reason."""
    if order.erased_at is not None:
        raise _Failed(N_("the order's personal data is erased; it is not read again"))
    if not merchant.shop_url:
        raise _Failed(N_("no shop URL is set (settings)"))
    url = order_url(merchant.shop_url, order.number)
    if not private_addresses and (internal := webhooks.private_address(url)):
        raise _Failed(
            N_("refused: %(address)s is an internal address of this installation"),
            address=internal,
        )
    body = _get(url, merchant.webhook_secret)
    if len(body) > MAX_BYTES:
        raise _Failed(N_("the shop's answer is larger than %(limit)s bytes"), limit=MAX_BYTES)
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise _Failed(N_("the shop's answer is not JSON")) from None
    try:
        data = orders.parse_order(payload)
    except orders.ValidationError as exc:
        raise _Failed(N_("the shop's order data is invalid"), fields=exc.errors) from None
    if data.number != order.number:
        raise _Failed(
            N_("the shop answered with another order number (%(number)s)"), number=data.number
        )
    return data


def _get(url: str, secret: str | None) -> bytes:
    timestamp = str(int(time.time()))
    headers = {
        "Accept": "application/json",
        "User-Agent": "Mahnwerk-Reread/1",
        TIMESTAMP_HEADER: timestamp,
    }
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, urlsplit(url).path)
    request = urllib.request.Request(url, headers=headers, method="GET")
    timeout = TIMEOUT_SECONDS
    try:
        with webhooks.post(request, timeout) as response:  # no redirects followed
            if response.status != 200:
                raise _Failed(N_("the shop answered HTTP %(status)s"), status=response.status)
            kind = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if kind and not (kind == "application/json" or kind.endswith("+json")):
                raise _Failed(N_("the shop's answer is not JSON (%(type)s)"), type=kind)
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > MAX_BYTES:
                raise _Failed(
                    N_("the shop's answer is larger than %(limit)s bytes"), limit=MAX_BYTES
                )
            return response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:  # the shop answered, with an error status
        exc.close()
        if exc.code == 404:
            raise _Failed(N_("the shop does not know this order (HTTP 404)")) from None
        raise _Failed(N_("the shop answered HTTP %(status)s"), status=exc.code) from None
    except urllib.error.URLError as exc:
        raise _connection_failed(exc.reason, timeout) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:  # a reset, a timeout reading
        raise _connection_failed(exc, timeout) from None


def _connection_failed(reason, timeout: float) -> _Failed:
    """The webhook test's words for a connection that gave no answer."""
    failed = webhooks._failed(0.0, reason, timeout)
    return _Failed(failed.error, **(failed.params or {}))


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return ", ".join(value)
    if isinstance(value, date | Decimal):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return str(value)


def _snapshot(order: Order) -> dict:
    return {name: _text(getattr(order, name)) for name in COMPARED}


def _apply(merchant: Merchant, order: Order, data, actor: str) -> Result:
    """The API's upsert, with what it changed and what it kept aside."""
    order = lifecycle.lock(order)
    if order.erased_at is not None:  # erased while the shop answered: never filled again
        raise lifecycle.Refused("erased")
    before, kept_before = _snapshot(order), dict(order.shop_changes or {})
    order, _created = orders.upsert_order(merchant, data, actor, Source.SHOP)
    after, kept_after = _snapshot(order), dict(order.shop_changes or {})
    changes = {k: [before[k], after[k]] for k in COMPARED if before[k] != after[k]}
    kept = {k: v for k, v in kept_after.items() if kept_before.get(k) != v}
    audit.record(merchant.id, actor, "order.reread", order.id, **changes)
    return Result(changes=changes, kept_aside=kept)
