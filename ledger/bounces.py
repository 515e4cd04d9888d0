"""Returned mail (bounces): which outbox message came back, and why.

Every mail goes out with its own return address (VERP): `bounces+<id>-<tag>@<bounce domain>`,
the domain the merchant configured (Merchant.bounce_domain; without one the mail keeps the
sender as its return path and bounces reach the merchant's own mailbox). The tag, a short
HMAC of the id under the installation's secret key, keeps made-up addresses from marking
someone else's message. A returned mail comes in through the mail sink (worker/mailsink.py),
a real inbound mailbox, or `POST /api/v1/bounces`; `handle` finds the message from the
address it was sent to (or, for forwarded ones, from the address in its To), asks flufl.bounce
which recipients failed for good, and marks the message bounced with the reason. Delay
warnings and anything without a permanent failure change nothing.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import re
from email.message import Message
from email.utils import getaddresses

from flask import current_app
from flufl.bounce import scan_message
from pydantic import BaseModel, ConfigDict, Field

from ledger import audit
from ledger.db import db
from ledger.models import Merchant, OutboxMessage, utcnow

VERP = re.compile(r"bounces\+(\d+)-([0-9a-f]{10})@([A-Za-z0-9.-]+)", re.IGNORECASE)
REASON_LIMIT = 500
MAX_BYTES = 2 * 1024 * 1024  # a returned mail with the original's PDF attached
SMTP_REPLY = re.compile(r"\b[45]\d\d[ -][^\n]*|\b[45]\.\d{1,3}\.\d{1,3}\b[^\n]*")


def _tag(message_id: int) -> str:
    key = (current_app.config.get("SECRET_KEY") or "").encode()
    return hmac.new(key, f"bounce:{message_id}".encode(), hashlib.sha256).hexdigest()[:10]


def return_path(message: OutboxMessage, merchant) -> str | None:
    """The message's own return address, or None when the merchant has no bounce domain."""
    domain = (merchant.bounce_domain or "").strip()
    if not domain or message.id is None:
        return None
    return f"bounces+{message.id}-{_tag(message.id)}@{domain}"


def message_for(addresses: list[str]) -> OutboxMessage | None:
    """The outbox message one of the addresses (VERP) names, if the tag and domain fit."""
    for address in addresses:
        for found in VERP.finditer(address or ""):
            message_id, tag, domain = int(found[1]), found[2].lower(), found[3].lower()
            if not hmac.compare_digest(tag, _tag(message_id)):
                continue
            message = db.session.get(OutboxMessage, message_id)
            merchant = db.session.get(Merchant, message.merchant_id) if message else None
            if merchant is not None and (merchant.bounce_domain or "").strip().lower() == domain:
                return message
    return None


def _addresses(bounce: Message, envelope_to: list[str] | None) -> list[str]:
    headers = [
        value
        for name in ("X-Envelope-To", "Delivered-To", "X-Original-To", "To")
        for value in bounce.get_all(name, [])
    ]
    return [*(envelope_to or []), *(address for _, address in getaddresses(headers))]


def reason(bounce: Message, failed: list[str]) -> str:
    """A short reason: the DSN's diagnostic code, else the first SMTP reply in the text."""
    found = ""
    for part in bounce.walk():
        if part.get_content_type() == "message/delivery-status":
            for block in part.get_payload():
                diagnostic = block.get("Diagnostic-Code") or block.get("Status")
                if diagnostic:
                    found = " ".join(str(diagnostic).split())
                    break
        if found:
            break
    if not found:
        for part in bounce.walk():
            if part.get_content_maintype() == "text":
                text = part.get_payload(decode=True) or b""
                match = SMTP_REPLY.search(text.decode("utf-8", "replace"))
                if match:
                    found = " ".join(match[0].split())
                    break
    text = ", ".join(failed) + (f": {found}" if found else "")
    return text[:REASON_LIMIT]


def handle(raw: bytes, envelope_to: list[str] | None = None, merchant_id: int | None = None):
    """Mark the message a returned mail is about as bounced; the message, or None when the
    mail names none of ours (or, with merchant_id, none of that merchant's) or reports no
    permanent failure. Commits nothing: the caller does."""
    bounce = email.message_from_bytes(raw, policy=email.policy.compat32)
    message = message_for(_addresses(bounce, envelope_to))
    if message is None or (merchant_id is not None and message.merchant_id != merchant_id):
        return None
    failed = sorted(address.decode("utf-8", "replace") for address in scan_message(bounce))
    if not failed:
        return None
    if message.bounced_at is None:
        message.bounced_at = utcnow()
        message.bounce_reason = reason(bounce, failed)
        audit.record(
            message.merchant_id,
            "system",
            "message.bounced",
            message.order_id,
            message=message.id,
            reason=message.bounce_reason,
        )
    return message


class BounceOut(BaseModel):
    """The message a returned mail was about, now marked bounced."""

    model_config = ConfigDict(title="Bounce")

    message: int = Field(description="The outbox message's id (from its return address).")
    order: str | None = Field(description="The order's number, when the mail was about one.")
    recipient: str = Field(description="Where the message had been sent.")
    reason: str = Field(description="The failed recipients and the receiving server's answer.")


def as_json(message: OutboxMessage) -> dict:
    order = message.order
    return BounceOut(
        message=message.id,
        order=order.number if order is not None else None,
        recipient=message.recipient,
        reason=message.bounce_reason or "",
    ).model_dump()
