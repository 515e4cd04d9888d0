"""Program: matching, decide (catch-up, settings, closed orders), next_due_on, schedule, explain."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

import rules
from tests.rules.helpers import DUE, facts, history, kinds, with_done

CARD = "vorkasse after 14 days: remind; after 21 days: cancel and notify accounting\n"
INVOICE = """\
rechnung:
    after 10 days: remind with fee 1
    after 20 days: remind with fee 2.50 and charge interest statutory
    after 30 days: mark overdue and remind level 5 with fee 5
    after 40 days: remind
    after 50 days: hand over to collection
"""


def day(n: int) -> date:
    return DUE + timedelta(days=n)


def invoice(**changes) -> rules.OrderFacts:
    return facts(payment_method="invoice", **changes)


def test_first_matching_block_wins():
    program = rules.compile_rules(
        "rechnung amount over 100 after 5 days: remind level 2\n"
        "rechnung after 9 days: remind\n"
        "any after 30 days: notify team\n"
    )
    assert program.match(invoice(amount=Decimal("150"))).label == "invoice amount over 100"
    assert program.match(invoice(amount=Decimal("100"))).label == "invoice"
    result = program.match(facts())
    assert result.label == "any"
    assert result.reasons == {
        "invoice amount over 100": "payment method is prepayment, not invoice",
        "invoice": "payment method is prepayment, not invoice",
        "any": "matched",
    }
    assert (
        program.match(invoice()).reasons["any"] == "not reached: the block on line 2 matched first"
    )


def test_catch_up_escalates_in_order_by_default():
    """60 days late, a three-level block still starts at level 1; each later level keeps its
    distance from the reminder before it, and the first reminder carries no fee."""
    program = rules.compile_rules(INVOICE)
    late, seen = day(60), history()
    fired = []
    for today in (late + timedelta(days=n) for n in range(60)):
        decision = program.decide(invoice(), seen, today)
        if decision is not None and decision.deferred_to is None:
            fired.append((decision.step.name, (today - late).days, decision.step.level))
            seen = seen.after(decision.step, today)
    assert fired == [
        ("invoice/after 10 days", 0, 1),
        ("invoice/after 20 days", 10, 2),
        ("invoice/after 30 days", 20, 5),
        ("invoice/after 40 days", 30, 6),
        ("invoice/after 50 days", 40, None),
    ]
    first = program.decide(invoice(), history(), late)
    assert [a.fee for a in first.step.actions] == [None]  # no fee on a first reminder
    second = program.decide(invoice(), seen, late)
    assert second is None  # all done


def test_a_manual_reminder_makes_its_level_done():
    program = rules.compile_rules(INVOICE)
    by_hand = history(level=2, level_on={1: day(3), 2: day(5)}, last_reminder_on=day(5))
    decision = program.decide(invoice(), by_hand, day(35))
    assert decision.step.name == "invoice/after 30 days"  # levels 1 and 2 are done
    assert program.next_due_on(invoice(), by_hand) == day(30)


def test_an_edited_trigger_keeps_the_step_identity():
    a = rules.compile_rules("vorkasse after 14 days: remind; after 21 days: cancel\n")
    b = rules.compile_rules("vorkasse after 10 days: remind; after 21 days: cancel\n")
    assert a.step_keys == b.step_keys
    c = rules.compile_rules("vorkasse after 10 days: remind with fee 2; after 21 days: cancel\n")
    assert c.step_keys[0][0] != a.step_keys[0][0]
    # ... and yet the order that got its level-1 reminder is not reminded at level 1 again.
    reminded = history(level=1, level_on={1: day(14)})
    assert [a.kind for a in c.decide(facts(), reminded, day(40)).step.actions] == ["cancel"]


def test_catch_up_skips_to_the_latest_step_when_asked_and_does_not_stack_fees():
    program = rules.compile_rules("on missed steps: skip to the latest\n" + INVOICE)
    decision = program.decide(invoice(), history(), day(35))
    assert decision.step.name == "invoice/after 30 days"
    assert [s.name for s in decision.skipped] == ["invoice/after 10 days", "invoice/after 20 days"]
    (remind,) = [a for a in decision.step.actions if a.kind == "remind"]
    assert remind.fee == Decimal("5")  # not 1 + 2.50 + 5


def test_levels_count_up_within_the_block():
    program = rules.compile_rules(INVOICE)
    levels = [s.level for s in program.schedule(invoice(), history(), DUE)]
    assert levels == [1, 2, 5, 6, None]


def test_done_steps_never_fire_again_and_earlier_ones_are_passed_over():
    program = rules.compile_rules(INVOICE)
    done = with_done(program, "invoice/after 20 days")
    assert program.next_due_on(invoice(), done) == day(30)
    assert program.decide(invoice(), done, day(29)) is None
    assert program.decide(invoice(), done, day(30)).skipped == ()


@pytest.mark.parametrize(
    "order",
    [
        invoice(status="paid"),
        invoice(status="cancelled"),
        invoice(dunning_block=True),
    ],
)
def test_closed_or_blocked_orders_never_get_a_step(order):
    program = rules.compile_rules(INVOICE)
    assert program.decide(order, history(), day(100)) is None
    assert program.next_due_on(order, history()) is None
    assert program.schedule(order, history(), DUE).steps == ()
    assert program.explain(order, history(), day(100)).note


@pytest.mark.parametrize("status", ["unpaid", "partially_paid", "overdue", "in_collection"])
def test_open_orders_keep_getting_their_steps(status):
    program = rules.compile_rules(INVOICE)
    done = with_done(program, "invoice/after 30 days")
    decision = program.decide(invoice(status=status), done, day(40))
    assert decision.step.name == "invoice/after 40 days"


def test_a_payment_claim_pauses_seven_days_by_default():
    program = rules.compile_rules(CARD)
    claimed = history(payment_claimed_on=day(12))
    assert program.decide(facts(), claimed, day(14)) is None
    assert program.decide(facts(), claimed, day(18)) is None
    assert program.next_due_on(facts(), claimed) == day(19)
    assert kinds(program.decide(facts(), claimed, day(19))) == ["remind"]
    # An old claim no longer pauses anything.
    assert program.next_due_on(facts(), history(payment_claimed_on=day(1))) == day(14)


def test_hold_while_bank_data_is_missing_or_old():
    program = rules.compile_rules("hold while bank data older than 2 days\n" + CARD)
    missing = program.decide(facts(), history(), day(14))
    assert missing.deferred_to == day(15) and missing.step.name == "prepayment/after 14 days"
    assert missing.deferred_because.startswith("held: no bank data imported yet")
    old = program.decide(facts(), history(bank_data_as_of=day(11)), day(14))
    assert old.deferred_to and old.deferred_because == (
        f"held: bank data from {day(11):%d.%m.}, older than 2 days"
    )
    assert program.decide(facts(), history(bank_data_as_of=day(12)), day(14)).deferred_to is None


def test_min_gap_defers_only_reminders():
    program_text = (
        "at least 10 days between reminders\n"
        "rechnung after 3 days: remind; after 6 days: remind; after 8 days: notify accounting\n"
    )
    program = rules.compile_rules(program_text)
    step = program.decide(invoice(), history(), day(3)).step
    first = history().after(step, day(3))
    deferred = program.decide(invoice(), first, day(6))
    assert deferred.deferred_to == day(13)
    assert deferred.deferred_because == "at least 10 days between reminders"
    latest = rules.compile_rules("on missed steps: skip to the latest\n" + program_text)
    first = history().after(latest.decide(invoice(), history(), day(3)).step, day(3))
    assert latest.decide(invoice(), first, day(8)).deferred_to is None  # notify: not a reminder


def test_no_mail_on_holidays_defers_to_the_next_business_day_of_the_region():
    program = rules.compile_rules(
        "no mail on weekends and holidays\nrechnung after 2 days: remind\n"
    )
    bavarian = invoice(due_on=date(2027, 1, 4), ordered_on=date(2027, 1, 4), region="BY")
    # Due 6 January (Epiphany in Bavaria): deferred to Thursday the 7th.
    assert program.decide(bavarian, history(), date(2027, 1, 6)).deferred_to == date(2027, 1, 7)
    berlin = invoice(due_on=date(2027, 1, 4), ordered_on=date(2027, 1, 4), region="BE")
    assert program.decide(berlin, history(), date(2027, 1, 6)).deferred_to is None
    christmas = invoice(due_on=date(2026, 12, 23), ordered_on=date(2026, 12, 1))
    assert program.decide(christmas, history(), date(2026, 12, 25)).deferred_to == date(
        2026, 12, 28
    )


def test_business_days_skip_christmas_and_new_year():
    program = rules.compile_rules("rechnung after 5 business days: remind\n")
    order = invoice(due_on=date(2026, 12, 22), ordered_on=date(2026, 12, 1))
    # 23, 24 Dec; 25, 26 holidays; 27 Sunday; 28, 29, 30 Dec.
    assert program.next_due_on(order, history()) == date(2026, 12, 30)
    new_year = invoice(due_on=date(2026, 12, 29), ordered_on=date(2026, 12, 1))
    # 30, 31 Dec; 1 Jan holiday; 2, 3 weekend; 4, 5, 6 Jan (6 Jan only a holiday in BY etc.).
    assert program.next_due_on(new_year, history()) == date(2027, 1, 6)
    bavarian = invoice(due_on=date(2026, 12, 29), ordered_on=date(2026, 12, 1), region="BY")
    assert program.next_due_on(bavarian, history()) == date(2027, 1, 7)
    unknown = invoice(due_on=date(2026, 12, 22), ordered_on=date(2026, 12, 1), country="ZZ")
    assert program.next_due_on(unknown, history()) == date(2026, 12, 29)  # weekends only


def test_apply_from_uses_the_order_date():
    program = rules.compile_rules(
        "rechnung:\n    after 5 days: remind\n    apply to orders from 2026-10-01\n"
    )
    assert program.match(invoice(ordered_on=date(2026, 10, 1))).block is not None
    assert program.match(invoice(ordered_on=date(2026, 9, 30))).block is None


def test_labels_are_deduplicated_and_keys_survive_formatting():
    text = (
        "RECHNUNG   country in de,at after 5 days:remind\n"
        "rechnung country in DE, AT:\n  after 9 days: remind\n"
        "invoice amount over 5 eur after 3 business days: remind\n"
    )
    program = rules.compile_rules(text)
    assert list(program.legacy_keys()) == [
        "invoice country in DE, AT/after 5 days",
        "invoice country in DE, AT #2/after 9 days",
        "invoice amount over 5 EUR/after 3 business days",
    ]
    keys = _keys(text)
    assert all(k.startswith("v1:") for k in keys) and len(set(keys)) == 3
    assert _keys(rules.format_rules(text)) == keys


def _keys(text):
    return [key for keys in rules.compile_rules(text).step_keys for key in keys]


def test_schedule_simulates_settings_and_milestones():
    program = rules.compile_rules("no mail on weekends and holidays\n" + INVOICE)
    order = invoice(due_on=date(2026, 10, 2), ordered_on=date(2026, 10, 2))  # a Friday
    schedule = program.schedule(order, history(), date(2026, 10, 2))
    # Day 10 is Monday 12 Oct; day 20 Thursday 22 Oct; day 30 Sunday 1 Nov -> Monday 2 Nov.
    assert [s.due_on for s in schedule][:3] == [
        date(2026, 10, 12),
        date(2026, 10, 22),
        date(2026, 11, 2),
    ]
    assert schedule[2].planned_on == date(2026, 11, 1)
    assert schedule.overdue_on == date(2026, 11, 2)
    # Each step keeps its distance from the one before: the reminder of day 30 went out a day
    # late (2 Nov), so the next ones come 10 and 20 days after it.
    assert [s.due_on for s in schedule][3:] == [date(2026, 11, 12), date(2026, 11, 22)]
    assert schedule.collection_on == date(2026, 11, 22)
    assert schedule.cancellation_on is None
    assert list(schedule) == list(schedule.steps) and len(schedule) == 5


def test_schedule_from_a_late_day_starts_with_the_catch_up_step():
    program = rules.compile_rules(CARD)
    schedule = program.schedule(facts(), history(), day(16))
    assert [(s.name, s.due_on) for s in schedule] == [
        ("prepayment/after 14 days", day(16)),
        ("prepayment/after 21 days", day(23)),  # 7 days after the reminder, as planned
    ]


def test_schedule_until_stops_at_the_horizon():
    program = rules.compile_rules(INVOICE)
    whole = program.schedule(invoice(), history(), DUE)
    assert (
        [s.due_on for s in program.schedule(invoice(), history(), DUE, until=day(30))]
        == [s.due_on for s in whole if s.due_on <= day(30)]
        == [day(10), day(20), day(30)]
    )
    assert program.schedule(invoice(), history(), DUE, until=day(9)).steps == ()


def test_explain_gives_a_reason_per_block_and_step():
    program = rules.compile_rules("rechnung after 3 days: remind\n" + CARD)
    explanation = program.explain(facts(), history(), day(25))
    assert explanation.block_label == "prepayment"
    assert [(b.label, b.matched, b.reason) for b in explanation.blocks] == [
        ("invoice", False, "payment method is prepayment, not invoice"),
        ("prepayment", True, "matched"),
    ]
    assert [(s.name, s.fires_today, s.reason) for s in explanation.steps] == [
        ("prepayment/after 14 days", True, "fires today"),
        (
            "prepayment/after 21 days",
            False,
            f"due on {day(21)} (in -4 days) at the earliest: each step comes after the one "
            "before it (escalate in order)",
        ),
    ]
    early = program.explain(facts(), history(), day(10))
    assert early.steps[0].reason == f"due on {day(14)} (in 4 days)"
    assert "FIRES TODAY" in explanation.text()
    nothing = program.explain(facts(payment_method="cod"), history(), day(10))
    assert nothing.block_label is None and nothing.note == "no block matches this order"


def test_planned_steps_carry_their_source_line():
    text = "# card\n" + INVOICE
    program = rules.compile_rules(text)
    first = program.decide(invoice(), history(), day(10)).step
    decision = program.decide(invoice(), history().after(first, day(10)), day(20))
    assert decision.step.line == 4
    assert decision.step.source_line.strip().startswith("after 20 days:")
    assert decision.step.block_label == "invoice"
