"""The checker's messages: a stable code each, with its English text (`{name}` are the values).

`rules check` on the command line prints the English; a Diagnostic carries its code and values
too (`Diagnostic.code`, `.params`), so that the portal shows it in the user's language by code
(portal/rules_text.py has a text for every code here; a test holds them equal). Syntax errors
from the parser and the lexer have no code: they quote the grammar and stay English.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # settings
    "setting_twice": "this setting is already given on line {line}",
    "too_many_days": "expected at most {max_days} days here",
    "bank_hold_no_account": (
        "the merchant has no bank account yet: this holds every step until statements of one "
        "are imported"
    ),
    "bank_hold_never_imported": (
        "no bank statement has been imported yet: this holds every step until one is"
    ),
    # blocks and steps
    "never_countries": "this block can never match: no country is in every country list",
    "never_customer": "this block can never match: a customer cannot be both b2b and b2c",
    "never_language": "this block can never match: an order has only one language",
    "never_amount": "this block can never match: no amount meets all the amount conditions",
    "never_currency": (
        "this block can never match: the amount's currency does not fit the countries"
    ),
    "shadowed": (
        'this block never applies: the block on line {line} ("{alias}") already matches every '
        "order it would match"
    ),
    "no_steps": "this block has no steps",
    "after_terminal": (
        "no step can follow the step on line {line}: it ends dunning (cancel or hand over to "
        "collection)"
    ),
    "duplicate_step": 'duplicate step: "{trigger}" is already used',
    "steps_order": "steps must come in increasing order: expected more than {days} days here",
    "base_rate_unknown": (
        "statutory interest for {country} orders needs today's base rate, but it is known only "
        "up to {until}: {hint}"
    ),
    "needs_reminder": (
        "this never happens: no reminder comes before it in this block, and escalating in "
        "order (the default) no {action} comes before a reminder reached the order; add a "
        'reminder step before it, or write "on missed steps: skip to the latest"'
    ),
    "first_reminder_fee": (
        "no fee is charged on a first reminder: escalating in order (the default) a fee comes "
        "only after an earlier reminder reached the order"
    ),
    # actions
    "level_low": "expected a level of 1 or more",
    "level_high": "expected a level of at most {max_level}",
    "fee_high": "expected a fee of at most {max_fee:,}",
    "cancel_method": (
        "cancel is only for prepayment (vorkasse) orders, but this block is for {method}"
    ),
    "cancel_any": (
        "cancel is only for prepayment (vorkasse) orders, but this block is for any payment method"
    ),
    "overdue_prepayment": (
        "mark overdue is only for invoice and COD orders, but this block is for prepayment"
    ),
    "overdue_any": (
        "mark overdue is only for invoice and COD orders, but this block is for any payment method"
    ),
    "unknown_webhook": 'unknown webhook "{name}" (known: {known})',
    "unknown_webhook_none": 'unknown webhook "{name}" (known: none)',
    "unknown_webhook_guess": 'unknown webhook "{name}" (known: {known}); did you mean "{guess}"?',
    "interest_rate": "expected an interest rate above 0 and at most 100 %",
    "no_team_address": "no team address is set; team notifications go to accounting",
    "bad_email": '"{recipient}" is not a valid email address',
    "unknown_recipient": (
        'unknown recipient "{recipient}": expected accounting, team or a quoted email address'
    ),
    "unknown_recipient_guess": (
        'unknown recipient "{recipient}": expected accounting, team or a quoted email address '
        '(did you mean "{guess}"?)'
    ),
    "fee_currency": "a fee in {currency} cannot apply here: this block's orders are in {have}",
    # the rules as a whole (ledger.rulesets, before activating)
    "too_long": "the rules are too long: at most {limit:,} characters",
    "no_block": "activating this would stop all dunning for every order: the rules have no block",
    "fee_currency_none": (
        "a fee in {currency} cannot apply here: this block's orders are in no currency"
    ),
}


def message(code: str, **params) -> str:
    """The English text of a code with its values."""
    return MESSAGES[code].format(**params)
