"""The customer page behind the personal link of every payment request and reminder (no login;
ledger/customer_links.py): what is open, how to pay, "I have already paid" (ledger/claims.py)
and, when a refund waits for them, the customer's bank details. In the order's language (de,
de-AT, de-CH, en, fr, it) with its own words (WORDS), not the portal's catalog: the customer is
not a portal user. Rate-limited per link and client address (ledger/throttle.py's
allow_request); an expired or forged link says so and nothing else.

Also the team's side, behind the login: a claim's proof to download (the merchant's own only,
as an attachment of its stored type, never shown inline).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date

from flask import Blueprint, Flask, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge

from ledger import claims, clock, customer_links, lifecycle, messages, refunds, throttle
from ledger.db import db
from ledger.documents import locales, slips
from ledger.models import Merchant, Order, PaymentClaim
from portal.auth import require_login
from portal.ui import abort

bp = Blueprint("customer", __name__)
team = Blueprint("claims", __name__)
team.before_request(require_login)

VIEWS_PER_WINDOW = 30  # page views per link and client address in throttle.WINDOW (15 min)
POSTS_PER_WINDOW = 5  # forms sent per link and client address in the same window
ADDRESS_FACTOR = 4  # one client address over all links: four times as many
# The request may carry the largest proof and the form around it; a bigger proof still gets
# its refusal under the field, only a far bigger request is cut off (413).
REQUEST_BYTES = claims.MAX_PROOF_BYTES + 1024 * 1024
FORM_ENDPOINTS = ("customer.claim", "customer.refund_details")

WORDS: dict[str, dict[str, str]] = {
    "de": {
        "title": "Ihre Bestellung {number}",
        "from": "bei {merchant}",
        "open_title": "Was offen ist",
        "principal": "Bestellbetrag",
        "fees": "Mahngebühren",
        "interest": "Verzugszinsen",
        "paid": "Bereits gezahlt",
        "open": "Offener Betrag",
        "pay_title": "So bezahlen Sie",
        "holder": "Kontoinhaber",
        "iban": "IBAN",
        "bic": "BIC",
        "bank": "Bank",
        "reference": "Verwendungszweck",
        "reference_hint": "Bitte geben Sie den Verwendungszweck genau so an.",
        "qr_alt": "QR-Code zum Bezahlen",
        "qr_hint": "Mit Ihrer Banking-App scannen",
        "no_account": "Bitte wenden Sie sich für die Bankverbindung an {merchant}.",
        "claim_title": "Ich habe bereits bezahlt",
        "claim_intro": "Sagen Sie uns, wann Sie bezahlt haben: Bis die Zahlung bei uns eingeht, "
        "erhalten Sie keine weitere Mahnung.",
        "paid_on": "Bezahlt am",
        "note": "Nachricht (freiwillig)",
        "proof": "Beleg (freiwillig): PDF, JPEG oder PNG, höchstens 5 MB",
        "send": "Zahlung melden",
        "thanks": "Danke! Wir haben Ihre Meldung einer Zahlung vom {day} erhalten und "
        "gleichen sie mit unseren Kontoauszügen ab.",
        "change": "Meldung ändern",
        "refund_title": "Ihre Bankverbindung für die Erstattung",
        "refund_intro": "Wir erstatten Ihnen {amount}. Bitte nennen Sie uns Ihr Konto.",
        "payee": "Kontoinhaber",
        "refund_send": "Bankverbindung senden",
        "refund_thanks": "Danke! Wir haben Ihre Bankverbindung erhalten.",
        "paid_on_missing": "Bitte geben Sie das Datum an, an dem Sie bezahlt haben.",
        "paid_on_future": "Das Datum liegt in der Zukunft.",
        "paid_on_before_order": "Das Datum liegt vor der Bestellung ({day}).",
        "note_too_long": "Die Nachricht ist zu lang (höchstens {limit} Zeichen).",
        "proof_too_big": "Die Datei ist zu groß: höchstens 5 MB.",
        "proof_type": "Die Datei ist kein PDF, JPEG oder PNG.",
        "order_closed": "Für diese Bestellung ist nichts mehr offen.",
        "refund_payee": "Bitte geben Sie den Kontoinhaber an (höchstens 70 Zeichen).",
        "refund_iban": "Diese IBAN ist nicht gültig.",
        "refund_iban_sepa": "Diese IBAN liegt nicht im SEPA-Raum.",
        "refund_bic": "Dieser BIC ist nicht gültig.",
        "refund_state": "Die Bankverbindung für diese Erstattung liegt uns bereits vor.",
        "nothing_stored": "Es wurde nichts gespeichert.",
        "forged_title": "Link ungültig",
        "forged": "Dieser Link ist ungültig. Bitte verwenden Sie den Link aus unserer "
        "letzten Nachricht.",
        "expired_title": "Link abgelaufen",
        "expired": "Dieser Link ist abgelaufen. Bitte verwenden Sie den Link aus unserer "
        "letzten Nachricht.",
        "closed": "Für diese Bestellung ist nichts mehr offen. Vielen Dank!",
        "limited_title": "Zu viele Anfragen",
        "limited": "Zu viele Anfragen über diesen Link. Bitte versuchen Sie es in einer "
        "Viertelstunde noch einmal.",
        "too_big_title": "Datei zu groß",
        "too_big": "Die Datei ist zu groß: höchstens 5 MB. Es wurde nichts gespeichert.",
        "form_title": "Formular abgelaufen",
        "form_expired": "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu; es wurde "
        "nichts gespeichert.",
    },
    "en": {
        "title": "Your order {number}",
        "from": "with {merchant}",
        "open_title": "What is open",
        "principal": "Order amount",
        "fees": "Reminder fees",
        "interest": "Default interest",
        "paid": "Already paid",
        "open": "Amount due",
        "pay_title": "How to pay",
        "holder": "Account holder",
        "iban": "IBAN",
        "bic": "BIC",
        "bank": "Bank",
        "reference": "Payment reference",
        "reference_hint": "Please give the payment reference exactly like this.",
        "qr_alt": "QR code for the payment",
        "qr_hint": "Scan with your banking app",
        "no_account": "Please ask {merchant} for the bank details.",
        "claim_title": "I have already paid",
        "claim_intro": "Tell us when you paid: until the payment reaches us, you get no "
        "further reminder.",
        "paid_on": "Paid on",
        "note": "Message (optional)",
        "proof": "Proof (optional): PDF, JPEG or PNG, at most 5 MB",
        "send": "Report payment",
        "thanks": "Thank you! We have your message of a payment on {day} and check it "
        "against our bank statements.",
        "change": "Change your message",
        "refund_title": "Your bank details for the refund",
        "refund_intro": "We refund {amount} to you. Please tell us your account.",
        "payee": "Account holder",
        "refund_send": "Send bank details",
        "refund_thanks": "Thank you! We have your bank details.",
        "paid_on_missing": "Please give the date you paid on.",
        "paid_on_future": "The date is in the future.",
        "paid_on_before_order": "The date is before the order ({day}).",
        "note_too_long": "The message is too long (at most {limit} characters).",
        "proof_too_big": "The file is too big: at most 5 MB.",
        "proof_type": "The file is not a PDF, JPEG or PNG.",
        "order_closed": "Nothing is open for this order any more.",
        "refund_payee": "Please give the account holder (at most 70 characters).",
        "refund_iban": "This IBAN is not valid.",
        "refund_iban_sepa": "This IBAN is not in the SEPA area.",
        "refund_bic": "This BIC is not valid.",
        "refund_state": "We have the bank details for this refund already.",
        "nothing_stored": "Nothing was stored.",
        "forged_title": "Link not valid",
        "forged": "This link is not valid. Please use the link in our latest message.",
        "expired_title": "Link expired",
        "expired": "This link has expired. Please use the link in our latest message.",
        "closed": "Nothing is open for this order any more. Thank you!",
        "limited_title": "Too many requests",
        "limited": "Too many requests through this link. Please try again in a quarter of an hour.",
        "too_big_title": "File too big",
        "too_big": "The file is too big: at most 5 MB. Nothing was stored.",
        "form_title": "Form expired",
        "form_expired": "The form has expired. Please reload the page; nothing was stored.",
    },
    "fr": {
        "title": "Votre commande {number}",
        "from": "chez {merchant}",
        "open_title": "Ce qui reste à payer",
        "principal": "Montant de la commande",
        "fees": "Frais de rappel",
        "interest": "Intérêts de retard",
        "paid": "Déjà payé",
        "open": "Montant dû",
        "pay_title": "Comment payer",
        "holder": "Titulaire du compte",
        "iban": "IBAN",
        "bic": "BIC",
        "bank": "Banque",
        "reference": "Référence de paiement",
        "reference_hint": "Veuillez indiquer la référence exactement ainsi.",
        "qr_alt": "Code QR pour le paiement",
        "qr_hint": "À scanner avec votre application bancaire",
        "no_account": "Veuillez demander les coordonnées bancaires à {merchant}.",
        "claim_title": "J'ai déjà payé",
        "claim_intro": "Indiquez-nous quand vous avez payé : jusqu'à réception du paiement, "
        "vous ne recevrez plus de rappel.",
        "paid_on": "Payé le",
        "note": "Message (facultatif)",
        "proof": "Justificatif (facultatif) : PDF, JPEG ou PNG, 5 Mo au plus",
        "send": "Signaler le paiement",
        "thanks": "Merci ! Nous avons reçu votre message d'un paiement du {day} et le "
        "vérifions avec nos relevés bancaires.",
        "change": "Modifier votre message",
        "refund_title": "Vos coordonnées bancaires pour le remboursement",
        "refund_intro": "Nous vous remboursons {amount}. Veuillez nous indiquer votre compte.",
        "payee": "Titulaire du compte",
        "refund_send": "Envoyer les coordonnées",
        "refund_thanks": "Merci ! Nous avons reçu vos coordonnées bancaires.",
        "paid_on_missing": "Veuillez indiquer la date du paiement.",
        "paid_on_future": "La date est dans le futur.",
        "paid_on_before_order": "La date est antérieure à la commande ({day}).",
        "note_too_long": "Le message est trop long ({limit} caractères au plus).",
        "proof_too_big": "Le fichier est trop volumineux : 5 Mo au plus.",
        "proof_type": "Le fichier n'est ni un PDF, ni un JPEG, ni un PNG.",
        "order_closed": "Plus rien n'est dû pour cette commande.",
        "refund_payee": "Veuillez indiquer le titulaire du compte (70 caractères au plus).",
        "refund_iban": "Cet IBAN n'est pas valable.",
        "refund_iban_sepa": "Cet IBAN n'est pas dans la zone SEPA.",
        "refund_bic": "Ce BIC n'est pas valable.",
        "refund_state": "Nous avons déjà les coordonnées bancaires pour ce remboursement.",
        "nothing_stored": "Rien n'a été enregistré.",
        "forged_title": "Lien non valable",
        "forged": "Ce lien n'est pas valable. Veuillez utiliser le lien de notre dernier message.",
        "expired_title": "Lien expiré",
        "expired": "Ce lien a expiré. Veuillez utiliser le lien de notre dernier message.",
        "closed": "Plus rien n'est dû pour cette commande. Merci !",
        "limited_title": "Trop de demandes",
        "limited": "Trop de demandes par ce lien. Veuillez réessayer dans un quart d'heure.",
        "too_big_title": "Fichier trop volumineux",
        "too_big": "Le fichier est trop volumineux : 5 Mo au plus. Rien n'a été enregistré.",
        "form_title": "Formulaire expiré",
        "form_expired": "Le formulaire a expiré. Veuillez recharger la page ; rien n'a été "
        "enregistré.",
    },
    "it": {
        "title": "Il Suo ordine {number}",
        "from": "presso {merchant}",
        "open_title": "Che cosa è aperto",
        "principal": "Importo dell'ordine",
        "fees": "Spese di sollecito",
        "interest": "Interessi di mora",
        "paid": "Già pagato",
        "open": "Importo dovuto",
        "pay_title": "Come pagare",
        "holder": "Intestatario del conto",
        "iban": "IBAN",
        "bic": "BIC",
        "bank": "Banca",
        "reference": "Causale",
        "reference_hint": "Indichi la causale esattamente così.",
        "qr_alt": "Codice QR per il pagamento",
        "qr_hint": "Scansioni con la Sua app bancaria",
        "no_account": "Chieda le coordinate bancarie a {merchant}.",
        "claim_title": "Ho già pagato",
        "claim_intro": "Ci dica quando ha pagato: finché il pagamento non ci arriva, non "
        "riceverà altri solleciti.",
        "paid_on": "Pagato il",
        "note": "Messaggio (facoltativo)",
        "proof": "Ricevuta (facoltativa): PDF, JPEG o PNG, al massimo 5 MB",
        "send": "Segnala il pagamento",
        "thanks": "Grazie! Abbiamo ricevuto la Sua segnalazione di un pagamento del {day} e "
        "la verifichiamo con i nostri estratti conto.",
        "change": "Modifica la segnalazione",
        "refund_title": "Le Sue coordinate bancarie per il rimborso",
        "refund_intro": "Le rimborsiamo {amount}. Ci indichi il Suo conto.",
        "payee": "Intestatario del conto",
        "refund_send": "Invia le coordinate",
        "refund_thanks": "Grazie! Abbiamo ricevuto le Sue coordinate bancarie.",
        "paid_on_missing": "Indichi la data del pagamento.",
        "paid_on_future": "La data è nel futuro.",
        "paid_on_before_order": "La data è precedente all'ordine ({day}).",
        "note_too_long": "Il messaggio è troppo lungo (al massimo {limit} caratteri).",
        "proof_too_big": "Il file è troppo grande: al massimo 5 MB.",
        "proof_type": "Il file non è un PDF, JPEG o PNG.",
        "order_closed": "Per questo ordine non c'è più nulla di aperto.",
        "refund_payee": "Indichi l'intestatario del conto (al massimo 70 caratteri).",
        "refund_iban": "Questo IBAN non è valido.",
        "refund_iban_sepa": "Questo IBAN non è nell'area SEPA.",
        "refund_bic": "Questo BIC non è valido.",
        "refund_state": "Abbiamo già le coordinate bancarie per questo rimborso.",
        "nothing_stored": "Non è stato salvato nulla.",
        "forged_title": "Link non valido",
        "forged": "Questo link non è valido. Usi il link del nostro ultimo messaggio.",
        "expired_title": "Link scaduto",
        "expired": "Questo link è scaduto. Usi il link del nostro ultimo messaggio.",
        "closed": "Per questo ordine non c'è più nulla di aperto. Grazie!",
        "limited_title": "Troppe richieste",
        "limited": "Troppe richieste tramite questo link. Riprovi tra un quarto d'ora.",
        "too_big_title": "File troppo grande",
        "too_big": "Il file è troppo grande: al massimo 5 MB. Non è stato salvato nulla.",
        "form_title": "Modulo scaduto",
        "form_expired": "Il modulo è scaduto. Ricarichi la pagina; non è stato salvato nulla.",
    },
}


def words_for(locale: str) -> dict[str, str]:
    """The page's words in the locale (Swiss German writes no ß)."""
    words = WORDS.get(locales.language_of(locale), WORDS["de"])
    if locale == "de-CH":
        return {key: locales.swiss(value) for key, value in words.items()}
    return words


def limit_upload():
    """App-level `before_request`, ahead of the CSRF check (which reads the form)."""
    if request.endpoint in FORM_ENDPOINTS:
        request.max_content_length = REQUEST_BYTES


def _plain(status: int, locale: str, title: str, text: str):
    """A plain page that says one thing (a link that opens nothing, too many requests)."""
    words = words_for(locale)
    page = render_template(
        "customer/message.html", locale=locale, title=words[title], text=words[text]
    )
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _limited(token: str, kind: str, limit: int) -> bool:
    """Counts this request for the link and the client address; True when over the limit."""
    digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:32]
    address = request.remote_addr
    allowed = throttle.allow_request(f"customer:{kind}:{digest}:{address}", limit)
    # and per address over all links, so that made-up links cannot dodge the count
    allowed = (
        throttle.allow_request(f"customer:{kind}:{address}", limit * ADDRESS_FACTOR) and allowed
    )
    db.session.commit()
    return not allowed


def _open(token: str, kind: str, limit: int) -> tuple[Order | None, object]:
    """The link's order, or the answer to give instead (429, 404 forged, 410 expired)."""
    if _limited(token, kind, limit):
        return None, _plain(429, _locale_of(token), "limited_title", "limited")
    try:
        return customer_links.resolve(token), None
    except customer_links.LinkError as exc:
        locale = locales.locale_for(exc.order) if exc.order is not None else "de"
        if exc.kind == "expired":
            text = "closed" if exc.closed else "expired"
            return None, _plain(410, locale, "expired_title", text)
        return None, _plain(404, locale, "forged_title", "forged")


def _qr_uri(order: Order, merchant: Merchant) -> str | None:
    slip = slips.slip_for(order, merchant)
    if slip is None:
        return None
    return "data:image/png;base64," + base64.b64encode(slips.qr_png(slip)).decode()


def _render(order: Order, token: str, status: int = 200, **extra):
    merchant = order.merchant or db.session.get(Merchant, order.merchant_id)
    locale = locales.locale_for(order)
    words = words_for(locale)
    found = claims.open_claim(order)
    refund = customer_links.refund_awaiting_details(order)
    context = {
        "locale": locale,
        "w": words,
        "token": token,
        "order": order,
        "merchant": merchant,
        "amounts": messages.amounts(order, locale),
        "payment": messages.payment_details(order),
        "qr": _qr_uri(order, merchant),
        "claim": found,
        "claimed_day": locales.day(found.paid_on, locale) if found else None,
        "can_claim": lifecycle.can(order, "claim_paid"),
        "refund": refund,
        "refund_amount": (
            locales.money(refund.amount, refund.currency, locale) if refund else None
        ),
        "today": clock.today_for(merchant).isoformat(),
        "errors": {},
        "form": {},
        **extra,
    }
    if locale == "de-CH" and context["payment"]:
        context["payment"] = {
            k: locales.swiss(v) if isinstance(v, str) else v for k, v in context["payment"].items()
        }
    response = make_response(render_template("customer/page.html", **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/c/<token>")
def page(token: str):
    order, answer = _open(token, "view", VIEWS_PER_WINDOW)
    if order is None:
        return answer
    return _render(order, token, done=request.args.get("done"))


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


@bp.post("/c/<token>/claim")
def claim(token: str):
    order, answer = _open(token, "post", POSTS_PER_WINDOW)
    if order is None:
        return answer
    form = request.form
    upload = request.files.get("proof")
    proof = upload.read(claims.MAX_PROOF_BYTES + 1) if upload and upload.filename else None
    paid_on = _day(form.get("paid_on", ""))
    note = form.get("note", "")[: claims.MAX_NOTE + 1]
    try:
        lifecycle.retrying(
            lambda: claims.claim(
                order, paid_on, note, proof, upload.filename if upload else None, claims.CUSTOMER
            )
        )
    except claims.ClaimRefused as exc:
        db.session.rollback()
        words = words_for(locales.locale_for(order))
        params = dict(exc.params)
        if "ordered_on" in params:
            params["day"] = locales.day(params.pop("ordered_on"), locales.locale_for(order))
        text = words[exc.code].format(**params) + " " + words["nothing_stored"]
        field = exc.field or "form"
        values = {"paid_on": form.get("paid_on", ""), "note": note}
        return _render(order, token, 422, errors={field: text}, form=values)
    return redirect(url_for("customer.page", token=token, done="claim"), 303)


@bp.post("/c/<token>/refund")
def refund_details(token: str):
    order, answer = _open(token, "post", POSTS_PER_WINDOW)
    if order is None:
        return answer
    refund = customer_links.refund_awaiting_details(order)
    if refund is None:
        return _plain(410, locales.locale_for(order), "expired_title", "closed")
    form = request.form
    iban, bic = form.get("iban", "")[:64], form.get("bic", "")[:16]
    payee = form.get("payee", "")[:140]
    try:
        lifecycle.retrying(lambda: refunds.give_details(refund, iban, bic, payee, claims.CUSTOMER))
    except refunds.RefundRefused as exc:
        db.session.rollback()
        words = words_for(locales.locale_for(order))
        text = words.get(exc.code, words["refund_state"]) + " " + words["nothing_stored"]
        field = exc.field if exc.field in ("payee", "iban", "bic") else "refund"
        values = {"iban": iban, "bic": bic, "payee": payee}
        return _render(order, token, 422, errors={field: text}, form=values)
    return redirect(url_for("customer.page", token=token, done="refund"), 303)


def _locale_of(token: str) -> str:
    """The link's order's locale for an answer without the page (German when it has none)."""
    try:
        return locales.locale_for(customer_links.resolve(token))
    except customer_links.LinkError as exc:
        return locales.locale_for(exc.order) if exc.order is not None else "de"


@bp.errorhandler(RequestEntityTooLarge)
def _too_big(_exc):
    locale = _locale_of((request.view_args or {}).get("token", ""))
    return _plain(413, locale, "too_big_title", "too_big")


@bp.errorhandler(CSRFError)
def _form_expired(_exc):
    locale = _locale_of((request.view_args or {}).get("token", ""))
    return _plain(400, locale, "form_title", "form_expired")


# --- the team's side --------------------------------------------------------------------------


@team.get("/orders/<number>/claims/<int:claim_id>/proof")
def proof(number: str, claim_id: int):
    """The claim's proof as a download of its stored type (the merchant's own only)."""
    found = db.session.get(PaymentClaim, claim_id)
    if found is None or found.merchant_id != current_user.merchant_id:
        abort(404)
    order = db.session.get(Order, found.order_id)
    if order.number != number or not found.proof:
        abort(404)
    response = make_response(found.proof)
    response.headers["Content-Type"] = found.proof_type or "application/octet-stream"
    name = found.proof_name or f"proof.{claims.EXTENSIONS.get(found.proof_type, 'bin')}"
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "")
    response.headers["Content-Disposition"] = f'attachment; filename="{ascii_name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def claims_for(order: Order) -> dict:
    """For the order page's claims section (a template global): the order's claims and the
    customer link for the team to copy."""
    return {
        "claims": claims.claims_of(order),
        "link": customer_links.link_for(order) if order.erased_at is None else None,
    }


def register(app: Flask) -> None:
    app.before_request(limit_upload)
    app.register_blueprint(bp)
    app.register_blueprint(team)
    app.add_template_global(claims_for, "payment_claims")
