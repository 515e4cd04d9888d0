"""Every action of the rules language, specified once.

Adding an action touches: grammar.lark (its syntax), rules/ast.py (its node), this table, and
its handler in ledger/steps.py (what the daily run does). The evaluator's simulation, the
checker, the preview, the digest and the portal read their facts about an action from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules import ast


@dataclass(frozen=True)
class ActionSpec:
    kind: str
    node: type[ast.Action]
    label: str  # what the portal calls the orders a ruleset does this to ("Cancellations")
    done: str  # what the accounting digest says it did ("cancelled")
    # The order lifecycle's event the action causes (ledger/lifecycle.py decides the status it
    # leads to; the evaluator's simulation asks it through Program.schedule's `transition`).
    event: str | None = None
    # The Schedule field that records the first day the action happens.
    milestone: str | None = None
    # Nothing may follow it in a block (the order leaves dunning, or someone else takes over).
    terminal: bool = False
    # Under "on missed steps: escalate in order" it comes only after a reminder reached the
    # order: no cancellation, collection or interest before the customer was reminded once.
    needs_reminder: bool = False


SPECS: dict[str, ActionSpec] = {
    spec.kind: spec
    for spec in (
        ActionSpec("remind", ast.Remind, "Reminders", "reminded", event="remind"),
        ActionSpec(
            "cancel",
            ast.Cancel,
            "Cancellations",
            "cancelled",
            event="cancel",
            milestone="cancellation_on",
            terminal=True,
            needs_reminder=True,
        ),
        ActionSpec(
            "mark_overdue",
            ast.MarkOverdue,
            "Marked overdue",
            "marked overdue",
            event="mark_overdue",
            milestone="overdue_on",
        ),
        ActionSpec("notify", ast.Notify, "Notifications", "notified"),
        ActionSpec(
            "release_reservation",
            ast.ReleaseReservation,
            "Reservations released",
            "reservation released",
        ),
        ActionSpec(
            "hand_over_to_collection",
            ast.HandOverToCollection,
            "Handed over to collection",
            "handed over to collection",
            event="hand_over",
            milestone="collection_on",
            terminal=True,
            needs_reminder=True,
        ),
        ActionSpec(
            "charge_interest",
            ast.ChargeInterest,
            "Interest charged",
            "interest charged",
            event="charge",
            needs_reminder=True,
        ),
        ActionSpec("send_webhook", ast.SendWebhook, "Webhooks", "webhook sent"),
    )
}

TERMINAL_KINDS = frozenset(kind for kind, spec in SPECS.items() if spec.terminal)
NEEDS_REMINDER = frozenset(kind for kind, spec in SPECS.items() if spec.needs_reminder)
