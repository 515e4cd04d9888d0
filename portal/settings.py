"""The merchant's settings (owner only): company and letterhead, mail, bank accounts, payment
terms, matching, webhook, shop, API tokens, time zone, run hour, interest. One page; each
section's form posts to its own endpoint and gets its section back (htmx) or the whole page.
Checking, storing, auditing and counting are ledger.settings'."""

from __future__ import annotations

from babel import Locale
from flask import Blueprint, abort, current_app, make_response, request
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from ledger import settings, webhooks
from ledger.bank import accounts as bank_accounts
from ledger.db import db
from ledger.interest import INTEREST_BASES
from ledger.models import LANGUAGES
from portal.auth import require_login
from portal.ui import actor, merchant, render_page

bp = Blueprint("settings", __name__)
bp.before_request(require_login)

TEMPLATE = "settings/page.html"
# The logo form's request: the file (settings.LOGO_BYTES) and its multipart frame. A bigger
# request is refused before it is read (portal/__init__.py registers limit_upload).
LOGO_REQUEST_BYTES = settings.LOGO_BYTES + 64 * 1024

LABELS = {
    "company_name": _l("Company name (legal)"),
    "company_address": _l("Address"),
    "country": _l("Country"),
    "register_number": _l("Commercial register"),
    "vat_id": _l("VAT id"),
    "managing_directors": _l("Managing directors"),
    "language": _l("Language of mails to your team"),
    "logo": _l("Logo"),
    "sender_email": _l("Sender address"),
    "reply_to_email": _l("Reply-to address"),
    "accounting_email": _l("Accounting address"),
    "team_email": _l("Team address"),
    "bounce_domain": _l("Bounce domain"),
    "attach_reminder_pdf": _l("Attach the reminder as PDF"),
    "payment_days": _l("Net days"),
    "discount_percent": _l("Skonto percentage"),
    "discount_days": _l("Skonto days"),
    "collection_partner": _l("Collection partner"),
    "payment_tolerance": _l("Payment tolerance"),
    "short_payment_write_off": _l("Write off the small rest"),
    "ignore_keywords": _l("Ignore transfers with these words"),
    "webhook_url": _l("Webhook URL"),
    "webhook_secret": _l("Signing secret"),
    "shop_url": _l("Shop URL"),
    "timezone": _l("Time zone"),
    "run_hour": _l("Hour of the daily run"),
    "interest_base": _l("Statutory interest"),
    "payment_received_mail": _l("Confirm payments to the customer"),
    "cancellation_notice": _l("Tell the customer of a cancellation"),
    "iban": _l("IBAN"),
    "holder": _l("Account holder"),
    "bic": _l("BIC"),
    "bank_name": _l("Bank"),
    "currency": _l("Currency"),
    "qr_iban": _l("QR-IBAN"),
    "label": _l("Label"),
}
LANGUAGE_NAMES = {"de": _l("German"), "en": _l("English"), "fr": _l("French"), "it": _l("Italian")}
INTEREST_BASE_NAMES = {
    "law": _l("By the law of the claim (the customer's country: DE, AT or CH)"),
    "DE": _l("Always German law (§ 288 BGB, the Bundesbank's base rate)"),
    "AT": _l("Always Austrian law (§ 1000 ABGB, § 456 UGB, the OeNB's base rate)"),
}
CANCELLATION_NOTICE_NAMES = {
    "none": _l("No"),
    "email": _l("By email"),
    "letter": _l("By letter"),
}
SECTION_NAMES = {
    "company": _l("Company and letterhead"),
    "mail": _l("Mail"),
    "notices": _l("Notices to customers"),
    "bank": _l("Bank accounts"),
    "terms": _l("Payment terms"),
    "matching": _l("Matching payments"),
    "webhook": _l("Webhook"),
    "shop": _l("Shop"),
    "tokens": _l("API tokens"),
    "time": _l("Time and runs"),
}


def limit_upload():
    """App-level `before_request`, ahead of the CSRF check (which reads the form)."""
    if request.endpoint == "settings.upload_logo":
        request.max_content_length = LOGO_REQUEST_BYTES


def _translated(message: str, params: dict | None = None) -> str:
    """A ledger message (an English msgid with its values) in the user's language; values
    that are msgids themselves (a reason) are translated too."""
    values = {
        key: _(value) if isinstance(value, str) and value else value
        for key, value in (params or {}).items()
    }
    return _(message, **values)


def _problems(refused: settings.SettingsRefused) -> dict[str, str]:
    return {name: _translated(p.message, p.params) for name, p in refused.by_field.items()}


def _form_values(m) -> dict[str, str]:
    """The merchant's settings as the forms' inputs show them."""
    decimal_comma = str(get_locale()).startswith("de")

    def number(value) -> str:
        text = "" if value is None else str(value)
        return text.replace(".", ",") if decimal_comma else text

    values = {}
    for name in settings.PARSERS:
        value = getattr(m, name)
        if name in ("payment_tolerance", "discount_percent"):
            values[name] = number(value)
        elif name == "ignore_keywords":
            values[name] = "\n".join(value or [])
        elif isinstance(value, bool):
            values[name] = "on" if value else ""
        else:
            values[name] = "" if value is None else str(value)
    return values


def _context(**extra) -> dict:
    m = merchant()
    context = {
        "m": m,
        "labels": LABELS,
        "values": _form_values(m),
        "errors": {},
        "notices": {},
        "section_errors": {},
        "accounts": bank_accounts.accounts_of(m.id),
        "account_errors": {},
        "account_form": {},
        "tokens": settings.tokens(m),
        "new_token": None,
        "new_secret": None,
        "test": None,
        "countries": settings.countries(),
        "country_names": Locale.parse(str(get_locale())).territories,
        "first_countries": settings.FIRST_COUNTRIES,
        "timezones": settings.timezones(),
        "first_timezones": settings.FIRST_TIMEZONES,
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        "interest_bases": [(code, INTEREST_BASE_NAMES[code]) for code in INTEREST_BASES],
        "cancellation_notices": [
            (code, CANCELLATION_NOTICE_NAMES[code]) for code in settings.CANCELLATION_NOTICES
        ],
        "currencies": bank_accounts.CURRENCIES,
        "waiting": settings.waiting_orders(m.id),
        "house_currency": "CHF" if m.country in bank_accounts.SWISS else "EUR",
        "masked_secret": settings.masked(m.webhook_secret),
        "logo_kb": settings.LOGO_BYTES // 1024,
        "section_names": SECTION_NAMES,
    }
    context.update(extra)
    return context


def _answer(section: str, status: int = 200, **extra):
    """The section's block for htmx, the whole page otherwise; 422 when something was refused
    (then nothing was stored)."""
    response = render_page(TEMPLATE, section, status=status, **_context(**extra))
    response.headers["Cache-Control"] = "no-store"  # a new token or secret is on it once
    return response


@bp.get("/settings")
def page():
    response = render_page(TEMPLATE, "content", **_context())
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the plain sections --------------------------------------------------------------------


def _saved_notice(saved: settings.Saved) -> str:
    if not saved.changes:
        return _("Nothing changed.")
    names = ", ".join(str(LABELS.get(name, name)) for name in saved.changes)
    notice = _("Saved: %(fields)s.", fields=names)
    if "waiting" in saved.counts:
        notice += " " + ngettext(
            "The new terms apply to new orders; %(num)d open order keeps its own terms.",
            "The new terms apply to new orders; %(num)d open orders keep their own terms.",
            saved.counts["waiting"],
        )
    return notice


def _save_section(section: str):
    fields = settings.SECTIONS[section]
    raw = {name: request.form.get(name, "") for name in fields}
    try:
        saved = settings.update(merchant(), raw, actor(), section)
    except settings.SettingsRefused as refused:
        db.session.rollback()
        errors = _problems(refused)
        values = _form_values(merchant()) | raw
        return _answer(section, 422, errors=errors, values=values)
    db.session.commit()
    return _answer(section, notices={section: _saved_notice(saved)})


def _section_view(section: str):
    def view():
        return _save_section(section)

    view.__name__ = f"save_{section}"
    return view


for _section in settings.SECTIONS:
    bp.add_url_rule(
        f"/settings/{_section}", f"save_{_section}", _section_view(_section), methods=["POST"]
    )


# --- the logo ------------------------------------------------------------------------------


@bp.get("/settings/logo")
def logo():
    """The letterhead's logo, for every user of the merchant (Action.VIEW)."""
    m = merchant()
    if not m.logo:
        abort(404, _("No logo has been uploaded."))
    response = make_response(m.logo)
    response.headers["Content-Type"] = m.logo_type or "application/octet-stream"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.post("/settings/logo")
def upload_logo():
    upload = request.files.get("logo")
    data = upload.stream.read(settings.LOGO_BYTES + 1) if upload else b""
    try:
        settings.set_logo(merchant(), data, actor())
    except settings.SettingsRefused as refused:
        db.session.rollback()
        errors = _problems(refused)
        return _answer("company", 422, errors=errors)
    db.session.commit()
    return _answer("company", notices={"company": _("The logo was saved.")})


@bp.post("/settings/logo/remove")
def remove_logo():
    saved = settings.remove_logo(merchant(), actor())
    db.session.commit()
    notice = _("The logo was removed.") if saved.changes else _("There was no logo.")
    return _answer("company", notices={"company": notice})


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc):
    db.session.rollback()
    message = _("The logo may have at most %(size)s kB.", size=settings.LOGO_BYTES // 1024)
    if not current_user.is_authenticated:
        return message, 413
    return _answer("company", 413, errors={"logo": message})


# --- bank accounts -------------------------------------------------------------------------

ACCOUNT_FIELDS = ("iban", "holder", "bic", "bank_name", "currency", "qr_iban")


def _affects(count: int, currency: str) -> str:
    return ngettext(
        "Affects %(num)d open order in %(currency)s.",
        "Affects %(num)d open orders in %(currency)s.",
        count,
        currency=currency,
    )


def _account_refused(refused: settings.SettingsRefused, key: str, raw: dict):
    db.session.rollback()
    errors = _problems(refused)
    return _answer("bank", 422, account_errors={key: errors}, account_form={key: raw})


@bp.post("/settings/bank")
def add_account():
    raw = {name: request.form.get(name, "") for name in ACCOUNT_FIELDS}
    try:
        account, count = settings.add_account(merchant(), raw, actor())
    except settings.SettingsRefused as refused:
        return _account_refused(refused, "new", raw)
    db.session.commit()
    notice = (
        _("Account %(iban)s added.", iban=account.iban) + " " + _affects(count, account.currency)
    )
    return _answer("bank", notices={"bank": notice})


def _own_account(account_id: int):
    account = settings.own_account(merchant(), account_id)
    if account is None:
        abort(404, _("There is no such bank account."))
    return account


@bp.post("/settings/bank/<int:account_id>")
def edit_account(account_id: int):
    account = _own_account(account_id)
    raw = {name: request.form.get(name, "") for name in ACCOUNT_FIELDS if name != "iban"}
    try:
        changes, count = settings.update_account(merchant(), account, raw, actor())
    except settings.SettingsRefused as refused:
        return _account_refused(refused, account_id, raw)
    db.session.commit()
    if not changes:
        return _answer("bank", notices={"bank": _("Nothing changed.")})
    names = ", ".join(str(LABELS.get(name, name)) for name in changes)
    notice = _("Account %(iban)s saved: %(fields)s.", iban=account.iban, fields=names)
    return _answer("bank", notices={"bank": notice + " " + _affects(count, account.currency)})


@bp.post("/settings/bank/<int:account_id>/remove")
def remove_account(account_id: int):
    account = _own_account(account_id)
    iban, currency = account.iban, account.currency
    try:
        count = settings.remove_account(merchant(), account, actor())
    except settings.SettingsRefused as refused:
        db.session.rollback()
        return _answer("bank", 422, section_errors={"bank": " ".join(_problems(refused).values())})
    db.session.commit()
    notice = _("Account %(iban)s removed.", iban=iban) + " " + _affects(count, currency)
    return _answer("bank", notices={"bank": notice})


# --- the webhook's secret and test ---------------------------------------------------------


@bp.post("/settings/webhook/secret")
def webhook_secret():
    secret = settings.new_webhook_secret(merchant(), actor())
    db.session.commit()
    notice = _("A new signing secret was made; the old one no longer verifies.")
    return _answer("webhook", notices={"webhook": notice}, new_secret=secret)


@bp.post("/settings/webhook/test")
def webhook_test():
    m = merchant()
    if not m.webhook_url:
        message = _("Save a webhook URL first.")
        return _answer("webhook", 422, errors={"webhook_url": message})
    result = webhooks.send_test(
        m, private_addresses=current_app.config["WEBHOOK_PRIVATE_ADDRESSES"]
    )
    test = {
        "status": result.status,
        "ok": result.ok,
        "body": result.body,
        "seconds": result.seconds,
        "error": _translated(result.error, result.params) if result.error else None,
    }
    return _answer("webhook", test=test)


# --- API tokens ----------------------------------------------------------------------------


@bp.post("/settings/tokens")
def create_token():
    label = request.form.get("label", "")
    try:
        token, row = settings.create_token(merchant(), label, actor())
    except settings.SettingsRefused as refused:
        db.session.rollback()
        values = _form_values(merchant()) | {"label": label}
        return _answer("tokens", 422, errors=_problems(refused), values=values)
    db.session.commit()
    notice = _("Token “%(label)s” created.", label=row.label)
    return _answer("tokens", notices={"tokens": notice}, new_token=token)


@bp.post("/settings/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    row = settings.revoke_token(merchant(), token_id, actor())
    if row is None:
        abort(404, _("There is no such token."))
    db.session.commit()
    notice = _("Token %(prefix)s… revoked: the API refuses it from now on.", prefix=row.prefix)
    return _answer("tokens", notices={"tokens": notice})
