"""Benchmark of the rules engine: `python bench/rules.py` prints the figures.

1. parse + check of a generated 500-line ruleset (median of repeated runs; target <= 25 ms);
2. decide() for 100 000 generated orders against a 20-block ruleset.

The shared machine's speed changes from day to day, so it also times a fixed pure-Python loop:
compare figures from different days only together with that reference. For a figure that does
not move with the machine, count instructions (docs/performance.md says how).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rules  # noqa: E402
from rules.checker import check  # noqa: E402
from rules.parser import lark_parser, parse  # noqa: E402

TARGET_MS = 25  # parse + check of the 500 lines at 2026-11-26's machine speed (docs/performance.md)
COUNTRIES = ["DE", "AT", "CH", "FR", "IT", "NL"]
REGIONS = {"DE": ["BY", "BE", "NW", None], "AT": ["9", None], "CH": ["ZH", "GE", None]}


def block_text(rng: random.Random, index: int) -> list[str]:
    """One block: an indented invoice/COD policy or a one-line prepayment rule."""
    country = rng.choice(COUNTRIES)
    low = 10 * index
    if rng.random() < 0.5:
        lines = [f"rechnung amount over {low} country in {country}, LI:  # block {index}"]
        day = 0
        for level in range(1, rng.randint(3, 6)):
            day += rng.randint(5, 14)
            unit = "business days" if rng.random() < 0.3 else "days"
            lines.append(f"    after {day} {unit}: remind level {level} with fee {level}.50")
        lines.append(f"    after {day + 20} days: hand over to collection and notify accounting")
        lines.append("    at least 7 days between reminders")
        return lines
    return [
        f"vorkasse amount at least {low} country in {country}: remind after 7 days, "
        f"remind with fee 2.50 after 14, cancel and notify accounting after {21 + index % 5}, "
        "release reservation"
    ]


def ruleset(lines_wanted: int = 0, blocks: int = 0, seed: int = 7) -> str:
    """Exactly `lines_wanted` lines (when given), else `blocks` blocks, ending with `any`."""
    rng = random.Random(seed)
    lines = ["no mail on weekends and holidays", "hold while bank data older than 3 days"]
    index = 0
    while True:
        block = block_text(rng, index)
        if blocks and index == blocks - 1:
            break
        if lines_wanted and len(lines) + len(block) > lines_wanted - 1:
            break
        lines.extend(block)
        index += 1
    while lines_wanted and len(lines) < lines_wanted - 1:
        index += 1
        lines.append(f"nachnahme amount over {index} after {index % 50} days: mark overdue")
    lines.append("any after 60 days: notify team")
    return "\n".join(lines) + "\n"


def orders(count: int, seed: int = 11):
    rng = random.Random(seed)
    start = date(2026, 9, 1)
    methods = ["prepayment", "invoice", "cod"]
    for _ in range(count):
        country = rng.choice(COUNTRIES)
        due = start + timedelta(days=rng.randint(0, 90))
        yield rules.OrderFacts(
            payment_method=rng.choice(methods),
            amount=Decimal(rng.randint(100, 50000)) / 100,
            currency="CHF" if country == "CH" else "EUR",
            country=country,
            language="de",
            customer_type=rng.choice(["b2b", "b2c"]),
            ordered_on=due - timedelta(days=14),
            due_on=due,
            region=rng.choice(REGIONS.get(country, [None])),
        )


def median_ms(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def reference_ms() -> float:
    """A fixed pure-Python workload (a million additions): the machine's speed right now."""

    def loop():
        total = 0
        for number in range(1_000_000):
            total += number
        return total

    return median_ms(loop, 5)


PARTS = {
    "parse+check": lambda text: check(parse(text)),
    "parse": lambda text: parse(text),
    "format": lambda text: rules.format_rules(text),
}


def count_only(times: int, part: str = "parse+check") -> None:
    """Run `part` on the 500-line text `times` times and nothing else, for counting instructions:
    (count with N) - (count with 0), divided by N, is one run (docs/performance.md)."""
    text = ruleset(500)
    work = PARTS[part]
    work(text)
    for _ in range(times):
        work(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--count-only",
        type=int,
        metavar="N",
        help="only parse + check the 500-line text N times (run under valgrind)",
    )
    parser.add_argument(
        "--part", choices=sorted(PARTS), default="parse+check", help="what --count-only runs"
    )
    args = parser.parse_args()
    if args.count_only is not None:
        count_only(args.count_only, args.part)
        return
    lark_parser()  # Lark's parser and the lexer, built once per process; not part of a parse
    text = ruleset(500)
    assert len(text.splitlines()) == 500
    tree = parse(text)
    diagnostics = check(tree)
    errors = [d for d in diagnostics if d.severity == "error"]
    assert not errors, errors[0]
    parse_ms = median_ms(lambda: check(parse(text)), 31)
    fmt_ms = median_ms(lambda: rules.format_rules(text), 11)
    loop_ms = reference_ms()
    print(
        f"parse+check of {len(text.splitlines())} lines ({len(tree.blocks)} blocks): "
        f"median {parse_ms:.1f} ms, {parse_ms / loop_ms:.2f} x the reference loop "
        f"(target <= {TARGET_MS} ms at 2026-11-26's speed: see docs/performance.md)"
    )
    print(f"format_rules of the same text: median {fmt_ms:.1f} ms")
    print(f"reference loop (machine speed): median {loop_ms:.1f} ms")

    program = rules.compile_rules(ruleset(blocks=20))
    facts = list(orders(100_000))
    history = rules.OrderHistory(bank_data_as_of=date(2026, 12, 31))
    today = date(2026, 11, 15)
    started = time.perf_counter()
    fired = deferred = 0
    for order in facts:
        decision = program.decide(order, history, today)
        if decision is not None:
            if decision.deferred_to is None:
                fired += 1
            else:
                deferred += 1
    seconds = time.perf_counter() - started
    print(
        f"decide for {len(facts):,} orders against {len(program.blocks)} blocks: "
        f"{seconds:.2f} s ({len(facts) / seconds:,.0f} orders/s; {fired:,} fire, "
        f"{deferred:,} deferred)"
    )
    started = time.perf_counter()
    for order in facts[:10_000]:
        program.next_due_on(order, history)
    print(f"next_due_on: {10_000 / (time.perf_counter() - started):,.0f} orders/s")


if __name__ == "__main__":
    main()
