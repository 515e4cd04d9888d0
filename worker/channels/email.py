"""Email through Flask-Mail (SMTP)."""

from __future__ import annotations

import smtplib
from email.utils import parseaddr

from flask import current_app
from flask_mail import Message

from worker.channels import ChannelError
from worker.mail import mail


def message_id(message, sender: str) -> str:
    """A Message-ID that derives from the outbox message: stable across resends."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "mahnwerk.invalid"
    return f"<mahnwerk.{message.id}.{message.created_at:%Y%m%d%H%M%S}@{domain}>"


def send(message, merchant) -> None:
    sender = merchant.sender or current_app.config["MAIL_DEFAULT_SENDER"]
    email = Message(
        subject=message.subject,
        recipients=[message.recipient],
        body=message.body,
        sender=sender,
        reply_to=merchant.reply_to_email or merchant.sender_email or merchant.accounting_email,
        extra_headers={
            "X-Mahnwerk-Message": str(message.id),
            "X-Mahnwerk-Purpose": message.purpose,
        },
    )
    # The same message sent again after a crash (docs/reliability.md) keeps its id. Flask-Mail
    # writes msgId as the one Message-ID header (an extra header would be a second one).
    email.msgId = message_id(message, sender)
    attachment = (message.payload or {}).get("attachment")
    if attachment:
        email.attach(
            attachment["filename"], attachment["content_type"], attachment["text"].encode()
        )
    try:
        mail.send(email)
    except smtplib.SMTPRecipientsRefused as exc:
        raise ChannelError(f"recipient refused: {exc.recipients}", permanent=True) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"SMTP: {exc}") from exc
