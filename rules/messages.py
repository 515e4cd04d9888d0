"""The checker's messages: a stable code each, with its English text (`{name}` are the values).

`rules check` on the command line prints the English; a Diagnostic carries its code and values
too (`Diagnostic.code`, `.params`), so that the portal shows it in the user's language by code
(portal/rules_text.py has a text for every code here; a test holds them equal). Syntax errors
from the parser and the lexer have codes too; their `{expected}` is a list of what the parser
would have taken there: keys of EXPECTED (described in words) or keywords of the rules language
in quotes (`'":"'`, `'"days"'`), which read the same in every language.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # syntax (rules.expected, rules.parser, rules.lexer)
    "ends_early": "the rules end too early: expected {expected}",
    "line_ends_early": "the line ends too early: expected {expected}",
    "unexpected": 'expected {expected}, but found "{found}"',
    "unexpected_guess": 'expected {expected}, but found "{found}" (did you mean "{guess}"?)',
    "unexpected_number": (
        'expected {expected}, but found "{found}"; write amounts with a decimal point, e.g. 2.50'
    ),
    "unexpected_number_guess": (
        'expected {expected}, but found "{found}" (did you mean "{guess}"?); write amounts with a '
        "decimal point, e.g. 2.50"
    ),
    "not_a_word": '"{found}" is not a word of the rules language',
    "not_a_word_guess": '"{found}" is not a word of the rules language (did you mean "{guess}"?)',
    "indented_without_block": (
        "this line is indented, but the line above does not start a block (a block header "
        'ends with ":")'
    ),
    "indentation_unmatched": (
        "this line's indentation matches no line above it; indent the lines of a block by the "
        "same amount"
    ),
    "whole_days": "expected a whole number of days, not {number}",
    "whole_level": "expected a whole level number, not {number}",
    "level_twice": "this reminder already has a level; give each option once",
    "fee_twice": "this reminder already has a fee; give each option once",
    "channels_twice": "this reminder already has its channels; give each option once",
    "actions_without_trigger": 'expected "after N days" to say when these actions happen',
    "bad_date": "{date} is not a valid date (YYYY-MM-DD)",
    "invalid_syntax": "this is not valid rules syntax",
    "parser_failure": "{detail}",  # Lark's own words, when nothing better is known
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


# What the parser expected, in words (a syntax message's `{expected}` lists these keys, or
# keywords in quotes).
EXPECTED: dict[str, str] = {
    "action": "an action such as remind, cancel, mark overdue or notify accounting",
    "method": "a payment method (vorkasse, rechnung, nachnahme or any)",
    "setting": 'a setting such as "at least 7 days between reminders"',
    "condition": "a condition such as amount over 100 or country in DE",
    "after": '"after N days"',
    "code": "a two-letter code such as DE or fr",
    "recipient": "a recipient: accounting, team or a quoted email address",
    "text": 'a quoted text such as "wholesale"',
    "date": "a date such as 2026-01-01",
    "customer_type": "b2b or b2c",
    "channels": '"by email", "by letter" or "by email and letter"',
    "day_kind": '"days" or "business days"',
    "currency": "a currency (EUR or CHF)",
    "missed_steps": '"escalate in order" or "skip to the latest"',
    "line_end": "the end of the line",
    "indented_steps": "indented lines with the block's steps",
    "days": "a number of days",
    "level": "a level number",
    "amount": "an amount such as 2.50",
    "rate": 'a rate such as 5 % or the word "statutory"',
    "number": "a number",
    "something_else": "something else",  # when the parser names nothing
}


def expected_text(words) -> str:
    """`a, b or c`: the EXPECTED words in English, keywords in quotes as they are."""
    words = [EXPECTED.get(word, word) for word in words] or [EXPECTED["something_else"]]
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def message(code: str, **params) -> str:
    """The English text of a code with its values."""
    if "expected" in params:
        params = params | {"expected": expected_text(params["expected"])}
    return MESSAGES[code].format(**params)
