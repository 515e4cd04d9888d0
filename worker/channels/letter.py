"""Letters: rendered as a printable HTML page under LETTER_DIR, one file per letter, for the
merchant's print run (a print-service channel can replace this without touching the outbox)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, render_template

from worker.channels import ChannelError


def send(message, merchant) -> Path:
    address = message.recipient.splitlines()
    if len(address) < 2:
        raise ChannelError("the order has no postal address for a letter", permanent=True)
    folder = Path(current_app.config["LETTER_DIR"]) / str(merchant.id)
    folder.mkdir(parents=True, exist_ok=True)
    number = message.order.number if message.order else "none"
    path = folder / f"{message.created_at:%Y-%m-%d}-{number}-{message.id}.html"
    path.write_text(
        render_template("mail/letter.html", message=message, merchant=merchant, address=address),
        encoding="utf-8",
    )
    return path
