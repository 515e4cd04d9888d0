"""Starting points for merchants who have never seen the language: whole, checked policies."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    key: str
    title: str
    summary: str
    text: str


TEMPLATES = (
    Template(
        "prepayment",
        "Prepayment: remind, then cancel",
        "Unpaid prepayment orders get a reminder after 7 days and are cancelled after 14; the "
        "stock is released and accounting gets one list a day.",
        "# Vorkasse: one friendly reminder, then cancel and free the stock\n"
        "vorkasse:\n"
        "    after 7 days: remind\n"
        "    after 14 days: cancel, release reservation and notify accounting\n",
    ),
    Template(
        "invoice",
        "Invoice: three dunning levels with fees",
        "A free payment reminder, two dunning letters with fees, statutory interest and the "
        "hand-over to a collection agency.",
        "# Rechnung: Zahlungserinnerung, 1. und 2. Mahnung, then collection\n"
        "rechnung:\n"
        "    after 7 days: remind level 1\n"
        "    after 21 days: remind level 2 with fee 2.50\n"
        "    after 35 days: remind level 3 by email and letter with fee 5.00"
        " and charge interest statutory\n"
        "    after 49 days: hand over to collection and notify accounting\n"
        "    at least 10 days between reminders\n"
        "    no mail on weekends and holidays\n",
    ),
    Template(
        "cod",
        "COD: overdue and notify",
        "Cash-on-delivery parcels not paid for after 30 days are marked overdue and the team is "
        "told.",
        "# Nachnahme: parcels that came back or were never paid\n"
        "nachnahme after 30 days: mark overdue and notify team\n",
    ),
)


def template(key: str) -> Template | None:
    return next((t for t in TEMPLATES if t.key == key), None)
