"""Order data changed by hand on the order page, and the order's payment terms.

An open order (unpaid, partially paid, overdue: the lifecycle's EDIT event) can get a new
customer email, amount, due date (the day dunning counts from, not the payment terms' due
date) and postal address. A field edited by hand stops following the shop: it is listed in
Order.manual_fields, and a later shop upsert that would change it is kept aside in
Order.shop_changes (ledger.orders.upsert_order) until someone accepts it here. The amount
changes only through the money ledger (lifecycle.change_amount). A new email or amount sends
the customer fresh payment information when the merchant wants it
(Merchant.payment_info_on_change).

Payment terms: net days and an optional Skonto (rate, days), the order's own or else the
merchant's. The Skonto becomes the order's discount_amount / discount_until, which the bank
matcher honours, unless the shop sent an explicit discount.

Additional payment info: extra payer names and extra numbers the bank matcher looks for
(the numbers are reference keys: re-indexed on every change)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from ledger import audit, lifecycle, messages, outbox, schemas
from ledger.bank import index
from ledger.db import db
from ledger.models import Merchant, Method, Order, utcnow

EDITABLE = ("customer_email", "amount", "due_on", "postal_address")
# A change of these sends fresh payment information (when the merchant wants it).
SENDS_PAYMENT_INFO = ("customer_email", "amount")
INFO_FIELDS = ("payer_names", "extra_references")
MAX_EXTRA = 10  # payer names, extra numbers: each at most this many
PAYER_NAME_MAX = 140
EXTRA_REFERENCE_MAX = 35
CENT = Decimal("0.01")


class EditRefused(ValueError):
    """Bad input: {field: code} for every bad field; nothing was stored. Codes: "invalid"
    (the value does not pass the API's rule for it), "due_before_order", "too_many", "unchanged",
    "no_shop_change"."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _email(value: str) -> str:
    return schemas.CustomerIn.model_validate(
        {"name": "x", "email": value, "country": "DE", "language": "de", "type": "b2c"}
    ).email


class EditIn(BaseModel):
    """The editable fields, by the API's own rules (ledger/schemas.py)."""

    model_config = ConfigDict(extra="forbid")

    customer_email: (
        Annotated[schemas.Text(schemas.EMAIL_MAX, "email"), AfterValidator(_email)] | None
    ) = None
    amount: schemas.Amount | None = None
    due_on: schemas.Day("due") | None = None
    postal_address: schemas.Text(schemas.ADDRESS_MAX, "address", lines=True) | None = None


def parse_edit(form: dict[str, str]) -> dict:
    """The form's non-empty fields, checked; {field: value}. An empty address clears it."""
    data = {k: v for k, v in form.items() if k in EDITABLE and v not in (None, "")}
    try:
        body = EditIn.model_validate(data)
    except (ValidationError, schemas.PydanticValidationError) as exc:
        raise EditRefused({str(e["loc"][0]): "invalid" for e in exc.errors()}) from None
    values = {k: getattr(body, k) for k in data}
    if "postal_address" in form and not form["postal_address"]:
        values["postal_address"] = None
    return values


def _text(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def edit_order(order: Order, values: dict, cause: lifecycle.Cause) -> dict[str, list]:
    """Apply the fields that differ; {field: [old, new]} (audited "order.edited"). Refused
    when the order is not open for edits, or nothing differs."""
    order = lifecycle.lock(order)
    reason = lifecycle.why_not(order, lifecycle.Event.EDIT)
    if reason:
        raise lifecycle.Refused(reason)
    due_on = values.get("due_on")
    if due_on is not None and due_on < order.ordered_on:
        raise EditRefused({"due_on": "due_before_order"})
    changes = {}
    for field, new in values.items():
        old = getattr(order, field)
        if old == new:
            continue
        changes[field] = [_text(old), _text(new)]
        if field == "amount":
            lifecycle.change_amount(order, new, cause)
            _derive_discount(order)
        else:
            setattr(order, field, new)
    if not changes:
        raise EditRefused({"form": "unchanged"})
    order.manual_fields = sorted(set(order.manual_fields or []) | set(changes))
    kept = dict(order.shop_changes or {})
    for field in changes:
        kept.pop(field, None)  # the hand's value wins over what the shop sent before
    order.shop_changes = kept
    lifecycle.refresh(order, cause)
    audit.record(order.merchant_id, cause.actor, "order.edited", order.id, **changes)
    if any(field in changes for field in SENDS_PAYMENT_INFO):
        send_payment_info(order, cause.actor)
    return changes


def accept_shop_change(order: Order, field: str, cause: lifecycle.Cause) -> list:
    """Apply the shop's value kept aside for `field`; the field follows the shop again.
    Like an edit, only while the order is open."""
    order = lifecycle.lock(order)
    reason = lifecycle.why_not(order, lifecycle.Event.EDIT)
    if reason:
        raise lifecycle.Refused(reason)
    kept = dict(order.shop_changes or {})
    if field not in kept:
        raise EditRefused({"field": "no_shop_change"})
    value = kept.pop(field)
    old = getattr(order, field)
    new = _shop_value(field, value)
    if field == "amount":
        lifecycle.change_amount(order, new, cause)
        _derive_discount(order)
    else:
        setattr(order, field, new)
    order.shop_changes = kept
    order.manual_fields = [f for f in (order.manual_fields or []) if f != field]
    lifecycle.refresh(order, cause)
    change = [_text(old), _text(new)]
    audit.record(
        order.merchant_id, cause.actor, "order.shop_change_accepted", order.id, **{field: change}
    )
    return change


def _shop_value(field: str, value):
    if value is None:
        return None
    if field == "amount":
        return Decimal(value)
    if field == "due_on":
        return date.fromisoformat(value)
    return value


def keep_aside(order: Order, field: str, new, actor: str) -> None:
    """The shop sent `new` for a field edited by hand: keep it aside (ledger.orders)."""
    value = _text(new)
    kept = dict(order.shop_changes or {})
    if kept.get(field, object()) == value:
        return
    kept[field] = value
    order.shop_changes = kept
    change = [_text(getattr(order, field)), value]
    audit.record(order.merchant_id, actor, "order.shop_change_ignored", order.id, **{field: change})


# --- payment terms -----------------------------------------------------------------------------


def terms_of(
    order: Order, merchant: Merchant | None = None
) -> tuple[int | None, Decimal | None, int | None]:
    """(net days, Skonto percent, Skonto days): the order's own terms, else the merchant's
    (whose net days are for invoice orders)."""
    if order.payment_days is not None or order.discount_percent is not None:
        return order.payment_days, order.discount_percent, order.discount_days
    merchant = merchant or order.merchant or db.session.get(Merchant, order.merchant_id)
    net = merchant.payment_days if order.payment_method == Method.INVOICE else None
    return net, merchant.discount_percent, merchant.discount_days


def discount_for(order: Order) -> tuple[Decimal | None, date | None]:
    """The Skonto the terms give the order: amount × (1 − rate) by order day + days."""
    _net, percent, days = terms_of(order)
    if not percent or days is None or order.amount is None:
        return None, None
    amount = (order.amount * (1 - percent / 100)).quantize(CENT, ROUND_HALF_UP)
    return amount, order.ordered_on + timedelta(days=days)


def _derive_discount(order: Order) -> None:
    """After a new amount: a discount from the terms follows it (an explicit one stays)."""
    if order.discount_percent is None and not terms_of(order)[1]:
        return
    order.discount_amount, order.discount_until = discount_for(order)


def apply_terms(order: Order, terms: dict | None, explicit_discount: bool) -> dict:
    """Store the order's own terms (the API's `payment_terms`) and derive its Skonto from
    the terms in force, unless the shop sent an explicit discount. Returns what changed."""
    changes = {}
    if terms is not None:
        for field, key in (
            ("payment_days", "net_days"),
            ("discount_percent", "discount_percent"),
            ("discount_days", "discount_days"),
        ):
            if getattr(order, field) != terms.get(key):
                changes[field] = _text(terms.get(key))
                setattr(order, field, terms.get(key))
    if not explicit_discount:
        amount, until = discount_for(order)
        if amount is not None and (order.discount_amount, order.discount_until) != (amount, until):
            order.discount_amount, order.discount_until = amount, until
            changes["discount_amount"] = str(amount)
            changes["discount_until"] = until.isoformat()
    return changes


PERCENT_WORDS = {
    "de": ("{days} Tage {percent} % Skonto", "{days} Tage netto"),
    "en": ("{percent}% discount within {days} days", "{days} days net"),
    "fr": ("escompte de {percent} % à {days} jours", "{days} jours net"),
    "it": ("sconto del {percent}% entro {days} giorni", "{days} giorni netto"),
}


def terms_text(order: Order, language: str) -> str | None:
    """ "14 Tage 2 % Skonto, 30 Tage netto" in the customer's language (None: no terms)."""
    net, percent, days = terms_of(order)
    lang = (language or "de")[:2]
    skonto, netto = PERCENT_WORDS.get(lang, PERCENT_WORDS["en"])
    parts = []
    if percent and days is not None:
        shown = f"{percent.normalize():f}"
        if lang != "en":
            shown = shown.replace(".", ",")
        parts.append(skonto.format(days=days, percent=shown))
    if net is not None:
        parts.append(netto.format(days=net))
    return ", ".join(parts) or None


# --- additional payment info ---------------------------------------------------------------


def _lines(text: str, most_chars: int, field: str) -> list[str]:
    seen: list[str] = []
    for line in (text or "").splitlines():
        line = " ".join(line.split())
        if line and line not in seen:
            if len(line) > most_chars or any(ord(c) < 32 for c in line):
                raise EditRefused({field: "invalid"})
            seen.append(line)
    if len(seen) > MAX_EXTRA:
        raise EditRefused({field: "too_many"})
    return seen


def parse_payment_info(payer_names: str, extra_references: str) -> tuple[list[str], list[str]]:
    """One name / number a line; blank lines and repeats dropped."""
    errors = {}
    names = refs = []
    try:
        names = _lines(payer_names, PAYER_NAME_MAX, "payer_names")
    except EditRefused as exc:
        errors |= exc.errors
    try:
        refs = _lines(extra_references, EXTRA_REFERENCE_MAX, "extra_references")
    except EditRefused as exc:
        errors |= exc.errors
    if errors:
        raise EditRefused(errors)
    return names, refs


def set_payment_info(order: Order, names: list[str], refs: list[str], cause: lifecycle.Cause):
    """New extra payer names and numbers (audited old → new); the numbers are re-indexed so
    the bank matcher finds the order by them."""
    order = lifecycle.lock(order)
    reason = lifecycle.why_not(order, lifecycle.Event.EDIT)
    if reason:
        raise lifecycle.Refused(reason)
    changes = {}
    old_names, old_refs = list(order.payer_names or []), list(order.extra_references or [])
    if old_names != names:
        changes["payer_names"] = [", ".join(old_names), ", ".join(names)]
        order.payer_names = names
    if old_refs != refs:
        changes["extra_references"] = [", ".join(old_refs), ", ".join(refs)]
        order.extra_references = refs
        index.index_order(order)
    if not changes:
        raise EditRefused({"form": "unchanged"})
    order.updated_at = utcnow()
    audit.record(order.merchant_id, cause.actor, "order.payment_info_changed", order.id, **changes)
    return changes


# --- fresh payment information -----------------------------------------------------------------


def send_payment_info(order: Order, actor: str):
    """Queue the customer's payment information (purpose "payment_info") when the merchant
    wants it after a change; None when not."""
    merchant = order.merchant or db.session.get(Merchant, order.merchant_id)
    if not merchant.payment_info_on_change or not order.customer_email:
        return None
    db.session.flush()  # the statement reads the new amount's entry
    mail = payment_info_mail(order, merchant)
    message = outbox.add_customer_mail(order, "payment_info", mail)
    db.session.flush()
    audit.record(order.merchant_id, actor, "order.payment_info_sent", order.id, message=message.id)
    return message


SUBJECTS = {
    "de": "Zahlungsinformationen zu Ihrer Bestellung {number}",
    "en": "Payment information for your order {number}",
    "fr": "Informations de paiement pour votre commande {number}",
    "it": "Informazioni di pagamento per l'ordine {number}",
}


def payment_info_mail(order: Order, merchant: Merchant) -> messages.Mail:
    """The payment information as the order stands now: templates/mail/payment_info.<lang>.jinja
    with the reminders' pieces (amounts, bank details, QR code)."""
    from ledger import customer_links
    from ledger.documents import locales, slips

    locale = locales.locale_for(order)
    lang = messages._lang(locales.language_of(locale))
    subject = SUBJECTS[lang].format(number=order.number)
    inline: dict[str, object] = {"logo": True} if merchant.logo else {}
    if slips.slip_for(order, merchant) is not None:
        inline["qr"] = str(order.statement.open)
    context = {
        "subject": subject,
        "locale": locale,
        "order": order,
        "merchant": merchant,
        "payment": messages.payment_details(order),
        "amounts": messages.amounts(order, locale),
        "due_on": messages.format_day(order.due_on, lang),
        "terms": terms_text(order, lang),
        "footer": messages.footer(merchant),
        "logo": "logo" in inline,
        "qr": "qr" in inline,
        "customer_link": customer_links.link_for(order),
    }
    return messages.render_mail("payment_info", lang, locale, subject, context, inline)
