"""The texts the ledger itself stores for people to read: a money entry's note, a dunning
event's reason, why a pending message was withdrawn, what a daily run has to say.

They are stored in English (the API, the command line and the stored rows stay as they are;
the ledger knows no Flask-Babel). Like ledger.refusals, each has a stable code here and its
English template; the portal reads a stored text back by these templates (refusals.parse) and
shows it in the user's language (portal/reasons.py NOTES has a text for every code, a test
holds them equal). A person's own words (a cancel reason, a remittance) and a rules step's
reason (its rules line) fit no template and are shown as they are.
"""

from __future__ import annotations

# code → English text; `{name}` are the values.
TEXTS: dict[str, str] = {
    # money entries (LedgerEntry.note)
    "order_amount": "order amount",
    "order_amount_changed": "order amount changed",
    "write_off_undone": "write-off undone",
    "marked_paid": "marked paid by hand",
    "payment_undone": "payment undone by hand",
    "reminder_fee": "reminder fee, level {level}",
    "interest": "interest {start} to {end} ({law})",  # ISO dates; the law as a letter cites it
    "flat_fee": "flat fee for late payment by a business (§ 288 (5) BGB / § 458 UGB)",
    # dunning events the ledger writes itself (DunningEvent.reason)
    "reminded_by_hand": "reminder sent by hand ({actor})",
    "paid_after_cancellation": "payment of {amount} {currency} received after the cancellation",
    # why a pending message was withdrawn (OutboxMessage.last_error); the worker's last look
    # stores a refusal's text there instead (ledger.refusals)
    "withdrawn_paid": "the order was paid",
    "withdrawn_cancelled": "the order was cancelled",
    "withdrawn_written_off": "the order was written off",
    # a daily run's notes (DunningRun.error, one a line, after a failed run's error)
    "run_no_rules": "no active rules",
    "run_held": "{count} order(s) {why}",  # why: the rules' words (rules.evaluator)
}


def text(code: str, /, **values) -> str:
    """The English text of `code` with its values."""
    if code not in TEXTS:
        raise KeyError(f"no note text for {code!r} (ledger.notes.TEXTS)")
    return TEXTS[code].format(**values)
