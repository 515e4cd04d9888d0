"""Why the ledger refuses a command or a file: a stable code, the values in it, and the English
text that the API and the command line show.

The portal shows the same refusal in the user's language by its code (portal/reasons.py has a
German text for every code in TEXTS, a test holds them equal). The ledger knows no Flask-Babel:
a refusal is a `Refusal` (a str: the English text, with `.code` and `.params`) and the
exceptions carry one (`Refused.reason`).

Texts stored in English (a bank transaction's reason: ledger.bank.matching.STATE_REASONS) are
read back into code and values by `parse` against the same kind of template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum


def N_(message: str) -> str:
    """Marks a message for the portal's catalog (babel.cfg); translated where it is shown."""
    return message


# code → English text; `{name}` are the values (`{name!r}` quoted, `{name:,}` grouped).
TEXTS: dict[str, str] = {
    # ledger.lifecycle: the transition table (why_not) and its commands
    "status": "the order is {status}",
    "status_already": "the order is {status} already",
    "cancel_method": "only {methods} orders can be cancelled",
    "mark_overdue_method": "only {methods} orders can be marked overdue",
    "erased": "the customer's data was erased",
    "erased_already": "the customer's data was erased already",
    "blocked": "dunning is blocked for this order",
    "blocked_already": "dunning is blocked already",
    "not_blocked": "dunning is not blocked",
    "no_late_payment": "no payment came in after the cancellation",
    "no_credit": "there is no credit to refund",
    "payments_too_high": "the order's payments would add up to more than {limit}",
    "no_order": "the order does not exist",
    "allowance": "an allowance is a discount or write-off of at most {limit}",
    "not_a_payment": "that is not a payment of this order",
    "reversed_already": "the payment was reversed already",
    "refund_amount": "a refund must be more than 0 and at most the credit of {credit}",
    "refund_requested_already": "a refund of this order is already to be made",
    "not_a_charge": "{kind} is not a charge",
    "paid_already": "the order is paid already",
    "other_merchant": "the order is not this merchant's",
    "not_a_refund": "that is not a refund of this order",
    "refund_reversed_already": "the refund was reversed already",
    # ledger.refunds: refunds paid out by SEPA credit transfer files
    "refund_payee": "the payee must have 1 to 70 characters",
    "refund_remittance": "the remittance text must have 1 to 140 characters",
    "refund_iban": "the IBAN {value!r} is not valid: {problem}",
    "refund_iban_sepa": "the IBAN {value} is not in the SEPA area",
    "refund_bic": "the BIC {value!r} is not valid: it has 8 or 11 letters and digits",
    "refund_state": "the refund is {state}",
    "refund_none": "there is no open refund to export",
    "refund_currencies": "the refunds are in {currencies}: export one currency at a time",
    "refund_no_account": "there is no {currency} bank account to pay the refunds from",
    "refund_version": "{version!r} is not a SEPA version for refunds ({versions})",
    "refund_schema": "the SEPA file does not pass its schema: {detail}",
    # ledger.bank.inbox: what a person does with a waiting payment
    "no_parts": "name at least one order",
    "debit_not_payment": "a debit is not a payment: mark it “not for us”",
    "parts_sum": (
        "the parts add up to {total}, the payment is {amount}: every part must be more than 0 "
        "and together the whole payment"
    ),
    "order_twice": "each order once",
    "unknown_order": "no order {number!r}",
    "order_currency": "order {number} is in {order_currency}, the payment in {currency}",
    "order_refused": "order {number}: {reason}",
    "no_transaction": "no such bank transaction",
    "transaction_state": "the transaction is {state} already",
    "unknown_choice": "unknown choice {choice!r}",
    # ledger.bank.importing: a statement file refused as a whole
    "file_too_big": "the file has {size:,} bytes; at most {limit:,} are taken",
    "unreadable": "{detail}",  # the reader's own words (ledger.bank.statements.StatementError)
    "foreign_account": (
        "the statement{at} is of {named}, which is not one of {merchant}'s bank accounts ({own})"
    ),
    "foreign_currency": (
        "the statement{at} is in {currencies}, but the account {iban} is in {currency}"
    ),
    # ledger.documents: letters, print runs, the shop's invoice
    "letter_state": "the letter is {state}",
    "print_run_state": "the print run is {state}",
    "no_postal_address": "the order has no postal address",
    "no_invoice": "the order has no invoice",
    "no_customer_email": "the order has no customer email",
    "unsubscribed": "the customer unsubscribed from such notifications",
    "claim_pending": "the customer says they paid (a claim is open)",
    "not_a_pdf": "the file is not a PDF",
    "pdf_encrypted": "the PDF is encrypted",
    "pdf_empty": "the PDF has no pages",
    # ledger.collection: debt collection cases
    "no_collection_partner": "no collection partner is set in the settings",
    "collection_open": "the order has an open collection case already",
    "no_collection_case": "the order has no collection case",
    "collection_closed": "the collection case is {status}",
    "collection_backwards": "the collection case is {status} and cannot become {state}",
    "collection_not_paid": (
        "the order still has {amount} open: report partially_paid with the payment, or paid "
        "with the payment that settles it"
    ),
    # ledger.bulk_actions: one action on many orders of the list
    "bulk_action": "{action!r} is not a bulk action",
    "bulk_empty": "there are no orders to act on",
    "bulk_too_many": "{count} orders are more than the {limit} one bulk action may touch",
    "bulk_failed": "it failed: {detail}",
}


def _english(value):
    """A value as the English text shows it: a stored enum value as words, a list with "and"."""
    if isinstance(value, Enum):
        return str(value.value).replace("_", " ")
    if isinstance(value, list | tuple):
        return " and ".join(str(_english(v)) for v in value)
    return value


class Refusal(str):
    """The English text of a refusal, with its code and values for a translation."""

    code: str
    params: dict

    def __new__(cls, code: str, /, **params) -> Refusal:
        if code not in TEXTS:
            raise KeyError(f"no refusal text for {code!r} (ledger.refusals.TEXTS)")
        text = TEXTS[code].format(**{key: _english(value) for key, value in params.items()})
        self = super().__new__(cls, text)
        self.code = code
        self.params = params
        return self

    def __reduce__(self):  # pickled (RQ, a cache) as what it is
        return (_refusal, (self.code, self.params))


def _refusal(code: str, params: dict) -> Refusal:
    return Refusal(code, **params)


class Refused(ValueError):
    """A refusal as an exception: `Refused(code, **params)` or `Refused(a_refusal)`; nothing
    was changed. `str(exc)` is the English text, `exc.reason` the Refusal."""

    def __init__(self, reason: Refusal | str, /, **params):
        if not isinstance(reason, Refusal):
            reason = Refusal(reason, **params)
        super().__init__(str(reason))
        self.reason = reason

    @property
    def code(self) -> str:
        return self.reason.code

    @property
    def params(self) -> dict:
        return self.reason.params


_FIELD = re.compile(r"\{(\w+)(![rs])?(:[^}]*)?\}")


def _pattern(template: str) -> re.Pattern:
    parts, end = [], 0
    for field in _FIELD.finditer(template):
        parts.append(re.escape(template[end : field.start()]))
        quote = "'" if field.group(2) == "!r" else ""
        parts.append(f"{quote}(?P<{field.group(1)}>.+?){quote}")
        end = field.end()
    parts.append(re.escape(template[end:]))
    return re.compile("".join(parts) + r"\Z", re.S)


def parse(text: str | None, templates: Mapping[str, str]) -> tuple[str, dict] | None:
    """The code and the values of a text made from one of the templates (None: none fits).
    Templates with more fixed text are tried first ("the order is {status} already" before
    "the order is {status}"); one that is nothing but a value is never taken."""
    if not text:
        return None
    fixed = {code: len(_FIELD.sub("", template)) for code, template in templates.items()}
    for code, template in sorted(templates.items(), key=lambda item: -fixed[item[0]]):
        if not fixed[code]:
            continue  # "{detail}" would fit anything
        found = _pattern(template).match(text)
        if found:
            return code, found.groupdict()
    return None
