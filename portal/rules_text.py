"""The rules checker's findings and syntax errors in the user's language.

The checker and the parser (rules/, pure Python) write English, which `mahnwerk rules check`
prints; each finding also carries a code and the values in it (rules.messages.MESSAGES). The
portal shows the text of the code in the user's language (every code has one here: a test holds
the two lists equal). What a syntax error expected is a list of rules.messages.EXPECTED keys,
described here in the user's language, and of keywords in quotes, which stay as they are.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from flask_babel import format_decimal, lazy_pgettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.reasons import stored_label
from rules import Diagnostic

MESSAGES = {
    "ends_early": _l("the rules end too early: expected %(expected)s"),
    "line_ends_early": _l("the line ends too early: expected %(expected)s"),
    "unexpected": _l('expected %(expected)s, but found "%(found)s"'),
    "unexpected_guess": _l(
        'expected %(expected)s, but found "%(found)s" (did you mean "%(guess)s"?)'
    ),
    "unexpected_number": _l(
        'expected %(expected)s, but found "%(found)s"; write amounts with a decimal point, '
        "e.g. 2.50"
    ),
    "unexpected_number_guess": _l(
        'expected %(expected)s, but found "%(found)s" (did you mean "%(guess)s"?); write amounts '
        "with a decimal point, e.g. 2.50"
    ),
    "not_a_word": _l('"%(found)s" is not a word of the rules language'),
    "not_a_word_guess": _l(
        '"%(found)s" is not a word of the rules language (did you mean "%(guess)s"?)'
    ),
    "indented_without_block": _l(
        "this line is indented, but the line above does not start a block (a block header "
        'ends with ":")'
    ),
    "indentation_unmatched": _l(
        "this line's indentation matches no line above it; indent the lines of a block by the "
        "same amount"
    ),
    "whole_days": _l("expected a whole number of days, not %(number)s"),
    "whole_level": _l("expected a whole level number, not %(number)s"),
    "level_twice": _l("this reminder already has a level; give each option once"),
    "fee_twice": _l("this reminder already has a fee; give each option once"),
    "channels_twice": _l("this reminder already has its channels; give each option once"),
    "actions_without_trigger": _l('expected "after N days" to say when these actions happen'),
    "bad_date": _l("%(date)s is not a valid date (YYYY-MM-DD)"),
    "invalid_syntax": _l("this is not valid rules syntax"),
    "parser_failure": lazy_pgettext("rules syntax", "%(detail)s"),
    "setting_twice": _l("this setting is already given on line %(line)s"),
    "too_many_days": _l("expected at most %(max_days)s days here"),
    "bank_hold_no_account": _l(
        "the merchant has no bank account yet: this holds every step until statements of one "
        "are imported"
    ),
    "bank_hold_never_imported": _l(
        "no bank statement has been imported yet: this holds every step until one is"
    ),
    "never_countries": _l("this block can never match: no country is in every country list"),
    "never_customer": _l("this block can never match: a customer cannot be both b2b and b2c"),
    "never_language": _l("this block can never match: an order has only one language"),
    "never_amount": _l("this block can never match: no amount meets all the amount conditions"),
    "never_currency": _l(
        "this block can never match: the amount's currency does not fit the countries"
    ),
    "shadowed": _l(
        'this block never applies: the block on line %(line)s ("%(alias)s") already matches '
        "every order it would match"
    ),
    "no_steps": _l("this block has no steps"),
    "after_terminal": _l(
        "no step can follow the step on line %(line)s: it ends dunning (cancel or hand over to "
        "collection)"
    ),
    "duplicate_step": _l('duplicate step: "%(trigger)s" is already used'),
    "steps_order": _l("steps must come in increasing order: expected more than %(days)s days here"),
    "base_rate_unknown": _l(
        "statutory interest for %(country)s orders needs today's base rate, but it is known only "
        "up to %(until)s: %(hint)s"
    ),
    "needs_reminder": _l(
        "this never happens: no reminder comes before it in this block, and escalating in order "
        "(the default) no %(action)s comes before a reminder reached the order; add a reminder "
        'step before it, or write "on missed steps: skip to the latest"'
    ),
    "first_reminder_fee": _l(
        "no fee is charged on a first reminder: escalating in order (the default) a fee comes "
        "only after an earlier reminder reached the order"
    ),
    "level_low": _l("expected a level of 1 or more"),
    "level_high": _l("expected a level of at most %(max_level)s"),
    "fee_high": _l("expected a fee of at most %(max_fee)s"),
    "cancel_method": _l(
        "cancel is only for prepayment (vorkasse) orders, but this block is for %(method)s"
    ),
    "cancel_any": _l(
        "cancel is only for prepayment (vorkasse) orders, but this block is for any payment method"
    ),
    "overdue_prepayment": _l(
        "mark overdue is only for invoice and COD orders, but this block is for prepayment"
    ),
    "overdue_any": _l(
        "mark overdue is only for invoice and COD orders, but this block is for any payment method"
    ),
    "unknown_webhook": _l('unknown webhook "%(name)s" (known: %(known)s)'),
    "unknown_webhook_none": _l('unknown webhook "%(name)s" (known: none)'),
    "unknown_webhook_guess": _l(
        'unknown webhook "%(name)s" (known: %(known)s); did you mean "%(guess)s"?'
    ),
    "interest_rate": _l("expected an interest rate above 0 and at most 100 %%"),
    "no_team_address": _l("no team address is set; team notifications go to accounting"),
    "bad_email": _l('"%(recipient)s" is not a valid email address'),
    "unknown_recipient": _l(
        'unknown recipient "%(recipient)s": expected accounting, team or a quoted email address'
    ),
    "unknown_recipient_guess": _l(
        'unknown recipient "%(recipient)s": expected accounting, team or a quoted email address '
        '(did you mean "%(guess)s"?)'
    ),
    "too_long": _l("the rules are too long: at most %(limit)s characters"),
    "no_block": _l(
        "activating this would stop all dunning for every order: the rules have no block"
    ),
    "fee_currency": _l(
        "a fee in %(currency)s cannot apply here: this block's orders are in %(have)s"
    ),
    "fee_currency_none": _l(
        "a fee in %(currency)s cannot apply here: this block's orders are in no currency"
    ),
}

# What the parser expected (rules.messages.EXPECTED); "%%" is a percent sign.
EXPECTED = {
    "action": _l("an action such as remind, cancel, mark overdue or notify accounting"),
    "method": _l("a payment method (vorkasse, rechnung, nachnahme or any)"),
    "setting": _l('a setting such as "at least 7 days between reminders"'),
    "condition": _l("a condition such as amount over 100 or country in DE"),
    "after": _l('"after N days"'),
    "code": _l("a two-letter code such as DE or fr"),
    "recipient": _l("a recipient: accounting, team or a quoted email address"),
    "text": _l('a quoted text such as "wholesale"'),
    "date": _l("a date such as 2026-01-01"),
    "customer_type": _l("b2b or b2c"),
    "channels": _l('"by email", "by letter" or "by email and letter"'),
    "day_kind": _l('"days" or "business days"'),
    "currency": _l("a currency (EUR or CHF)"),
    "missed_steps": _l('"escalate in order" or "skip to the latest"'),
    "line_end": _l("the end of the line"),
    "indented_steps": _l("indented lines with the block's steps"),
    "days": _l("a number of days"),
    "level": _l("a level number"),
    "amount": _l("an amount such as 2.50"),
    "rate": _l('a rate such as 5 %% or the word "statutory"'),
    "number": _l("a number"),
    "something_else": _l("something else"),
}


def expected_text(words) -> str:
    """`a, b or c` in the user's language: EXPECTED keys described, keywords as they are."""
    words = [str(EXPECTED[w]) % {} if w in EXPECTED else w for w in words]
    if not words:
        return str(EXPECTED["something_else"])
    if len(words) == 1:
        return words[0]
    return _("%(first)s or %(last)s", first=", ".join(words[:-1]), last=words[-1])


_STORED = {"method", "action"}  # stored words (a payment method, an action): their label
_GROUPED = {"max_days", "max_fee", "limit"}  # numbers shown with thousands separators


def _value(key: str, value):
    if key in _STORED:
        return stored_label(value)
    if key in _GROUPED and isinstance(value, int | Decimal):
        return format_decimal(value)
    if key == "expected":
        return expected_text(value)
    return value


def message(diagnostic: Diagnostic) -> str:
    """The finding's text in the user's language (an uncoded one's English as it is)."""
    text = MESSAGES.get(diagnostic.code)
    if text is None:
        return diagnostic.message
    return str(text) % {key: _value(key, value) for key, value in diagnostic.args}


def translated(diagnostics) -> list[Diagnostic]:
    """The findings with their messages in the user's language (for a template)."""
    return [replace(d, message=message(d)) for d in diagnostics]


# rules.templates.TEMPLATES' titles and summaries in the user's language (by key; every
# template: tests/portal/test_refusals_i18n.py). The rules text itself keeps its keywords.
TEMPLATE_TEXTS = {
    "prepayment": (
        _l("Prepayment: remind, then cancel"),
        _l(
            "Unpaid prepayment orders get a reminder after 7 days and are cancelled after 14; "
            "the stock is released and accounting gets one list a day."
        ),
    ),
    "invoice": (
        _l("Invoice: three dunning levels with fees"),
        _l(
            "A free payment reminder, two dunning letters with fees, statutory interest and the "
            "hand-over to a collection agency."
        ),
    ),
    "cod": (
        _l("COD: overdue and notify"),
        _l(
            "Cash-on-delivery parcels not paid for after 30 days are marked overdue and the team "
            "is told."
        ),
    ),
}
