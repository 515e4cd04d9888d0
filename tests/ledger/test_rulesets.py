"""Versions: saving never loses a text, two editors cannot overwrite each other, activation
refuses errors, `apply to orders from` keeps older orders on their rules, and the line diff."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

import rules
from ledger import dunning, rulebook, rulesets, scheduling
from ledger.db import db
from ledger.models import DunningEvent, RulesetVersion

DAY0 = date(2026, 10, 1)  # the add_order fixture's order day
CARD = "vorkasse after 14 days: remind; after 21 days: cancel and notify accounting\n"


def texts(merchant) -> list[str]:
    return [v.text for v in reversed(rulesets.versions(merchant.id))]


def test_save_numbers_versions_and_keeps_drafts_with_errors(card_merchant):
    draft = rulesets.save_version(card_merchant, "vorkasse after 14 dayz: remind\n", "a@x.de")
    assert draft.number == 2 and not draft.active
    assert rulesets.has_errors(card_merchant, draft.text)
    assert rulesets.active_version(card_merchant.id).number == 1  # the active rules stand


def test_a_save_based_on_an_old_version_is_a_conflict_and_stores_nothing(card_merchant):
    first = rulesets.save_version(
        card_merchant, "vorkasse after 10 days: remind\n", "anna", None, 1, True
    )
    assert first.number == 2
    with pytest.raises(rulesets.VersionConflict) as conflict:
        rulesets.save_version(
            card_merchant, "vorkasse after 12 days: remind\n", "ben", None, 1, True
        )
    assert conflict.value.latest.number == 2 and conflict.value.latest.author == "anna"
    assert len(texts(card_merchant)) == 2
    # Ben saw the diff and saves on top of Anna's version: both texts are kept.
    again = rulesets.save_version(
        card_merchant, "vorkasse after 12 days: remind\n", "ben", None, 2, True
    )
    assert again.number == 3 and again.based_on == 2
    assert texts(card_merchant) == [
        CARD,
        "vorkasse after 10 days: remind\n",
        "vorkasse after 12 days: remind\n",
    ]


def test_activation_refuses_a_version_with_errors(card_merchant):
    bad = rulesets.save_version(card_merchant, "rechnung after 14 days: cancel\n", "a")
    with pytest.raises(rules.RulesError):
        rulesets.activate(card_merchant, bad, "a")
    db.session.rollback()
    assert rulesets.active_version(card_merchant.id).number == 1


def test_activation_without_recompute_is_caught_up_by_the_next_run(card_merchant, add_order):
    order = add_order(card_merchant, "P-1")
    assert order.next_due_on == DAY0 + timedelta(days=14)
    version = rulesets.save_version(card_merchant, "vorkasse after 3 days: remind\n", "a")
    rulesets.activate(card_merchant, version, "a", recompute=False)
    db.session.commit()
    assert version.recomputed_at is None and version.recompute_total == 1
    assert order.next_due_on == DAY0 + timedelta(days=14)  # not yet recomputed

    summary = dunning.execute(card_merchant, DAY0 + timedelta(days=3))
    assert summary.steps == {"remind": 1}
    assert version.recomputed_at is not None and version.recompute_done == 1


def test_apply_from_keeps_older_orders_on_the_rules_they_came_in_under(card_merchant, add_order):
    old = add_order(card_merchant, "OLD", ordered_on=DAY0)
    v1 = rulesets.active_version(card_merchant.id)
    new_rules = "apply to orders from 2026-10-05\nvorkasse after 5 days: remind\n"
    v2 = rulesets.save_and_activate(card_merchant, new_rules, "a")
    new = add_order(card_merchant, "NEW", ordered_on=date(2026, 10, 6))
    assert old.rules_version_id == v1.id and new.rules_version_id == v2.id
    assert old.next_due_on == DAY0 + timedelta(days=14)  # still the card's 14 days
    assert new.next_due_on == date(2026, 10, 11)

    dunning.execute(card_merchant, date(2026, 10, 15))
    db.session.commit()
    decided = {
        (e.order.number, e.ruleset_version_id)
        for e in db.session.scalars(select(DunningEvent).where(DunningEvent.action == "remind"))
    }
    assert decided == {("OLD", v1.id), ("NEW", v2.id)}


def test_without_apply_from_every_open_order_follows_the_new_rules(card_merchant, add_order):
    old = add_order(card_merchant, "OLD")
    rulesets.save_and_activate(card_merchant, "vorkasse after 5 days: remind\n", "a")
    assert old.next_due_on == DAY0 + timedelta(days=5)
    assert rulebook.program_for(old)[0].number == 2


def test_recompute_stops_when_told(card_merchant, add_order):
    for n in range(5):
        add_order(card_merchant, f"P-{n}")
    version = db.session.scalar(select(RulesetVersion).where(RulesetVersion.active.is_(True)))
    seen = []
    count = scheduling.recompute_all(
        card_merchant, version, batch_size=2, progress=lambda done: seen.append(done) or False
    )
    assert seen == [2] and count == 2


def test_line_diff_marks_removed_and_added_lines_with_their_numbers():
    old = "a\nb\nc\n"
    new = "a\nB\nc\nd\n"
    rows = [(r.kind, r.old_number, r.new_number, r.text) for r in rulesets.line_diff(old, new)]
    assert rows == [
        ("same", 1, 1, "a"),
        ("removed", 2, None, "b"),
        ("added", None, 2, "B"),
        ("same", 3, 3, "c"),
        ("added", None, 4, "d"),
    ]
    assert all(r.kind == "same" for r in rulesets.line_diff(old, old))


def test_two_saves_racing_for_one_number_end_in_a_conflict_not_an_overwrite(
    card_merchant, monkeypatch
):
    """Both editors read "newest is 1" before either inserts: the database's unique number
    makes the slower one a conflict, and the faster one's text stands."""
    stale = rulesets.latest_version(card_merchant.id)
    rulesets.save_version(card_merchant, "vorkasse after 10 days: remind\n", "anna", None, 1, True)
    real = rulesets.latest_version
    calls = []

    def first_stale(merchant_id):
        calls.append(merchant_id)
        return stale if len(calls) == 1 else real(merchant_id)

    monkeypatch.setattr(rulesets, "latest_version", first_stale)
    with pytest.raises(rulesets.VersionConflict) as conflict:
        rulesets.save_version(
            card_merchant, "vorkasse after 12 days: remind\n", "ben", None, 1, True
        )
    assert conflict.value.latest.author == "anna"
    db.session.commit()
    monkeypatch.setattr(rulesets, "latest_version", real)
    assert texts(card_merchant) == [CARD, "vorkasse after 10 days: remind\n"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "would stop all dunning"),
        ("# only a comment\n\n", "would stop all dunning"),
        ("vorkasse after 14 days: remind level 99999999999999999999\n", "at most 20"),
        ("vorkasse after 14 days: remind with fee 12345678901234567890123456789\n", "at most"),
        ("vorkasse after 99999 days: remind\n", "at most 3650 days"),
        ("vorkasse after 14 days: remind\n" + "# x\n" * 30_000, "too long"),
    ],
)
def test_activation_refuses_rules_that_would_stop_or_break_dunning(card_merchant, text, message):
    before = rulesets.active_version(card_merchant.id)
    with pytest.raises(rules.RulesError) as refused:
        rulesets.save_and_activate(card_merchant, text, "test")
    assert message in str(refused.value)
    db.session.rollback()
    assert rulesets.active_version(card_merchant.id).id == before.id


def _book_of_every_kind(merchant, add_order, pay):
    """Open orders plain, reminded, claimed, blocked and in another method; a paid one; then
    every date made wrong behind the ledger's back, so the recompute must write each."""
    from sqlalchemy import update

    from ledger import claims, lifecycle
    from ledger.models import Order

    orders = {n: add_order(merchant, n) for n in ("PLAIN", "REMINDED", "CLAIMED", "BLOCKED")}
    orders["INVOICE"] = add_order(merchant, "INVOICE", method="invoice")
    orders["PAID"] = add_order(merchant, "PAID")
    db.session.commit()
    dunning.execute(merchant, DAY0 + timedelta(days=14), only=[orders["REMINDED"].id])
    claims.claim(orders["CLAIMED"], DAY0 + timedelta(days=2), None, None, None,
                 today=DAY0 + timedelta(days=3))  # fmt: skip
    cause = lifecycle.Cause("test", "manual", DAY0, reason="Kunde ruft an")
    lifecycle.block(orders["BLOCKED"], cause)
    pay(orders["PAID"])
    db.session.commit()
    db.session.execute(update(Order).values(next_due_on=date(2000, 1, 1)))
    db.session.commit()
    return orders


def test_the_recompute_gives_every_order_the_date_its_own_computation_gives(
    card_merchant, add_order, pay
):
    """The batch recompute (rows, no ORM objects) and the per-order computation the lifecycle
    commands use agree, for open orders of every kind; closed and blocked ones keep no date."""
    orders = _book_of_every_kind(card_merchant, add_order, pay)
    rules_text = (
        "vorkasse after 5 days: remind; after 9 days: cancel and notify accounting\n"
        "rechnung after 3 days: remind\n"
    )
    version = rulesets.save_and_activate(card_merchant, rules_text, "a")
    db.session.commit()
    program = rulebook.program_of(version)
    found = {}
    for number, order in orders.items():
        db.session.refresh(order)
        expected = scheduling.next_due(order, program, scheduling.order_history(order))
        found[number] = (order.next_due_on, expected)
    assert found["PLAIN"] == (DAY0 + timedelta(days=5),) * 2
    assert found["REMINDED"][0] == found["REMINDED"][1] > DAY0 + timedelta(days=5)  # reminded
    assert found["INVOICE"][0] == found["INVOICE"][1] is not None
    assert found["CLAIMED"][0] == found["CLAIMED"][1] > DAY0 + timedelta(days=5)  # paused
    assert found["BLOCKED"] == found["PAID"] == (None, None)


def test_an_order_changed_during_the_recompute_is_read_again(card_merchant, add_order, monkeypatch):
    """A lifecycle command that commits an order between the recompute's read and its write
    moved the order's version: that row is not written blindly but read once more."""
    from sqlalchemy import update

    from ledger.models import Order

    first = add_order(card_merchant, "P-1")
    add_order(card_merchant, "P-2")
    db.session.commit()
    read = scheduling._open_rows

    def read_then_changed(condition, limit):
        rows = read(condition, limit)
        if limit is not None:  # the batch read, not the second one
            db.session.execute(
                update(Order)
                .where(Order.id == first.id)
                .values(version=Order.version + 1, next_due_on=date(2000, 1, 1))
            )
        return rows

    monkeypatch.setattr(scheduling, "_open_rows", read_then_changed)
    rulesets.save_and_activate(card_merchant, "vorkasse after 5 days: remind\n", "a")
    db.session.commit()
    assert (
        db.session.scalars(select(Order.next_due_on).order_by(Order.id)).all()
        == [DAY0 + timedelta(days=5)] * 2
    )
