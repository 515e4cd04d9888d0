"""The ledger's own English words in the user's language: why a command or a file was refused
(ledger.refusals), the bank matcher's reasons (ledger.bank.scoring, ledger.bank.matching), the
notes and reasons the ledger stores for people (ledger.notes) and what a bank's return reason
code means.

The ledger raises and stores them in English (it knows no Flask-Babel, and the API and the
command line show the English); the portal translates them by code, with the values formatted
for the user's locale. A stored text no template fits (a row older than its template, a free
note) is shown as it is.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from enum import Enum

from babel.lists import format_list
from flask_babel import format_date, format_decimal, get_locale, lazy_pgettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ledger import digest, manual, notes, refusals
from ledger.bank import matching, scoring
from portal.ui import LABELS, _label
from rules import evaluator

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
    "not_a_refund": _l("that is not a refund of this order"),
    "refund_reversed_already": _l("the refund was reversed already"),
    "refund_payee": _l("the payee must have 1 to 70 characters"),
    "refund_remittance": _l("the remittance text must have 1 to 140 characters"),
    "refund_iban": _l("the IBAN '%(value)s' is not valid: %(problem)s"),
    "refund_iban_sepa": _l("the IBAN %(value)s is not in the SEPA area"),
    "refund_bic": _l("the BIC '%(value)s' is not valid: it has 8 or 11 letters and digits"),
    "refund_state": _l("the refund is %(state)s"),
    "refund_none": _l("there is no open refund to export"),
    "refund_currencies": _l("the refunds are in %(currencies)s: export one currency at a time"),
    "refund_no_account": _l("there is no %(currency)s bank account to pay the refunds from"),
    "refund_version": _l("'%(version)s' is not a SEPA version for refunds (%(versions)s)"),
    "refund_schema": _l("the SEPA file does not pass its schema: %(detail)s"),
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
    # A context apart: the rules editor shows "%(detail)s" with other words around it.
    "unreadable": lazy_pgettext("bank file", "%(detail)s"),
    "foreign_account": _l(
        "the statement%(at)s is of %(named)s, which is not one of %(merchant)s's bank accounts "
        "(%(own)s)"
    ),
    "foreign_currency": _l(
        "the statement%(at)s is in %(currencies)s, but the account %(iban)s is in %(currency)s"
    ),
    "letter_state": _l("the letter is %(state)s"),
    "print_run_state": _l("the print run is %(state)s"),
    "no_postal_address": _l("the order has no postal address"),
    "no_invoice": _l("the order has no invoice"),
    "no_customer_email": _l("the order has no customer email"),
    "unsubscribed": _l("the customer unsubscribed from such notifications"),
    "claim_pending": _l("the customer says they paid (a claim is open)"),
    "not_a_pdf": _l("the file is not a PDF"),
    "pdf_encrypted": _l("the PDF is encrypted"),
    "pdf_empty": _l("the PDF has no pages"),
    "no_collection_partner": _l("no collection partner is set in the settings"),
    "collection_open": _l("the order has an open collection case already"),
    "no_collection_case": _l("the order has no collection case"),
    "collection_closed": _l("the collection case is %(status)s"),
    "collection_backwards": _l("the collection case is %(status)s and cannot become %(state)s"),
    "collection_not_paid": _l(
        "the order still has %(amount)s open: report partially_paid with the payment, or paid "
        "with the payment that settles it"
    ),
    "bulk_action": _l("'%(action)s' is not a bulk action"),
    "bulk_empty": _l("there are no orders to act on"),
    "bulk_too_many": _l("%(count)s orders are more than the %(limit)s one bulk action may touch"),
    "bulk_failed": _l("it failed: %(detail)s"),
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

# ledger.notes.TEXTS: what the ledger stores for people (entry notes, dunning event reasons,
# why a message was withdrawn, a run's notes), by code (every code: test_refusals_i18n.py).
NOTES = {
    "order_amount": _l("order amount"),
    "order_amount_changed": _l("order amount changed"),
    "write_off_undone": _l("write-off undone"),
    "marked_paid": _l("marked paid by hand"),
    "payment_undone": _l("payment undone by hand"),
    "reminder_fee": _l("reminder fee, level %(level)s"),
    "interest": _l("interest %(start)s to %(end)s (%(law)s)"),
    "flat_fee": _l("flat fee for late payment by a business (§ 288 (5) BGB / § 458 UGB)"),
    "reminded_by_hand": _l("reminder sent by hand (%(actor)s)"),
    "paid_after_cancellation": _l(
        "payment of %(amount)s %(currency)s received after the cancellation"
    ),
    "withdrawn_paid": _l("the order was paid"),
    "withdrawn_cancelled": _l("the order was cancelled"),
    "withdrawn_written_off": _l("the order was written off"),
    "run_no_rules": _l("no active rules"),
    "run_held": _l("%(count)s order(s) %(why)s"),
}

# Why a due step waits (rules.evaluator.DEFERRALS), on the order page and in a run's notes.
DEFERRALS = {
    "held_no_data": _l("held: no bank data imported yet (hold while older than %(days)s days)"),
    "held_old_data": _l("held: bank data from %(day)s, older than %(days)s days"),
    "min_gap": _l("at least %(days)s days between reminders"),
    "no_mail": _l("no mail on weekends and holidays"),
}

# What a bank's ISO 20022 return reason code (ExternalReturnReason1Code) says: the common ones
# of SEPA credit transfers and direct debits and their recalls. A code not here is shown alone.
RETURN_REASONS = {
    "AC01": _l("account number (IBAN) incorrect"),
    "AC04": _l("account closed"),
    "AC06": _l("account blocked"),
    "AG01": _l("transaction forbidden on this account"),
    "AG02": _l("invalid bank operation code"),
    "AM04": _l("insufficient funds"),
    "AM05": _l("duplication"),
    "BE05": _l("creditor not recognised by the payer"),
    "CNOR": _l("creditor's bank not reachable in the clearing system"),
    "DNOR": _l("payer's bank not reachable in the clearing system"),
    "FF01": _l("invalid file format"),
    "MD01": _l("no mandate"),
    "MD02": _l("mandate data missing or incorrect"),
    "MD06": _l("refund requested by the payer"),
    "MD07": _l("account holder deceased"),
    "MS02": _l("refused by the payer, no reason given"),
    "MS03": _l("refused by the bank, no reason given"),
    "RC01": _l("bank identifier (BIC) incorrect"),
    "RR01": _l("payer's account or identification missing (regulatory)"),
    "RR02": _l("payer's name or address missing (regulatory)"),
    "RR03": _l("creditor's name or address missing (regulatory)"),
    "RR04": _l("regulatory reason"),
    "SL01": _l("a service of the payer's bank (e.g. a direct debit block)"),
    "FOCR": _l("returned after a recall request"),
    "DUPL": _l("duplicate payment"),
    "TECH": _l("technical problem"),
    "FRAD": _l("fraudulent origin"),
    "CUST": _l("requested by the payer"),
    "UPAY": _l("undue payment"),
}


def return_reason(code: str | None) -> str:
    """A bank's return reason code with what it means: "AC04: account closed"; a code not in
    RETURN_REASONS as it is."""
    if not code:
        return ""
    meaning = RETURN_REASONS.get(code.strip().upper())
    if meaning is None:
        return code
    return _("%(code)s: %(meaning)s", code=code, meaning=meaning)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
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
    if key == "problem":  # a checker's reason, an English msgid of the catalog (an IBAN's)
        return _(value)
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
    if key == "why":  # a run's held orders: the deferral's parts
        return "; ".join(stored_text(part) for part in value.split("; "))
    if key == "bank_code":  # a return reason code, or the transaction's own code
        return _("reversal") if value == "reversal" else return_reason(value)
    if key in ("start", "end") and _ISO_DATE.fullmatch(str(value)):  # an interest note's days
        return format_date(date.fromisoformat(value), "medium")
    if key == "amount" and _DECIMAL.fullmatch(str(value)):  # a stored amount, read back
        return format_decimal(Decimal(value), "#,##0.00")
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


def stored_text(text: str | None) -> str:
    """A text the ledger stored for people, translated: a note or reason of ledger.notes, a
    bank's reason (a returned payment's note), a refusal (why a message was withdrawn); a
    person's own words and a rules line as they are."""
    if not text:
        return ""
    for templates, translated in (
        (notes.TEXTS, NOTES),
        (matching.STATE_REASONS, STATE_REASONS),
        (refusals.TEXTS, REFUSALS),
        (evaluator.DEFERRALS, DEFERRALS),
    ):
        found = refusals.parse(text, templates)
        if found is not None:
            code, params = found
            return _format(translated[code], params)
    return text


# Dunning events the ledger writes itself, by their step keys: their reason is a ledger.notes
# text. A rules step's reason is its rules line, the merchant's own words.
_OWN_EVENTS = (manual.STEP_PREFIX, digest.PAID_AFTER_CANCELLATION)


def event_reason(event) -> str | None:
    """A dunning event's reason in the user's language if the ledger wrote it, else None (the
    page shows the rules line as it is)."""
    if event.reason and event.step_key.startswith(_OWN_EVENTS):
        return stored_text(event.reason)
    return None


def run_notes(run) -> list[str]:
    """A run's notes (DunningRun.error), one a line, in the user's language: a failed run's
    technical error kept as it is behind a lead-in, the ledger's notes translated."""
    if not run.error:
        return []
    if run.state == "failed":
        return [_("The run failed: %(error)s", error=run.error)]
    return [stored_text(line) for line in run.error.splitlines()]


def register(app) -> None:
    """The filters of the ledger's stored words (bank_reason is the bank pages')."""
    app.add_template_filter(stored_text, "stored_text")
    app.add_template_filter(return_reason, "return_reason")
    app.add_template_filter(run_notes, "run_notes")
    app.add_template_filter(event_reason, "event_reason")
