"""The ledger's own English words in the user's language: why a command or a file was refused
(ledger.refusals), and the bank matcher's reasons (ledger.bank.scoring, ledger.bank.matching).

The ledger raises and stores them in English (it knows no Flask-Babel, and the API and the
command line show the English); the portal translates them by code, with the values formatted
for the user's locale. A stored text no template fits (a row older than its template, a free
note) is shown as it is.
"""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

from babel.lists import format_list
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ledger import refusals
from ledger.bank import matching, scoring
from portal.ui import LABELS, _label

# ledger.refusals.TEXTS in the user's language (every code: tests/portal/test_refusals_i18n.py).
REFUSALS = {
    "status": _l("the order is %(status)s"),
    "status_already": _l("the order is %(status)s already"),
    "cancel_method": _l("only %(methods)s orders can be cancelled"),
    "mark_overdue_method": _l("only %(methods)s orders can be marked overdue"),
    "erased": _l("the customer's data was erased"),
    "erased_already": _l("the customer's data was erased already"),
    "blocked": _l("dunning is blocked for this order"),
    "blocked_already": _l("dunning is blocked already"),
    "not_blocked": _l("dunning is not blocked"),
    "no_late_payment": _l("no payment came in after the cancellation"),
    "no_credit": _l("there is no credit to refund"),
    "payments_too_high": _l("the order's payments would add up to more than %(limit)s"),
    "no_order": _l("the order does not exist"),
    "allowance": _l("an allowance is a discount or write-off of at most %(limit)s"),
    "not_a_payment": _l("that is not a payment of this order"),
    "reversed_already": _l("the payment was reversed already"),
    "refund_amount": _l("a refund must be more than 0 and at most the credit of %(credit)s"),
    "refund_requested_already": _l("a refund of this order is already to be made"),
    "not_a_charge": _l("%(kind)s is not a charge"),
    "paid_already": _l("the order is paid already"),
    "other_merchant": _l("the order is not this merchant's"),
    "no_parts": _l("name at least one order"),
    "debit_not_payment": _l("a debit is not a payment: mark it “not for us”"),
    "parts_sum": _l(
        "the parts add up to %(total)s, the payment is %(amount)s: every part must be more than "
        "0 and together the whole payment"
    ),
    "order_twice": _l("each order once"),
    "unknown_order": _l("no order '%(number)s'"),
    "order_currency": _l("order %(number)s is in %(order_currency)s, the payment in %(currency)s"),
    "order_refused": _l("order %(number)s: %(reason)s"),
    "no_transaction": _l("no such bank transaction"),
    "transaction_state": _l("the transaction is %(state)s already"),
    "unknown_choice": _l("unknown choice '%(choice)s'"),
    "file_too_big": _l("the file has %(size)s bytes; at most %(limit)s are taken"),
    # TRANSLATORS: the bank file reader's own words (English) on what is wrong with the file;
    # German says first that the file cannot be read.
    "unreadable": _l("%(detail)s"),
    "foreign_account": _l(
        "the statement%(at)s is of %(named)s, which is not one of %(merchant)s's bank accounts "
        "(%(own)s)"
    ),
    "foreign_currency": _l(
        "the statement%(at)s is in %(currencies)s, but the account %(iban)s is in %(currency)s"
    ),
}

# The scorer's reasons for a suggestion (ledger.bank.scoring.REASONS).
MATCH_REASONS = {
    scoring.R_RF: _l("creditor reference (RF) matches"),
    scoring.R_QRR: _l("QR reference matches"),
    scoring.R_NUMBER: _l("order number in the text"),
    scoring.R_INVOICE: _l("invoice number in the text"),
    scoring.R_EXTRA: _l("stored reference in the text"),
    scoring.R_NUMBER_FUZZY: _l("order number similar in the text"),
    scoring.R_INVOICE_FUZZY: _l("invoice number similar in the text"),
    scoring.R_EXTRA_FUZZY: _l("stored reference similar in the text"),
    scoring.R_AMOUNT_EQUAL: _l("amount equal"),
    scoring.R_AMOUNT_SHORT: _l("amount short within tolerance"),
    scoring.R_AMOUNT_DISCOUNT: _l("amount equals the discount in time"),
    scoring.R_AMOUNT_PARTIAL: _l("amount less than open"),
    scoring.R_AMOUNT_OVER: _l("amount more than open"),
    scoring.R_AMOUNT_SUM: _l("amount part of a split payment"),
    scoring.R_CURRENCY: _l("currency differs"),
    scoring.R_NAME_MATCH: _l("name matches"),
    scoring.R_NAME_PARTIAL: _l("name partly matches"),
    scoring.R_NAME_DIFFERS: _l("name differs"),
    scoring.R_IBAN: _l("IBAN known from an earlier payment"),
    scoring.R_NOT_OPEN: _l("order not open"),
}

# The scorer's decisions (ledger.bank.scoring.DECISION_REASONS), stored as a transaction's or
# an assignment's reason.
DECISIONS = {
    scoring.D_DEBIT: _l("debit, not a payment"),
    scoring.D_NO_CANDIDATE: _l("no candidate"),
    scoring.D_STRUCTURED: _l("structured reference"),
    scoring.D_EXACT: _l("exact reference and fitting amount"),
    scoring.D_EXACT_PARTIAL: _l("exact reference, partial payment"),
    scoring.D_FUZZY: _l("similar reference, equal amount and known payer"),
    scoring.D_SPLIT: _l("several orders paid at once"),
    scoring.D_SPLIT_REVIEW: _l("several orders paid at once, to review"),
    scoring.D_SEVERAL_STRUCTURED: _l("several candidates with a structured reference"),
    scoring.D_SEVERAL_REFERENCED: _l("several candidates referenced"),
    scoring.D_AMOUNT: _l("amount does not fit the reference"),
    scoring.D_FUZZY_WEAK: _l("similar reference only"),
    scoring.D_NOT_OPEN: _l("referenced order not open"),
    scoring.D_NO_REFERENCE: _l("no reference"),
    scoring.D_PENDING: _l("not booked yet"),
}

# The other stored reasons (ledger.bank.matching.STATE_REASONS), by code.
STATE_REASONS = {
    "ignore_keyword": _l("ignore keyword '%(keyword)s'"),
    "debit": _l("a debit, not a customer's payment"),
    "no_order": _l("no order found"),
    "not_booked": _l("not booked: %(reason)s"),
    "no_payment_returned": _l("a return or reversal of no payment found"),
    "returned": _l("returned by the bank (%(bank_code)s)"),
    "by_hand": _l("assigned by hand"),
    "split_by_hand": _l("split over %(count)s orders"),
    "ignored_note": _l("not for us (%(actor)s): %(note)s"),
    "ignored": _l("not for us (%(actor)s)"),
    "refund_note": _l("to refund (%(actor)s): %(note)s"),
    "refund": _l("to refund (%(actor)s)"),
}

_WORDS = {"status", "state", "kind"}  # values that are stored words: shown by their label


def stored_label(value) -> str:
    """A stored value (an enum, or read back from English words) as its label."""
    raw = str(value.value if isinstance(value, Enum) else value)
    key = raw.replace(" ", "_")
    return _label(key if key in LABELS else raw)


def _value(key: str, value):
    if isinstance(value, refusals.Refusal):
        return refusal_text(value)
    if key == "reason":  # a refusal's English text, read back from a stored reason
        return refusal_text(value)
    if key in _WORDS:
        return stored_label(value)
    if key == "methods":
        return format_list([stored_label(v) for v in value], locale=str(get_locale() or "de"))
    if isinstance(value, Decimal):
        return format_decimal(value, "#,##0.00")
    if isinstance(value, int) and not isinstance(value, bool):
        return format_decimal(value)
    if key == "at":  # " at <where in the file>" or nothing
        return _(" at %(where)s", where=value[4:]) if value else ""
    if key == "named" and value == "no account":
        return _("no account")
    if key == "own" and value == "none yet":
        return _("none yet")
    return value


def _format(text, params: dict) -> str:
    return str(text) % {key: _value(key, value) for key, value in params.items()}


def refusal_text(refusal) -> str:
    """A refusal in the user's language: a Refusal, an exception carrying one (`.reason`), or
    an English refusal text read back by its template; anything else as it is."""
    refusal = getattr(refusal, "reason", refusal)
    if isinstance(refusal, refusals.Refusal):
        code, params = refusal.code, refusal.params
    else:
        found = refusals.parse(str(refusal), refusals.TEXTS)
        if found is None:
            return str(refusal)
        code, params = found
    return _format(REFUSALS[code], params)


def bank_reason(text: str | None) -> str:
    """A bank transaction's or assignment's stored reason, or a suggestion's, translated."""
    if not text:
        return ""
    known = DECISIONS.get(text) or MATCH_REASONS.get(text)
    if known is not None:
        return str(known)
    found = refusals.parse(text, matching.STATE_REASONS)
    if found is None:
        return text
    code, params = found
    return _format(STATE_REASONS[code], params)
