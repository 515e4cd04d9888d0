"""Time a bank statement import against a large order book, and count how well it matched.

    python bench/bank.py [--orders 1000000] [--transactions 10000] [--keep]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python bench/bank.py [--keep]

Builds one merchant with N open orders (bulk inserts, outside the timed part): each order with
its charge ledger entry, its RF payment reference and its OrderReference keys (computed by
`ledger.bank.index.order_keys`, as `index_order` would), 40 % with an invoice number. Then
writes a camt.053 with M credit transfers (the same every time, `--seed`):

- 70 % clean: the order number, the invoice number or the RF reference (in the text or in the
  structured field), the exact open amount, the customer's name as payer;
- 15 % mangled: prefix missing, O for 0, I for 1, spaces or dashes inside, leading zeros,
  lowercase (the exact amount, mostly the customer's name);
- 10 % clean reference, amount off: partial, over, short within the tolerance, short beyond it;
- 5 % nothing matchable: rent, donations, refunds, with postal codes and house numbers.

Times `ledger.bank.read.read_bank_file` alone (the floor, median of 3) and the whole
`ledger.bank.importing.import_file` (parse + store + match, one run), and checks every
transaction against what it was generated for: correct and wrong automatic assignments,
suggestions (with the right order among them or not) and unmatched, per part of the mix.

SQLite: the built database is kept under the temporary folder (`--keep` reuses it, copied per
run). PostgreSQL: everything lives in the schema `bench_bank` of the database named by
DATABASE_URL (never `public`, which other benches drop); `--keep` reuses it when its marker
table says it was built for the same number of orders, after undoing the previous run's import.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.book import finish_build, open_book  # noqa: E402
from bench.camt_file import Booking, camt053  # noqa: E402

IBAN = "DE02120300000000202051"
TODAY = date(2026, 11, 30)
BUILD_VERSION = 1  # raise when the generated order book changes: a kept one is rebuilt
SCHEMA = "bench_bank"
CHUNK = 10_000

FIRST = (  # noqa: SIM905
    "Anna Thomas Maria Peter Sabine Michael Julia Andreas Monika Stefan Claudia Frank Petra "
    "Jürgen Katrin Markus Sandra Uwe Nicole Klaus Birgit Tobias Lena Jonas Sophie Lukas "
    "Hannah Felix Laura Maximilian Ursula Dieter Renate Günter Ingrid Horst Elke Wolfgang "
    "Karin Bernd Sven Anja Dirk Heike Jörg Silke Ralf Tanja Oliver Martina"
).split()
LAST = (  # noqa: SIM905
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch "
    "Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann "
    "Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann "
    "König Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert "
    "Vogel Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke "
    "Albrecht Schuster Simon Ludwig Böhm Winter Kraus Martin Schumacher Krämer Vogt Stein "
    "Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas Schreiber Graf Schulte Dietrich Ziegler "
    "Kuhn Kühn Pohl Engel Horn Busch Bergmann Thomas Voigt Sauer Arnold Wolff Pfeiffer"
).split()
CITIES = ["10115 Berlin", "80331 München", "50667 Köln", "20095 Hamburg", "04109 Leipzig"]
NOISE = [
    "Miete {month}",
    "Spende",
    "Rückerstattung Kaution",
    "Darlehen Rate {n}",
    "Danke für alles",
    "Umbuchung",
    "Gutschrift {city}",
    "Nebenkosten {month} Wohnung {n}",
    "Mitgliedsbeitrag {year}",
    "Zimmer {n} Übernachtung",
]
MONTHS = "Januar Februar März April Mai Juni Juli August September Oktober November".split()  # noqa: SIM905


def order_number(i: int) -> str:
    return f"AK-{1_000_000 + i}"


def invoice_number(i: int) -> str | None:
    return f"RE-2026-{i + 1:07d}" if i % 5 in (1, 3) else None


def customer_name(i: int) -> str:
    rng = random.Random(i * 7919)
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def order_amount(i: int) -> Decimal:
    return Decimal(random.Random(i * 104729).randrange(500, 50000)) / 100


# --- the order book --------------------------------------------------------------------------


def build(merchant_id: int, count: int) -> None:
    """N open orders with their charge entries and index keys, in bulk (fresh tables: the
    order ids are 1..N)."""
    from sqlalchemy import insert

    from ledger.bank import index, references
    from ledger.db import db
    from ledger.models import LedgerEntry, Order, OrderReference

    conn = db.session.connection()
    now = datetime(2026, 11, 30, 8, 0)
    started = time.perf_counter()
    for start in range(0, count, CHUNK):
        orders, refs, entries = [], [], []
        for i in range(start, min(count, start + CHUNK)):
            number = order_number(i)
            amount = order_amount(i)
            ordered_on = TODAY - timedelta(days=i % 90)
            method = "invoice" if i % 3 else "prepayment"
            order = {
                "id": i + 1,
                "merchant_id": merchant_id,
                "number": number,
                "customer_name": customer_name(i),
                "customer_email": f"kunde{i}@example.de",
                "country": "DE",
                "language": "de",
                "customer_type": "b2c",
                "amount": amount,
                "currency": "EUR",
                "payment_method": method,
                "ordered_on": ordered_on,
                "due_on": ordered_on + timedelta(days=14 if method == "invoice" else 0),
                "invoice_number": invoice_number(i),
                "payment_reference": references.creditor_reference(number, merchant_id),
                "extra_references": [],
                "payer_names": [],
                "references_version": index.REFERENCES_VERSION,
                "tags": [],
                "status": "unpaid",
                "paid_total": Decimal("0.00"),
                "fees_total": Decimal("0.00"),
                "interest_total": Decimal("0.00"),
                "adjustments_total": Decimal("0.00"),
                "paid_after_cancellation": False,
                "version": 1,
                "dunning_level": 0,
                "dunning_block": False,
                "created_at": now,
                "updated_at": now,
            }
            orders.append(order)
            keys = index.order_keys(SimpleNamespace(**order))
            refs += [
                {"merchant_id": merchant_id, "order_id": i + 1, "key": key[:40], "kind": kind}
                for key, kind in keys.items()
            ]
            entries.append(
                {"merchant_id": merchant_id, "order_id": i + 1, "kind": "charge",
                 "amount": amount, "currency": "EUR", "booked_on": ordered_on,
                 "source": "api", "actor": "bench", "note": "order amount",
                 "created_at": now}
            )  # fmt: skip
        conn.execute(insert(Order.__table__), orders)
        conn.execute(insert(OrderReference.__table__), refs)
        conn.execute(insert(LedgerEntry.__table__), entries)
        if (start // CHUNK) % 10 == 9:
            done = start + CHUNK
            print(f"  built {done:,} orders ({time.perf_counter() - started:.0f} s)", flush=True)
    finish_build(conn, count)


def reset(merchant_id: int) -> None:
    """Undo an earlier run's import on a kept database: its bank rows, payments and the orders'
    cached sums and status, as they were built."""
    from sqlalchemy import text

    from ledger.db import db

    touched = [
        r
        for (r,) in db.session.execute(
            text("SELECT DISTINCT order_id FROM ledger_entries WHERE kind <> 'charge'")
        )
    ]
    for sql in (
        "DELETE FROM payment_assignments",
        "DELETE FROM bank_transactions",
        "DELETE FROM bank_imports",
        "DELETE FROM ledger_entries WHERE kind <> 'charge'",
        "DELETE FROM audit_entries WHERE action LIKE 'payment.%'",
        "DELETE FROM dunning_events",
        "UPDATE bank_accounts SET data_as_of = NULL",
        "UPDATE merchants SET bank_data_as_of = NULL",
    ):
        db.session.execute(text(sql))
    for start in range(0, len(touched), 1000):
        db.session.execute(
            text(
                "UPDATE orders SET status = 'unpaid', paid_total = 0, adjustments_total = 0,"
                " fees_total = 0, interest_total = 0, payment_claimed_on = NULL,"
                " next_due_on = NULL, paid_after_cancellation = false, version = 1"
                f" WHERE id IN ({', '.join(str(i) for i in touched[start : start + 1000])})"
            )
        )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # The deleted and rewritten rows' dead versions gone, as after the build: else each run
        # reads through more of them than the one before (the batch reads grew 0.37 -> 0.56 s
        # over a dozen runs). SQLite's book is a fresh copy every run.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            auto.execute(text("VACUUM ANALYZE"))
    if touched:
        print(f"  reset {len(touched):,} orders an earlier run had paid")


# --- the statement ---------------------------------------------------------------------------


def _mangle(number: str, rng: random.Random) -> tuple[str, str]:
    """A payer's way of writing the order number "AK-1000123"."""
    digits = number.split("-")[1]
    way = rng.choice(["no prefix", "O for 0", "I for 1", "spaces", "dashes", "zeros", "lower"])
    if way == "no prefix":
        return way, digits
    if way == "O for 0" and "0" in digits[1:]:
        return way, "AK-" + digits[0] + digits[1:].replace("0", "O", 1)
    if way == "I for 1":
        return way, "AK-I" + digits[1:]
    if way == "spaces":
        return way, f"AK {digits[:-3]} {digits[-3:]}"
    if way == "dashes":
        return way, f"AK-{digits[:3]}-{digits[3:]}"
    if way == "zeros":
        return way, f"AK-00{digits}"
    return "lower", f"ak{digits}"


def _clean_reference(i: int, merchant_id: int, rng: random.Random) -> tuple[str, str, str | None]:
    """(how, remittance text, structured reference) naming order i the way we printed it."""
    from ledger.bank import references

    rf = references.creditor_reference(order_number(i), merchant_id)
    invoice = invoice_number(i)
    roll = rng.random()
    if roll < 0.25:
        return "RF structured", "", rf
    if roll < 0.35:
        return "RF in text", f"{references.format_creditor_reference(rf)}", None
    if invoice and roll < 0.55:
        return (
            "invoice number",
            f"Rechnung {invoice} vom {TODAY - timedelta(days=20):%d.%m.%Y}",
            None,
        )
    text = rng.choice(
        ["Bestellung {n}", "{n}", "Auftrag {n} {name}", "Best.-Nr. {n} vielen Dank", "SVWZ+{n}"]
    )
    return "order number", text.format(n=order_number(i), name=customer_name(i)), None


def generate(merchant_id: int, orders: int, count: int, seed: int):
    """The bookings and, per booking, (part of the mix, how, the order it is for or None)."""
    rng = random.Random(seed)
    targets = rng.sample(range(orders), count)
    bookings, truth = [], []
    for n, i in enumerate(targets):
        roll = rng.random()
        amount = order_amount(i)
        name = customer_name(i)
        reference = None
        booked = TODAY - timedelta(days=rng.randrange(3))
        if roll < 0.70:
            part = "clean"
            how, text, reference = _clean_reference(i, merchant_id, rng)
        elif roll < 0.85:
            part = "mangled"
            how, written = _mangle(order_number(i), rng)
            text = rng.choice(["{n}", "Bestellung {n}", "{n} {name}", "Zahlung {n} danke"])
            text = text.format(n=written, name=name)
            if rng.random() < 0.15:  # the partner pays
                name = f"{rng.choice(FIRST)} {name.split()[-1]}"
                how += ", other payer"
        elif roll < 0.95:
            part = "amount off"
            how, text, reference = _clean_reference(i, merchant_id, rng)
            off = rng.choice(["partial", "over", "short 0.50", "short 5.00"])
            how = f"{off}, {how}"
            if off == "partial":
                amount = max(Decimal("1.00"), (amount / 2).quantize(Decimal("0.01")))
            elif off == "over":
                amount += Decimal("10.00")
            else:
                amount -= min(Decimal(off.split()[1]), amount - Decimal("0.01"))
        else:
            part = "nothing"
            i = None
            how = "no reference"
            text = rng.choice(NOISE).format(
                month=rng.choice(MONTHS), n=rng.randrange(1, 40), city=rng.choice(CITIES),
                year=rng.choice([2025, 2026]),
            )  # fmt: skip
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            amount = Decimal(rng.randrange(500, 90000)) / 100
        bookings.append(
            Booking(
                amount=amount,
                booked=booked,
                name=name,
                iban=None,
                remittance=text,
                reference=reference,
                servicer_ref=f"BENCH{n:08d}",
            )
        )
        truth.append((part, how, None if i is None else i + 1))
    return bookings, truth


# --- the quality -----------------------------------------------------------------------------


def evaluate(import_id: int, truth: list, show: int) -> tuple[dict, list]:
    """Per part of the mix: correct / wrong automatic assignments, suggestions with and without
    the right order, unmatched (and anything else); the wrong ones in detail."""
    from sqlalchemy import select

    from ledger.db import db
    from ledger.models import BankTransaction, Order, PaymentAssignment

    by_ref = {}
    for row in db.session.scalars(
        select(BankTransaction).where(BankTransaction.import_id == import_id)
    ):
        by_ref[row.account_servicer_ref] = row
    assigned = defaultdict(list)
    for tx_id, order_id in db.session.execute(
        select(PaymentAssignment.transaction_id, PaymentAssignment.order_id)
    ):
        assigned[tx_id].append(order_id)
    table: dict[str, Counter] = defaultdict(Counter)
    wrong = []
    for n, (part, how, order_id) in enumerate(truth):
        row = by_ref[f"BENCH{n:08d}"]
        counts = table[part]
        counts["transactions"] += 1
        if row.state == "matched":
            if assigned[row.id] == [order_id]:
                counts["correct auto"] += 1
            else:
                counts["WRONG auto"] += 1
                wrong.append((part, how, order_id, row, assigned[row.id]))
        elif row.state == "suggested":
            ids = [s["order_id"] for s in row.suggestions]
            if order_id is not None and order_id in ids:
                counts[
                    "suggested, right one first"
                    if ids[0] == order_id
                    else "suggested, right one listed"
                ] += 1
            else:
                counts["suggested, right one missing"] += 1
        elif row.state == "unmatched":
            counts["unmatched"] += 1
        else:
            counts[row.state] += 1
        counts[f"how: {how} -> {row.state}"] += 1
    details = []
    for part, how, order_id, row, got in wrong[:show]:
        meant = db.session.get(Order, order_id) if order_id else None
        others = [db.session.get(Order, o) for o in got]
        details.append(
            f"{part} ({how}): text {row.remittance!r}, structured {row.structured_reference!r},"
            f" payer {row.counterparty_name!r}, {row.amount}; meant for "
            + (f"{meant.number} ({meant.customer_name}, {meant.amount})" if meant else "nothing")
            + "; assigned to "
            + ", ".join(f"{o.number} ({o.customer_name}, {o.amount})" for o in others)
            + f"; reason {row.reason!r}"
        )
    return table, details


# --- the app ---------------------------------------------------------------------------------


def make_app(orders: int, keep: bool):
    """The app on the bench database; builds the order book unless a kept one fits (a kept one
    gets the previous run's import undone). Returns (app, merchant id, engine name)."""

    def create_merchant():
        from ledger import accounts
        from ledger.bank import accounts as bank_accounts

        merchant = accounts.create_merchant("Bench Bank GmbH", "buchhaltung@bench.example")
        bank_accounts.add_account(merchant, IBAN)
        return merchant

    return open_book(
        orders,
        keep,
        schema=SCHEMA,
        cache_name="mahnwerk-bench-bank",
        build_version=BUILD_VERSION,
        merchant_name="Bench Bank GmbH",
        create_merchant=create_merchant,
        build=build,
        reused=reset,
        book="order book",
        built_orders="open orders",
    )


def _time_phases() -> dict[str, float]:
    """Time the import's parts (read, store, match) as it calls them: seconds by part, filled
    in while the import runs."""
    from ledger.bank import importing, matching

    phases: dict[str, float] = {}
    for name, module, attribute in (
        ("read", importing, "read_bank_file"),
        ("store", importing, "_store"),
        ("match", matching, "match_new"),
    ):
        phases[name] = 0.0
        setattr(module, attribute, _timed(getattr(module, attribute), phases, name))
    return phases


def _count_statements(engine) -> Counter:
    """Statements sent to the database from now on, by their first word (an executemany is
    one), a figure the machine's speed does not move."""
    from sqlalchemy import event

    counts: Counter = Counter()

    def count(conn, cursor, statement, params, context, executemany):
        verb = " ".join(statement.split()[:3]).upper()
        counts[f"{verb} (executemany)" if executemany else verb] += 1
        conn.info["bench_started"] = time.perf_counter()

    def took(conn, cursor, statement, params, context, executemany):
        verb = " ".join(statement.split()[:3]).upper()
        SECONDS[verb] += time.perf_counter() - conn.info.pop("bench_started")

    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "after_cursor_execute", took)

    from ledger import bulk  # its COPY goes to the driver's connection, past the events

    copy = bulk._copy

    def copied(connection, table, rows, ids):
        verb = f"COPY {table.name}"
        counts[verb] += 1
        start = time.perf_counter()
        try:
            return copy(connection, table, rows, ids)
        finally:
            SECONDS[verb] += time.perf_counter() - start  # with the ids' SELECT nextval

    bulk._copy = copied
    return counts


SECONDS: Counter = Counter()


def _timed(function, phases: dict[str, float], name: str):
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            phases[name] += time.perf_counter() - start

    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="reuse (and keep) the built orders")
    parser.add_argument("--profile", help="write a cProfile of the import to this file")
    parser.add_argument("--show", type=int, default=20, help="wrong assignments to print")
    args = parser.parse_args()

    app, merchant_id, engine = make_app(args.orders, args.keep)
    with app.app_context():
        from ledger.bank.importing import import_file
        from ledger.bank.read import read_bank_file
        from ledger.db import db
        from ledger.models import Merchant

        bookings, truth = generate(merchant_id, args.orders, args.transactions, args.seed)
        data = camt053(IBAN, bookings, statement_id=f"BENCH-{args.seed}")
        parse = []
        for _ in range(3):
            start = time.perf_counter()
            read_bank_file(data, "bench.xml")
            parse.append(time.perf_counter() - start)
        merchant = db.session.get(Merchant, merchant_id)
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        phases = _time_phases()
        statements = _count_statements(db.engine)
        start, cpu = time.perf_counter(), time.process_time()
        summary = import_file(merchant, data, "bench.xml", "cli", "bench", TODAY)
        total, cpu = time.perf_counter() - start, time.process_time() - cpu
        statements = dict(statements)
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        table, wrong = evaluate(summary.import_id, truth, args.show)

    floor = statistics.median(parse)
    name = "PostgreSQL" if engine == "postgresql" else "SQLite"
    print(f"\n{name}, {args.orders:,} open orders, {args.transactions:,} transactions "
          f"({len(data) / 2**20:.1f} MB camt.053)")  # fmt: skip
    print(f"  {summary.line()}")
    print(f"  parse alone (median of 3): {floor:.2f} s")
    print(f"  import (parse + store + match): {total:.2f} s = {total / floor:.1f} x the parse")
    print(
        f"  on this process's CPU: {cpu:.2f} s (the rest it waited: for the database, or for"
        " the machine when it is busy)"
    )
    print(
        "  of which: "
        + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in phases.items())
        + f", the rest {total - sum(phases.values()):.2f} s"
    )
    sent = sum(statements.values())
    print(
        f"  database round trips: {sent:,} ("
        + ", ".join(f"{n:,} {kind}" for kind, n in sorted(statements.items(), key=lambda x: -x[1]))
        + ")"
    )
    print(
        "  time in the database driver: "
        + ", ".join(f"{verb} {t:.2f} s" for verb, t in SECONDS.most_common(8))
    )
    columns = [
        "transactions",
        "correct auto",
        "WRONG auto",
        "suggested, right one first",
        "suggested, right one listed",
        "suggested, right one missing",
        "unmatched",
    ]
    parts = ["clean", "mangled", "amount off", "nothing"]
    print("\n| part of the mix | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for part in [*parts, "all"]:
        counts = sum((table[p] for p in parts), Counter()) if part == "all" else table[part]
        print(f"| {part} | " + " | ".join(f"{counts[c]:,}" for c in columns) + " |")
    other = {
        k: v
        for p in parts
        for k, v in table[p].items()
        if k not in columns and not k.startswith("how")
    }
    if other:
        print(f"  other states: {other}")
    print("\nby how the payment was written (-> state):")
    hows = Counter()
    for p in parts:
        hows.update({k[5:]: v for k, v in table[p].items() if k.startswith("how: ")})
    for how, n in sorted(hows.items()):
        print(f"  {how}: {n}")
    if wrong:
        print(f"\nWRONG automatic assignments (first {len(wrong)}):")
        for line in wrong:
            print(f"  {line}")


if __name__ == "__main__":
    main()
