"""The words of every message, composed when the decision is made and stored in the outbox."""

from __future__ import annotations

import base64
import re
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from flask import current_app, render_template
from jinja2 import Environment

from ledger.bank import accounts as bank_accounts
from ledger.bank import references
from ledger.models import LANGUAGES, Merchant, Order
from ledger.money import format_money

REMINDER_SUBJECTS = {
    "de": (
        "Zahlungserinnerung zu Ihrer Bestellung {number}",
        "{level}. Mahnung zu Bestellung {number}",
    ),
    "en": ("Payment reminder for your order {number}", "Reminder no. {level} for order {number}"),
    "fr": (
        "Rappel de paiement pour votre commande {number}",
        "{level}e rappel pour la commande {number}",
    ),
    "it": (
        "Promemoria di pagamento per l'ordine {number}",
        "{level}° sollecito per l'ordine {number}",
    ),
}
DIGEST_SUBJECTS = {
    "de": "Mahnwerk: {count} Bestellung(en) aus dem Mahnlauf vom {day}",
    "en": "Mahnwerk: {count} order(s) from the dunning run of {day}",
    "fr": "Mahnwerk : {count} commande(s) du traitement des relances du {day}",
    "it": "Mahnwerk: {count} ordine/i dal sollecito del {day}",
}


# What the digest's "what" column says a step did, in the merchant's language (the rules'
# own English words are rules.actions.SPECS[kind].done).
DONE_WORDS = {
    "de": {
        "remind": "erinnert",
        "cancel": "storniert",
        "mark_overdue": "als überfällig markiert",
        "notify": "benachrichtigt",
        "release_reservation": "Reservierung freigegeben",
        "hand_over_to_collection": "an das Inkasso übergeben",
        "charge_interest": "Zinsen berechnet",
        "send_webhook": "Webhook gesendet",
        "paid_after_cancellation": (
            "nach der Stornierung bezahlt: Bestellung reaktivieren oder Zahlung erstatten"
        ),
    },
    "en": {
        "remind": "reminded",
        "cancel": "cancelled",
        "mark_overdue": "marked overdue",
        "notify": "notified",
        "release_reservation": "reservation released",
        "hand_over_to_collection": "handed over to collection",
        "charge_interest": "interest charged",
        "send_webhook": "webhook sent",
        "paid_after_cancellation": (
            "paid after cancellation: reactivate the order or refund the payment"
        ),
    },
    "fr": {
        "remind": "relancé",
        "cancel": "annulé",
        "mark_overdue": "marqué en retard",
        "notify": "notifié",
        "release_reservation": "réservation libérée",
        "hand_over_to_collection": "transmis au recouvrement",
        "charge_interest": "intérêts facturés",
        "send_webhook": "webhook envoyé",
        "paid_after_cancellation": (
            "payé après l'annulation : réactiver la commande ou rembourser le paiement"
        ),
    },
    "it": {
        "remind": "sollecitato",
        "cancel": "annullato",
        "mark_overdue": "segnato come scaduto",
        "notify": "notificato",
        "release_reservation": "prenotazione liberata",
        "hand_over_to_collection": "affidato al recupero crediti",
        "charge_interest": "interessi addebitati",
        "send_webhook": "webhook inviato",
        "paid_after_cancellation": (
            "pagato dopo l'annullamento: riattivare l'ordine o rimborsare il pagamento"
        ),
    },
}


def done_word(kind: str, language: str | None) -> str:
    """The digest's word for what a step (or a payment after cancellation) did."""
    return DONE_WORDS[_lang(language)][kind]


def _lang(language: str | None) -> str:
    return language if language in LANGUAGES else "de"


def format_day(day: date, language: str) -> str:
    return day.strftime("%m/%d/%Y" if language == "en" else "%d.%m.%Y")


def amounts(order: Order, language: str) -> dict[str, str | None]:
    """The order's money itemised from its ledger, formatted (None for a zero line): the same
    figures the order page and the API show."""
    statement = order.statement

    def show(value: Decimal, always: bool = False) -> str | None:
        return format_money(value, order.currency, language) if value or always else None

    return {
        "principal": show(statement.principal, always=True),
        "fees": show(statement.fees),
        "interest": show(statement.interest),
        "paid": show(statement.paid),
        "open": show(statement.open, always=True),
    }


def payment_details(order: Order) -> dict | None:
    """Where and how the customer pays: the account for the order's currency and country, and
    the structured reference a payment is matched by (a QR-IBAN with a QR reference for Swiss
    QR-bills, else the IBAN with the RF creditor reference)."""
    account = bank_accounts.for_order(order)
    if account is None:
        return None
    reference = order.payment_reference
    qr = bool(reference and reference.isdigit() and account.qr_iban)
    return {
        "holder": account.holder,
        "iban": format_iban(account.qr_iban if qr else account.iban),
        "bic": account.bic,
        "bank_name": account.bank_name,
        "reference": (
            references.format_qr_reference(reference)
            if qr
            else references.format_creditor_reference(reference)
            if reference
            else order.number
        ),
    }


def format_iban(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


class Mail(NamedTuple):
    """A customer mail as composed: its text and HTML parts from one template, and the inline
    images (Content-IDs) the HTML refers to, made when the mail is sent (`inline_images`):
    {"logo": True, "qr": "<the open amount the mail states>"}, so the code asks for the amount
    the words do, whatever was paid in between."""

    subject: str
    body: str
    html: str
    inline: dict[str, object]


def reminder(
    order: Order, merchant: Merchant, level: int, fee: Decimal | None, reminded_before: bool
) -> Mail:
    """A reminder of `level` as the order stands now. Its words follow the order's real
    history: "despite our reminder" only when an earlier reminder went out. One template per
    language (templates/mail/reminder.<lang>.jinja) gives both parts; Swiss German writes
    no ß, and money as the order's locale writes it."""
    from ledger import customer_links, order_edits
    from ledger.documents import locales, slips

    locale = locales.locale_for(order)
    lang = _lang(locales.language_of(locale))
    first, later = REMINDER_SUBJECTS[lang]
    subject = (later if reminded_before and level > 1 else first).format(
        number=order.number, level=level
    )
    inline: dict[str, object] = {"logo": True} if merchant.logo else {}
    if slips.slip_for(order, merchant) is not None:
        inline["qr"] = str(order.statement.open)
    context = {
        "subject": subject,
        "locale": locale,
        "order": order,
        "merchant": merchant,
        "payment": payment_details(order),
        "level": level,
        "reminded_before": reminded_before,
        "fee": format_money(fee, order.currency, locale) if fee else None,
        "amounts": amounts(order, locale),
        "ordered_on": format_day(order.ordered_on, lang),
        "due_on": format_day(order.due_on, lang),
        "terms": order_edits.terms_text(order, lang),  # the payment terms' line
        "footer": footer(merchant),
        "logo": "logo" in inline,
        "qr": "qr" in inline,
        "customer_link": customer_links.link_for(order),  # the customer page (no login)
    }
    return render_mail("reminder", lang, locale, subject, context, inline)


def render_mail(
    kind: str, lang: str, locale: str, subject: str, context: dict, inline: dict
) -> Mail:
    """The text and HTML parts of templates/mail/<kind>.<lang>.jinja (one template renders
    both); Swiss German (de-CH) writes no ß."""
    from ledger.documents import locales

    name = f"mail/{kind}.{lang}.jinja"
    body = _tidy(_mail_env(html=False).get_template(name).render(html=False, **context))
    html = _mail_env(html=True).get_template(name).render(html=True, **context)
    if locale == "de-CH":
        subject, body, html = locales.swiss(subject), locales.swiss(body), locales.swiss(html)
    return Mail(subject, body, html, inline)


def html_for_viewing(message, merchant: Merchant) -> str:
    """A mail's HTML part with its inline images as data: URIs, for viewing outside a mail
    client (the outbox's View, a browser): cid:qr and cid:logo made as for sending."""
    html = message.html or ""
    for cid, (data, media_type) in inline_images(message, merchant).items():
        uri = f"data:{media_type};base64,{base64.b64encode(data).decode()}"
        html = html.replace(f'src="cid:{cid}"', f'src="{uri}"')
    return html


PDF_NAMES = {"de": "Zahlungserinnerung", "en": "Reminder", "fr": "Rappel", "it": "Sollecito"}


def attachment_name(order: Order) -> str:
    """The file name of a reminder's PDF attachment, in the order's language."""
    word = PDF_NAMES[_lang(order.language)]
    return f"{word}-{order.number}.pdf".replace("/", "-")


def footer(merchant: Merchant) -> list[str]:
    """The foot of a customer mail: who writes (legal name, address, register, VAT id), when
    the merchant set more than its name."""
    lines = [
        *(merchant.company_address or "").splitlines(),
        merchant.register_number,
        merchant.vat_id,
        merchant.managing_directors,
    ]
    lines = [line.strip() for line in lines if line and line.strip()]
    return [merchant.company_name or merchant.name, *lines] if lines else []


def _mail_env(html: bool) -> Environment:
    """The app's templates, autoescaped for the HTML part and not for the text part. Each has
    its own cache: a template compiled without escaping must never serve the HTML part."""
    envs = current_app.extensions.setdefault("mahnwerk_mail_envs", {})
    if html not in envs:
        envs[html] = current_app.jinja_env.overlay(autoescape=html, cache_size=50)
    return envs[html]


def _tidy(text: str) -> str:
    """The text part without trailing spaces and with at most one blank line in a row."""
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def inline_images(message, merchant: Merchant) -> dict[str, tuple[bytes, str]]:
    """The images a customer mail's HTML names by Content-ID (cid → (bytes, media type)), made
    now from the order and the merchant: the payment slip's QR code and the logo. An image
    whose source is gone (the order erased, no account, the logo removed) is left out."""
    from ledger.documents import slips

    wanted = (message.payload or {}).get("inline") or []
    images = {}
    if "logo" in wanted and merchant.logo:
        images["logo"] = (merchant.logo, merchant.logo_type or "image/png")
    order = message.order
    if "qr" in wanted and order is not None:
        stated = wanted.get("qr") if isinstance(wanted, dict) else None
        slip = slips.slip_for(order, merchant, Decimal(stated) if stated else None)
        if slip is not None:
            images["qr"] = (slips.qr_png(slip), "image/png")
    return images


def digest(
    merchant: Merchant, day: date, rows: list[dict], total: int | None = None
) -> tuple[str, str]:
    """rows: number, customer, amount, days_unpaid, what (the actions the step took). With
    `total` above len(rows), the body lists these and says the attachment has all `total`."""
    lang = _lang(merchant.language)
    total = len(rows) if total is None else total
    subject = DIGEST_SUBJECTS[lang].format(count=total, day=format_day(day, lang))
    body = render_template(
        f"mail/digest.{lang}.txt",
        merchant=merchant,
        day=format_day(day, lang),
        rows=rows,
        total=total,
    )
    return subject, body
