"""Demo data: a DACH shop with a few hundred orders whose last 60 days really happened.

The loader replays each day in order (that day's payments arrive, then that day's dunning run
decides), so every reminder, cancellation and digest on the demo orders was made by the real rules.
"""

from __future__ import annotations

import io
import random
from datetime import date, timedelta
from decimal import Decimal

import segno
from sqlalchemy import select

from ledger import accounts, bounces, claims, collection, dunning, lifecycle, orders, rulesets
from ledger.bank import accounts as bank_accounts
from ledger.clock import today_for
from ledger.db import db
from ledger.documents import print_runs
from ledger.models import OPEN_STATUSES, Order, OutboxMessage, Source, Status
from ledger.money import CENT

MERCHANT_NAME = "Alpenkiste GmbH"
DEMO_EMAIL = "demo@mahnwerk.example"
DEMO_PASSWORD = "mahnwerk-demo"
DEMO_RULES = """\
# Vorkasse: nach 14 Tagen erinnern, nach 21 Tagen stornieren und die Buchhaltung informieren
vorkasse after 14 days: remind; after 21 days: cancel and notify accounting
"""
# A saved, not yet active second version, so the editor's preview, diff and activation have
# something to show.
DEMO_DRAFT = """\
# Vorkasse: früher erinnern, nach 14 Tagen stornieren und die Ware freigeben
vorkasse after 7 days: remind; after 14 days: cancel, release reservation and notify accounting

# Rechnung: Zahlungserinnerung, dann Mahnung mit Gebühr
rechnung:
    after 7 days: remind level 1
    after 21 days: remind level 2 with fee 2.50
    at least 7 days between reminders

nachnahme after 30 days: mark overdue and notify team
"""
DAYS = 60

CUSTOMERS = {
    "DE": (
        "de",
        [
            "Anna Schmidt",
            "Lukas Müller",
            "Sophie Weber",
            "Jonas Becker",
            "Marie Wagner",
            "Felix Hoffmann",
            "Laura Schäfer",
            "Paul Koch",
            "Lea Richter",
            "Tim Klein",
        ],
    ),
    "AT": (
        "de",
        [
            "Katharina Gruber",
            "Florian Huber",
            "Julia Bauer",
            "Maximilian Wagner",
            "Theresa Pichler",
            "David Moser",
        ],
    ),
    "CH": ("de", ["Nina Keller", "Luca Meier", "Sara Brunner", "Noah Baumann"]),
    "CH-fr": ("fr", ["Camille Dubois", "Julien Favre", "Léa Rochat", "Mathieu Perrin"]),
    "CH-it": ("it", ["Giulia Bernasconi", "Marco Rossi", "Chiara Lombardi"]),
    "INT": ("en", ["Emily Clarke", "James Walker", "Olivia Bennett"]),
}
# Streets and towns where letters to the demo's customers go (each country's own postcodes).
ADDRESSES = {
    "DE": [("Musterstraße", "80331 München"), ("Lindenallee", "10115 Berlin")],
    "AT": [("Hauptstraße", "1010 Wien"), ("Getreidegasse", "5020 Salzburg")],
    "CH": [("Bahnhofstrasse", "8001 Zürich"), ("Marktgasse", "3011 Bern")],
    "CH-fr": [("Rue du Rhône", "1204 Genève")],
    "CH-it": [("Via Nassa", "6900 Lugano")],
}
REGIONS = {
    "DE": ["BY", "BW", "NW", "BE", "HH"],
    "AT": ["9", "6", "5"],
    "CH": ["ZH", "BE", "GE", "TI"],
}


def _customer(rng: random.Random) -> dict:
    group = rng.choices(list(CUSTOMERS), weights=[45, 18, 12, 8, 5, 12])[0]
    language, names = CUSTOMERS[group]
    country = {"CH-fr": "CH", "CH-it": "CH", "INT": rng.choice(["DE", "AT"])}.get(group, group)
    if group == "CH-fr":
        region = "GE"
    elif group == "CH-it":
        region = "TI"
    else:
        region = rng.choice(REGIONS[country])
    name = rng.choice(names)
    street, town = rng.choice(ADDRESSES[group if group.startswith("CH") else country])
    b2b = rng.random() < 0.2
    if b2b:
        name = f"{name.split()[-1]} {rng.choice(['GmbH', 'AG', 'KG', 'e.K.'])}"
    email = name.lower().replace(" ", ".").replace("ü", "ue").replace("ä", "ae").replace("ö", "oe")
    email = "".join(c for c in email if c.isascii() and (c.isalnum() or c in "._"))
    return {
        "name": name,
        "email": f"{email}@example.{'ch' if country == 'CH' else country.lower()}",
        "country": country,
        "region": region,
        "language": language,
        "type": "b2b" if b2b else "b2c",
        "address": f"{street} {rng.randint(1, 120)}\n{town}",
        "number": f"K-{rng.randint(10000, 99999)}",
    }


def _orders(count: int, today: date, rng: random.Random) -> list[tuple[dict, date | None, bool]]:
    """(order body, day it gets paid or None, pays only half) for `count` orders."""
    made = []
    for i in range(count):
        customer = _customer(rng)
        ordered_on = today - timedelta(days=rng.randint(0, DAYS))
        method = rng.choices(["prepayment", "invoice", "cod"], weights=[45, 40, 15])[0]
        due_on = ordered_on + timedelta(days=14 if method == "invoice" else 0)
        amount = Decimal(rng.randint(990, 89900)) / 100
        body = {
            "number": f"AK-{10000 + i}",
            "customer": customer,
            "amount": str(amount),
            "currency": "CHF" if customer["country"] == "CH" else "EUR",
            "payment_method": method,
            "ordered_on": ordered_on.isoformat(),
            "due_on": due_on.isoformat(),
        }
        if method == "invoice":
            body["invoice_number"] = f"RE-{2026}-{5000 + i}"
        # Most customers pay, some late, some never.
        roll = rng.random()
        paid_on = None
        partial = roll > 0.95  # pays half and stops
        if partial:
            paid_on = ordered_on + timedelta(days=rng.randint(1, 10))
        elif roll < 0.55:
            paid_on = ordered_on + timedelta(days=rng.randint(1, 12))
        elif roll < 0.7:
            paid_on = due_on + timedelta(days=rng.randint(15, 25))
        made.append((body, paid_on if paid_on and paid_on < today else None, partial))
    return made


def load(count: int = 300, seed: int = 20261123, after_run=None) -> bool:
    """Load the demo merchant once. Returns False when it exists already. `after_run(run)` is
    called after each simulated day's run, e.g. to deliver that day's messages."""
    if accounts.find_merchant(MERCHANT_NAME):
        return False
    rng = random.Random(seed)
    merchant = accounts.create_merchant(
        MERCHANT_NAME,
        "buchhaltung@alpenkiste.example",
        team_email="team@alpenkiste.example",
        sender_email="service@alpenkiste.example",
        bank_account_holder="Alpenkiste GmbH",
        iban="DE02120300000000202051",
        bic="BYLADEM1001",
        bank_name="Deutsche Kreditbank Berlin",
        company_address="Bergstraße 12\n80331 München",
        register_number="HRB 123456, Amtsgericht München",
        vat_id="DE136695976",
        managing_directors="Anna Berger",
        payment_days=14,
    )
    # Swiss customers pay CHF to a Swiss account: with a QR-IBAN, their QR-bills carry a QR
    # reference (ledger/bank/references.py).
    bank_accounts.add_account(
        merchant,
        "CH9300762011623852957",
        holder="Alpenkiste GmbH",
        currency="CHF",
        qr_iban="CH4431999123000889012",
    )
    # The demo's login is published (README), so the password policy does not apply to it.
    user = accounts.create_user(DEMO_EMAIL, merchant, DEMO_PASSWORD, policy=False)
    user.language = "de"  # the portal opens in German, whatever the browser says
    rulesets.save_and_activate(merchant, DEMO_RULES, DEMO_EMAIL, "demo rules")
    today = today_for(merchant)
    planned = _orders(count, today, rng)
    by_day: dict[date, list] = {}
    for body, paid_on, partial in planned:
        by_day.setdefault(date.fromisoformat(body["ordered_on"]), []).append(("order", body))
        if paid_on:
            by_day.setdefault(paid_on, []).append(("half" if partial else "payment", body))
    for offset in range(DAYS, 0, -1):
        day = today - timedelta(days=offset)
        run = _replay_day(merchant, day, by_day.get(day, []))
        if after_run:
            after_run(run)
    _replay_day(merchant, today, by_day.get(today, []), run=False)
    _request_letters(merchant)
    _showcase(merchant, today)
    rulesets.save_version(
        merchant,
        DEMO_DRAFT,
        "team@alpenkiste.example",
        "Entwurf: früher erinnern, Rechnungen mahnen",
    )
    db.session.commit()
    return True


def _request_letters(merchant) -> None:
    """Payment information by letter for one open order of each country (the Swiss one with a
    QR-bill, the others with a GiroCode), waiting for the reviewer's first print run."""
    for country in ("DE", "AT", "CH"):
        order = db.session.scalar(
            select(Order)
            .where(
                Order.merchant_id == merchant.id,
                Order.country == country,
                Order.status.in_(OPEN_STATUSES),
            )
            .order_by(Order.language != "de", Order.id)  # de-CH shows the Swiss spelling
            .limit(1)
        )
        if order is not None:
            print_runs.request_letter(order, "payment_info", DEMO_EMAIL)


def _first_open(merchant, *conditions) -> Order | None:
    return db.session.scalar(
        select(Order)
        .where(Order.merchant_id == merchant.id, Order.status.in_(OPEN_STATUSES), *conditions)
        .order_by(Order.dunning_level.desc(), Order.id)  # the furthest in dunning first
        .limit(1)
    )


def _showcase(merchant, today: date) -> None:
    """One order for each of the order page's sections that the replayed days do not make on
    their own: a customer's "already paid" claim with a proof, a case with the collection
    partner and its first report, an overpayment to refund, a reminder that bounced."""
    merchant.bounce_domain = "alpenkiste.example"
    merchant.collection_partner = "Inkasso Süd GmbH"
    merchant.ask_refund_details = True
    merchant.cancellation_notice = "email"
    cause = lifecycle.Cause(DEMO_EMAIL, Source.MANUAL, today)
    claimed = _first_open(merchant, Order.payment_method == "prepayment", Order.dunning_level > 0)
    if claimed is not None:
        proof = segno.make("Überweisung an Alpenkiste GmbH", micro=False)
        png = io.BytesIO()
        proof.save(png, kind="png", scale=4)
        note = "Ich habe am Montag überwiesen, der Beleg ist anbei."
        claims.claim(claimed, today - timedelta(days=2), note, png.getvalue(), "beleg.png")
    handed = _first_open(merchant, Order.payment_method == "invoice")
    if handed is not None:
        collection.hand_over(handed, cause)
        report = collection.parse_update({"status": "accepted", "partner_file_number": "IS-2611"})
        collection.update_from_partner(handed, report, "api", today)
    overpaid = _first_open(merchant, Order.payment_method == "prepayment", Order.dunning_level == 0)
    if overpaid is not None:
        paid = {"amount": str(overpaid.open_amount + 15), "paid_on": today.isoformat()}
        orders.record_payment(overpaid, orders.parse_payment(paid), "api")
    reminder = db.session.scalar(
        select(OutboxMessage)
        .where(
            OutboxMessage.merchant_id == merchant.id,
            OutboxMessage.kind == "email",
            OutboxMessage.purpose == "reminder",
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    if reminder is not None:
        bounces.handle(_bounce(reminder, merchant), [bounces.return_path(reminder, merchant)])
    db.session.flush()


def _bounce(message: OutboxMessage, merchant) -> bytes:
    """A Postfix delivery status notification for the message (RFC 3464)."""
    return f"""\
From: MAILER-DAEMON@mx.alpenkiste.example (Mail Delivery System)
To: {bounces.return_path(message, merchant)}
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

The mail system could not deliver your message.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.alpenkiste.example

Final-Recipient: rfc822; {message.recipient}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{message.recipient}>: Recipient address rejected: User unknown

--B--
""".encode()


def _replay_day(merchant, day: date, happenings: list, run: bool = True):
    for kind, body in happenings:
        if kind == "order":
            orders.upsert_order(merchant, orders.parse_order(body), "api")
        else:
            order = orders.find_order(merchant.id, body["number"])
            if order.status not in (Status.CANCELLED, Status.PAID):
                half = (order.amount / 2).quantize(CENT)
                payment = {
                    "amount": str(order.amount if kind == "payment" else half),
                    "paid_on": day.isoformat(),
                    "reference": f"{body['number']} {body['customer']['name']}",
                }
                orders.record_payment(order, orders.parse_payment(payment), "api")
    if not run:
        return None
    record = dunning.start_run(merchant, day, "schedule")
    summary = dunning.execute(merchant, day, run=record)
    dunning.finish_run(record, summary)
    db.session.commit()
    return record
