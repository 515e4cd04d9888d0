"""Time activating rules on a big book: every open order's next due date recomputed.

    python bench/activation.py [--orders 1000000] [--open 0.09]

Seeds N orders (COPY on PostgreSQL, one executemany on SQLite; no money ledger: the next due
date does not read it), `--open` of them open, a third of those with a first reminder already
sent (a dunning event the recompute must read). Then, on the same book:

- the floor: one raw `UPDATE … SET next_due_on = due_on + <days by payment method>` over the
  open orders, committed — what a hand-written SQL recompute would write;
- `rulesets.activate` of rules A on a book without dates (every open order gets one);
- the floor again with rules B's days, then (book reset to A's dates, not timed)
  `rulesets.activate` of rules B: a changed rule moves every date.

Prints a Markdown table with each time beside its floor for docs/performance.md. Uses
DATABASE_URL when set, else SQLite in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import bench_app, timed  # noqa: E402

TODAY = date(2026, 11, 23)
METHODS = {"prepayment": "vorkasse", "invoice": "rechnung", "cod": "nachnahme"}
# First step's days per method: rules A, then rules B (every date moves).
DAYS = ({"prepayment": 7, "invoice": 7, "cod": 30}, {"prepayment": 10, "invoice": 10, "cod": 28})


def rules_text(days: dict[str, int]) -> str:
    return (
        f"vorkasse after {days['prepayment']} days: remind; after 21 days: cancel and notify"
        " accounting\n"
        f"rechnung:\n    after {days['invoice']} days: remind level 1\n"
        "    after 28 days: remind level 2 with fee 2.50\n"
        "    at least 7 days between reminders\n"
        f"nachnahme after {days['cod']} days: mark overdue and notify team\n"
    )


def seed(merchant_id: int, count: int, open_share: float, rng: random.Random) -> int:
    """The orders (ids ascending in the order written) and the first reminders of a third of
    the open ones; returns how many are open."""
    from sqlalchemy import func, select

    from ledger import bulk
    from ledger.db import db
    from ledger.models import DunningEvent, Order

    key = first_reminder_key()
    opened = []
    for start in range(0, count, 50_000):
        rows = []
        for i in range(start, min(count, start + 50_000)):
            method = rng.choices(list(METHODS), weights=[45, 40, 15])[0]
            ordered_on = TODAY - timedelta(days=rng.randint(0, 365))
            amount = Decimal(rng.randint(500, 50000)) / 100
            is_open = rng.random() < open_share
            rows.append(
                {
                    "merchant_id": merchant_id,
                    "number": f"A-{i:07d}",
                    "customer_name": f"Kunde {i}",
                    "customer_email": f"kunde{i}@example.de",
                    "country": rng.choice(["DE", "DE", "DE", "AT", "CH"]),
                    "language": "de",
                    "customer_type": "b2c",
                    "amount": amount,
                    "currency": "EUR",
                    "payment_method": method,
                    "ordered_on": ordered_on,
                    "due_on": ordered_on + timedelta(days=14 if method == "invoice" else 0),
                    "tags": [],
                    "status": "unpaid" if is_open else "paid",
                    "paid_total": Decimal("0.00") if is_open else amount,
                }
            )
        ids = bulk.insert_rows(Order.__table__, rows)
        opened += [
            (order_id, row["ordered_on"])
            for order_id, row in zip(ids, rows, strict=True)
            if row["status"] == "unpaid" and row["payment_method"] == "prepayment"
        ]
        db.session.commit()
    events = [
        {"merchant_id": merchant_id, "order_id": order_id, "step_key": key, "action": "remind",
         "level": 1, "decided_on": ordered_on + timedelta(days=7), "reason": "bench"}
        for order_id, ordered_on in opened[::3]
    ]  # fmt: skip
    for start in range(0, len(events), 50_000):
        bulk.insert_rows(DunningEvent.__table__, events[start : start + 50_000], ids=False)
    db.session.commit()
    return db.session.scalar(
        select(func.count()).where(Order.merchant_id == merchant_id, Order.status == "unpaid")
    )


def first_reminder_key() -> str:
    """The stored key of rules A's first prepayment reminder (the same under rules B: a step's
    identity does not follow its days)."""
    import rules

    program = rules.compile_rules(rules_text(DAYS[0]))
    facts = rules.OrderFacts(
        payment_method="prepayment", amount=Decimal("10.00"), currency="EUR", country="DE",
        language="de", customer_type="b2c", ordered_on=TODAY, due_on=TODAY,
    )  # fmt: skip
    return program.schedule(facts, rules.OrderHistory(), TODAY).steps[0].key


def floor(merchant_id: int, days: dict[str, int] | None) -> float:
    """One UPDATE writing every open order's date by its method's days (None: no dates)."""
    from sqlalchemy import text

    from ledger.db import db

    sqlite = db.engine.dialect.name == "sqlite"
    if days is None:
        value = "NULL"
    else:
        plus = "date(due_on, '+{} days')" if sqlite else "due_on + {}"
        cases = " ".join(f"WHEN '{m}' THEN {plus.format(n)}" for m, n in days.items())
        value = f"CASE payment_method {cases} END"
    statement = text(
        f"UPDATE orders SET next_due_on = {value} WHERE merchant_id = :m"
        " AND status IN ('unpaid', 'partially_paid', 'overdue', 'in_collection')"
    )
    start = time.perf_counter()
    db.session.execute(statement, {"m": merchant_id})
    db.session.commit()
    return time.perf_counter() - start


def analyze() -> None:
    from sqlalchemy import text

    from ledger.db import db

    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE orders"))
            conn.execute(text("VACUUM ANALYZE dunning_events"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--open", type=float, default=0.09, help="share of open orders")
    args = parser.parse_args()

    app, merchant_id = bench_app()
    from ledger import rulesets
    from ledger.db import db
    from ledger.models import Merchant

    with app.app_context():
        merchant = db.session.get(Merchant, merchant_id)
        open_count, seed_s = timed(
            lambda: seed(merchant_id, args.orders, args.open, random.Random(7))
        )
        analyze()
        first, second = (rulesets.save_version(merchant, rules_text(d), "bench") for d in DAYS)
        db.session.commit()

        def activate(version):
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            _, seconds = timed(
                lambda: (rulesets.activate(merchant, version, "bench"), db.session.commit())
            )
            grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss
            return seconds, grown

        floor_first = floor(merchant_id, DAYS[0])
        floor(merchant_id, None)  # back to no dates (not timed)
        first_s, first_kb = activate(first)
        floor_change = floor(merchant_id, DAYS[1])
        floor(merchant_id, DAYS[0])  # back to A's dates (not timed; history-moved ones aside)
        rulesets.activate(merchant, first, "bench")  # A's exact dates again (not timed)
        db.session.commit()
        change_s, change_kb = activate(second)

    engine = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    print(f"| {engine} | {args.orders:,} orders, {open_count:,} open | seconds | floor | ratio |")
    print("|---|---|---|---|---|")
    print(f"| | seed | {seed_s:.1f} | | |")
    print(
        f"| | activate rules on a book without dates | {first_s:.2f} | {floor_first:.2f} |"
        f" {first_s / floor_first:.1f}× |"
    )
    print(
        f"| | activate changed rules (every date moves) | {change_s:.2f} | {floor_change:.2f} |"
        f" {change_s / floor_change:.1f}× |"
    )
    print(
        "| | peak memory grown during the activations |"
        f" {max(first_kb, change_kb) / 1024:.0f} MB | | |"
    )


if __name__ == "__main__":
    main()
