"""Time the dashboard and the order list over a large order book.

    python bench/dashboard.py [--orders 1000000] [--keep] [--requests 20]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python bench/dashboard.py [--keep]

Builds one merchant with N orders of every status, method and age (bulk inserts, outside the
timed part): 8 % in CHF; paid, unpaid, partially paid, overdue, in collection, cancelled (the
cancelled ones prepayment and unpaid), written off; ordered over the last 400 days; a payment
entry for every paid and partly paid order; a level-1 reminder for 15 % of the orders and a
level-2 one for 5 %; "already paid" claims, bank transactions (some waiting in the inbox),
messages (some failed) and runs.

Measures, each beside a baseline measured in the same run (`SELECT count(*) FROM orders` of
the merchant; the machine's speed swings 1.5×, so the ratios are what to compare):

- the recompute of the snapshot (ledger.dashboard.refresh, and each of its queries);
- the dashboard page's server time through the Flask test client (median of --requests);
- the order list: the page alone (its total now loads separately), the total's own request,
  and both together (what one list request cost before the total became its own block).

SQLite: the built database is kept under the temporary folder (`--keep` reuses it, copied per
run). PostgreSQL: everything lives in the schema `bench_dashboard` of the database named by
DATABASE_URL; `--keep` reuses it when its marker says it was built for the same book.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.book import finish_build, open_book  # noqa: E402

TODAY = date(2026, 11, 30)
BUILD_VERSION = 2  # raise when the generated book changes: a kept one is rebuilt
SCHEMA = "bench_dashboard"
CHUNK = 20_000
NAME = "Bench Dashboard GmbH"
EMAIL = "owner@bench-dashboard.example"
PASSWORD = "Zahlen-zaehlen 2026 richtig"

# status by i % 100: (status, share in percent)
STATUSES = [
    ("paid", 55), ("unpaid", 20), ("partially_paid", 5), ("overdue", 8),
    ("in_collection", 2), ("cancelled", 8), ("written_off", 2),
]  # fmt: skip
STATUS_OF = [status for status, share in STATUSES for _ in range(share)]


def _order_row(i: int, merchant_id: int, now: datetime) -> dict:
    status = STATUS_OF[(i * 37) % 100]
    method = ("prepayment", "invoice", "cod")[i % 7 % 3] if status != "cancelled" else "prepayment"
    if status in ("overdue", "in_collection") and method == "prepayment":
        method = "invoice"
    currency = "CHF" if i % 25 in (3, 17) else "EUR"
    amount = Decimal(500 + (i * 7919) % 49500) / 100
    ordered_on = TODAY - timedelta(days=i % 400)
    due_on = ordered_on + timedelta(days=14 if method == "invoice" else 0)
    paid = {"paid": amount, "partially_paid": (amount / 2).quantize(Decimal("0.01"))}.get(
        status, Decimal("0.00")
    )
    return {
        "id": i + 1,
        "merchant_id": merchant_id,
        "number": f"D-{i:07d}",
        "customer_name": f"Kunde {i}",
        "customer_email": f"kunde{i}@example.de",
        "country": "CH" if currency == "CHF" else "DE",
        "language": "de",
        "customer_type": "b2c",
        "amount": amount,
        "currency": currency,
        "payment_method": method,
        "ordered_on": ordered_on,
        "due_on": due_on,
        "extra_references": [],
        "payer_names": [],
        "tags": [],
        "status": status,
        "paid_total": paid,
        "fees_total": Decimal("0.00"),
        "interest_total": Decimal("0.00"),
        "adjustments_total": amount if status == "written_off" else Decimal("0.00"),
        "paid_after_cancellation": False,
        "version": 1,
        "dunning_level": 2 if i % 20 == 1 else (1 if i % 20 in (1, 2, 5) else 0),
        "dunning_block": False,
        "payment_claimed_on": TODAY - timedelta(days=2)
        if i % 1000 == 7 and status in ("unpaid", "overdue")
        else None,
        "cancelled_on": ordered_on + timedelta(days=21) if status == "cancelled" else None,
        "created_at": now,
        "updated_at": now,
    }


def build(merchant_id: int, count: int) -> None:
    """The book, in bulk (fresh tables: order ids are 1..N)."""
    from sqlalchemy import insert

    from ledger.db import db
    from ledger.models import (
        BankAccount,
        BankImport,
        BankTransaction,
        DunningEvent,
        DunningRun,
        LedgerEntry,
        Order,
        OutboxMessage,
    )

    conn = db.session.connection()
    now = datetime(2026, 11, 30, 6, 0)
    started = time.perf_counter()
    for start in range(0, count, CHUNK):
        orders, entries, events = [], [], []
        for i in range(start, min(count, start + CHUNK)):
            order = _order_row(i, merchant_id, now)
            orders.append(order)
            reminded = i % 20 in (1, 2, 5)  # 15 %: level 1; i % 20 == 1 also level 2
            remind_on = order["due_on"] + timedelta(days=7)
            if reminded:
                events.append(_event(merchant_id, i, 1, remind_on, now))
            if i % 20 == 1:
                events.append(_event(merchant_id, i, 2, remind_on + timedelta(days=14), now))
            if order["paid_total"] > 0:
                paid_on = remind_on + timedelta(days=i % 30) if reminded else order["ordered_on"]
                entries.append(
                    {"merchant_id": merchant_id, "order_id": i + 1, "kind": "payment",
                     "amount": order["paid_total"], "currency": order["currency"],
                     "booked_on": paid_on, "source": "bank", "actor": "bench",
                     "created_at": now}
                )  # fmt: skip
        conn.execute(insert(Order.__table__), orders)
        conn.execute(insert(LedgerEntry.__table__), entries)
        if events:
            conn.execute(insert(DunningEvent.__table__), events)
        if (start // CHUNK) % 10 == 9:
            done = start + CHUNK
            print(f"  built {done:,} orders ({time.perf_counter() - started:.0f} s)", flush=True)
    account = conn.execute(
        insert(BankAccount.__table__).returning(BankAccount.id),
        {"merchant_id": merchant_id, "holder": NAME, "iban": "DE02120300000000202051",
         "currency": "EUR", "country": "DE", "data_as_of": TODAY - timedelta(days=1),
         "created_at": now},
    ).scalar()  # fmt: skip
    imported = conn.execute(
        insert(BankImport.__table__).returning(BankImport.id),
        {"merchant_id": merchant_id, "filename": "bench.xml", "format": "camt.053",
         "sha256": "0" * 64, "way": "cli", "actor": "bench", "created_at": now},
    ).scalar()  # fmt: skip
    states = ["matched"] * 8 + ["unmatched", "suggested"]
    conn.execute(
        insert(BankTransaction.__table__),
        [{"merchant_id": merchant_id, "account_id": account, "import_id": imported,
          "fingerprint": f"bench-{n}", "booking_date": TODAY - timedelta(days=n % 30),
          "amount": Decimal("10.00"), "currency": "EUR", "credit": True, "remittance": "",
          "state": states[n % 10], "suggestions": [], "raw": {}, "reversal": False,
          "created_at": now} for n in range(5000)],
    )  # fmt: skip
    conn.execute(
        insert(OutboxMessage.__table__),
        [{"merchant_id": merchant_id, "kind": "email", "purpose": "reminder",
          "recipient": f"kunde{n}@example.de", "subject": "Erinnerung", "body": "…",
          "payload": {}, "state": "failed" if n % 2500 == 0 else "sent", "attempts": 1,
          "created_at": now} for n in range(50_000)],
    )  # fmt: skip
    conn.execute(
        insert(DunningRun.__table__),
        [{"merchant_id": merchant_id, "run_on": TODAY - timedelta(days=n), "trigger": "schedule",
          "state": "done", "steps": {"remind": 100}, "orders_due": 100, "orders_examined": 100,
          "messages_queued": 100, "messages_sent": 100, "dry_run": False, "created_at": now,
          "finished_at": now} for n in range(60)],
    )  # fmt: skip
    finish_build(conn, count)


def _event(merchant_id: int, i: int, level: int, day: date, now: datetime) -> dict:
    return {"merchant_id": merchant_id, "order_id": i + 1, "step_key": f"bench/{level}",
            "action": "remind", "level": level, "decided_on": day, "reason": "bench",
            "created_at": now}  # fmt: skip


def make_app(orders: int, keep: bool):
    """The app on the bench database; builds the book unless a kept one fits.
    Returns (app, merchant id, engine name)."""

    def create_merchant():
        from ledger import accounts

        merchant = accounts.create_merchant(NAME, "buchhaltung@bench.example")
        accounts.create_user(EMAIL, merchant, PASSWORD)
        return merchant

    return open_book(
        orders,
        keep,
        schema=SCHEMA,
        cache_name="mahnwerk-bench-dashboard",
        build_version=BUILD_VERSION,
        merchant_name=NAME,
        create_merchant=create_merchant,
        build=build,
        config={"MAHNWERK_TODAY": TODAY.isoformat(), "WTF_CSRF_ENABLED": False},
    )


def median_time(function, times: int) -> float:
    took = []
    for _ in range(times):
        start = time.perf_counter()
        function()
        took.append(time.perf_counter() - start)
    return statistics.median(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="reuse (and keep) the built book")
    parser.add_argument("--requests", type=int, default=20, help="page requests to time")
    args = parser.parse_args()

    app, merchant_id, engine = make_app(args.orders, args.keep)
    from sqlalchemy import func, select

    from ledger import dashboard
    from ledger.db import db
    from ledger.models import DashboardFigures, Merchant, Order

    with app.app_context():
        merchant = db.session.get(Merchant, merchant_id)
        db.session.query(DashboardFigures).delete()
        db.session.commit()

        def baseline():
            db.session.scalar(select(func.count(Order.id)).where(Order.merchant_id == merchant_id))

        baseline()  # warm the cache
        base = median_time(baseline, 5)
        parts = {
            "open (method, age, status)": lambda: dashboard.open_figures(merchant_id, TODAY),
            "recovery by level": lambda: dashboard.recovery(merchant_id),
            "months": lambda: dashboard.months(merchant_id, TODAY),
        }
        part_times = {name: median_time(fn, 3) for name, fn in parts.items()}

        def recompute():
            dashboard.refresh(merchant, TODAY)
            db.session.commit()

        recompute_s = median_time(recompute, 3)
        figures = dashboard.snapshot(merchant_id).figures
        db.session.remove()

    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]

    def get(path):
        def fetch():
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code)

        return fetch

    get("/dashboard")()  # warm
    page_s = median_time(get("/dashboard"), args.requests)
    lists = args.requests // 2 or 1
    list_s = median_time(get("/orders"), lists)
    total_s = median_time(get("/orders/open-total"), lists)
    filtered_s = median_time(get("/orders?status=overdue"), lists)
    filtered_total_s = median_time(get("/orders/open-total?status=overdue"), lists)

    name = "PostgreSQL" if engine == "postgresql" else "SQLite"
    opened = figures["open"]["total"]
    print(f"\n{name}, {args.orders:,} orders of one merchant; {opened['count']:,} open "
          f"({', '.join(f'{c} {a}' for c, a in opened['amounts'].items())})")  # fmt: skip
    print(f"\n| {name}, {args.orders:,} orders | seconds | × baseline |")
    print("|---|---|---|")

    def line(what, seconds):
        print(f"| {what} | {seconds:.3f} | {seconds / base:.1f} |")

    line("baseline: `SELECT count(*) FROM orders` of the merchant (median of 5)", base)
    for what, seconds in part_times.items():
        line(f"recompute, {what} (median of 3)", seconds)
    line("recompute, all and stored (median of 3)", recompute_s)
    line(f"dashboard page, server time (median of {args.requests})", page_s)
    line(f"order list without its total (median of {lists})", list_s)
    line(f"its open total, own request (median of {lists})", total_s)
    line("order list + total: one request before this change", list_s + total_s)
    line(f"order list, status=overdue (median of {lists})", filtered_s)
    line(f"its open total (median of {lists})", filtered_total_s)


if __name__ == "__main__":
    main()
