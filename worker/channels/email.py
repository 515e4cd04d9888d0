"""Email through Flask-Mail (SMTP)."""

from __future__ import annotations

import smtplib

from flask import current_app
from flask_mail import Message

from worker.channels import ChannelError
from worker.mail import mail


def send(message, merchant) -> None:
    email = Message(
        subject=message.subject,
        recipients=[message.recipient],
        body=message.body,
        sender=merchant.sender or current_app.config["MAIL_DEFAULT_SENDER"],
        reply_to=merchant.sender_email or merchant.accounting_email,
        extra_headers={
            "X-Mahnwerk-Message": str(message.id),
            "X-Mahnwerk-Purpose": message.purpose,
        },
    )
    try:
        mail.send(email)
    except smtplib.SMTPRecipientsRefused as exc:
        raise ChannelError(f"recipient refused: {exc.recipients}", permanent=True) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"SMTP: {exc}") from exc
