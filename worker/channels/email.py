"""Email over SMTP (the server Flask-Mail is configured for: MAIL_SERVER, MAIL_PORT, …).

The MIME message is built with the standard library's EmailMessage: the text part, and when
the outbox message has one, the HTML part as its alternative with its inline images (the
payment slip's QR code and the logo, made now from the order: ledger.messages.inline_images);
then the attachments (a digest's CSV, the reminder letter's PDF when the merchant wants it).

Every mail goes out from the merchant's own sender address: a customer must see who writes and
be able to answer. Without one nothing is sent (the message fails and says why; the outbox page
warns). Only mails to the merchant's team (invitations, password resets) may fall back to the
installation's MAIL_DEFAULT_SENDER, when one is configured — never a …@localhost address.
"""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import current_app

from ledger.bounces import return_path
from ledger.digest import DIGEST_PURPOSES
from ledger.messages import attachment_name, inline_images
from ledger.team import MAIL_PURPOSE
from worker.channels import ChannelError
from worker.mail import mail

TEAM_PURPOSES = frozenset(MAIL_PURPOSE.values())
NO_SENDER = "no sender address is configured: set one on the settings page"


def message_id(message, sender: str) -> str:
    """A Message-ID that derives from the outbox message: stable across resends."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "mahnwerk.invalid"
    return f"<mahnwerk.{message.id}.{message.created_at:%Y%m%d%H%M%S}@{domain}>"


def _usable(address: str | None) -> bool:
    domain = (address or "").rpartition("@")[2].lower()
    return bool(domain) and domain != "localhost" and not domain.endswith(".localhost")


def sender_for(message, merchant) -> Address:
    """Who the mail is from: the merchant's sender address (with its name); for team mails the
    installation's configured sender as a fallback. Raises a permanent ChannelError when there
    is none."""
    name, address = merchant.name, merchant.sender_email
    if not _usable(address) and message.purpose in TEAM_PURPOSES:
        name, address = parseaddr(current_app.config.get("MAIL_DEFAULT_SENDER") or "")
    if not _usable(address):
        raise ChannelError(NO_SENDER, permanent=True)
    try:
        return Address(display_name=name or "", addr_spec=address)
    except (ValueError, IndexError) as exc:
        raise ChannelError(f"the sender address {address!r} is not valid", permanent=True) from exc


def build(message, merchant) -> EmailMessage:
    """The MIME message for an outbox message (no SMTP involved)."""
    sender = sender_for(message, merchant)
    email = EmailMessage()
    email["Subject"] = message.subject or ""
    email["From"] = sender
    email["To"] = message.recipient
    email["Reply-To"] = (
        merchant.reply_to_email or merchant.sender_email or merchant.accounting_email
    )
    email["Date"] = format_datetime(datetime.now(UTC))
    # The same message sent again after a crash (docs/reliability.md) keeps its id.
    email["Message-ID"] = message_id(message, sender.addr_spec)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    if message.purpose in DIGEST_PURPOSES:
        email["Precedence"] = "bulk"
    bounce_to = return_path(message, merchant)  # VERP: a returned mail names its message
    if bounce_to:
        email["Return-Path"] = f"<{bounce_to}>"
    email["X-Mahnwerk-Message"] = str(message.id)
    email["X-Mahnwerk-Purpose"] = message.purpose
    email.set_content(message.body or "")
    if message.html:
        email.add_alternative(message.html, subtype="html")
        html_part = email.get_payload()[1]
        for cid, (data, media_type) in inline_images(message, merchant).items():
            maintype, _, subtype = media_type.partition("/")
            html_part.add_related(
                data,
                maintype,
                subtype,
                cid=f"<{cid}>",
                disposition="inline",
                filename=f"{cid}.{subtype.replace('jpeg', 'jpg')}",
            )
    attachment = (message.payload or {}).get("attachment")
    if attachment:
        maintype, _, subtype = attachment["content_type"].partition("/")
        email.add_attachment(
            attachment["text"].encode(), maintype, subtype, filename=attachment["filename"]
        )
    pdf = _reminder_pdf(message, merchant)
    if pdf:
        email.add_attachment(pdf, "application", "pdf", filename=attachment_name(message.order))
    return email


def _reminder_pdf(message, merchant) -> bytes | None:
    """The reminder letter as PDF, when the merchant attaches it to reminder mails. An order
    without a postal address has no letter: the mail goes without it."""
    if not (merchant.attach_reminder_pdf and message.purpose == "reminder" and message.order):
        return None
    from ledger.documents import letters

    event = message.event
    try:
        return letters.render(
            message.order,
            merchant,
            "reminder",
            level=(message.payload or {}).get("level"),
            fee=event.fee if event is not None else None,
        ).pdf
    except letters.LetterError:
        return None


def send(message, merchant) -> None:
    email = build(message, merchant)
    try:
        with mail.connect() as connection:
            if connection.host is not None:  # None: MAIL_SUPPRESS_SEND
                connection.host.send_message(
                    email,
                    from_addr=return_path(message, merchant)
                    or email["From"].addresses[0].addr_spec,
                    to_addrs=[message.recipient],
                )
    except smtplib.SMTPRecipientsRefused as exc:
        raise ChannelError(f"recipient refused: {exc.recipients}", permanent=True) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"SMTP: {exc}") from exc
