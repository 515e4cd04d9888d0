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
