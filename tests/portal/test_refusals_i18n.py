"""The ledger's and the rules checker's English, shown in German: every refusal code, every
reason the bank matcher can store, every checker message and syntax error (and every word for
what the parser expected) has a German text, with the same values; and the pages show them
translated."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from ledger import notes, refusals
from ledger.bank import matching, scoring
from ledger.models import Status, TransactionState
from portal import reasons, rules_text
from rules import evaluator
from rules.messages import EXPECTED, MESSAGES
from tests.portal.conftest import PORTAL_RULES, Portal, order_body
from tests.portal.test_i18n import CATALOG
from tests.portal.test_portal_bank import SUGGESTED, imported, text, upload

FIELD = re.compile(r"\{(\w+)[^}]*\}")
PERCENT = re.compile(r"%\((\w+)\)s")


@pytest.fixture(scope="module")
def german():
    with CATALOG.open("rb") as f:
        # keyed by msgid, or (context, msgid) for the few texts with a context
        return {
            (m.context, m.id) if m.context else m.id: m.string
            for m in read_po(f, locale="de")
            if m.id and not m.fuzzy
        }


def _key(lazy) -> tuple[str, str]:
    """A lazy text's msgid, and its key in `german` (lazy_pgettext has a context first)."""
    if len(lazy._args) == 2:
        context, msgid = lazy._args
        return msgid, (context, msgid)
    return lazy._args[0], lazy._args[0]


def _as_msgid(template: str) -> str:
    """The ledger's str.format template as the portal's msgid ({x!r} → '%(x)s')."""
    text = re.sub(r"\{(\w+)!r\}", r"'%(\1)s'", template)
    text = re.sub(r"\{(\w+)(:[^}]*)?\}", r"%(\1)s", text)
    return re.sub(r"(\d) %(?![(%])", r"\1 %%", text)  # "100 %", "5 %": a percent sign


def _same_values(english: str, translated: str) -> bool:
    return set(PERCENT.findall(english)) == set(PERCENT.findall(translated))


@pytest.mark.parametrize(
    ("source", "portal_texts"),
    [
        (refusals.TEXTS, reasons.REFUSALS),
        (matching.STATE_REASONS, reasons.STATE_REASONS),
        (MESSAGES, rules_text.MESSAGES),
        (notes.TEXTS, reasons.NOTES),
        (evaluator.DEFERRALS, reasons.DEFERRALS),
        (EXPECTED, rules_text.EXPECTED),
    ],
    ids=[
        "refusals",
        "bank-state-reasons",
        "rules-checker",
        "ledger-notes",
        "deferrals",
        "rules-syntax-expected",
    ],
)
def test_every_code_has_the_english_text_and_a_german_one(source, portal_texts, german):
    assert set(portal_texts) == set(source)  # a new code without its text fails here
    for code, template in source.items():
        msgid, key = _key(portal_texts[code])
        assert msgid == _as_msgid(template), code  # the portal's English is the ledger's
        assert german.get(key), code
        assert _same_values(msgid, german[key]), code


@pytest.mark.parametrize(
    ("vocabulary", "portal_texts"),
    [(scoring.REASONS, reasons.MATCH_REASONS), (scoring.DECISION_REASONS, reasons.DECISIONS)],
    ids=["suggestion-reasons", "decisions"],
)
def test_every_reason_the_scorer_gives_has_a_german_text(vocabulary, portal_texts, german):
    assert set(portal_texts) == set(vocabulary)
    for reason in vocabulary:
        assert portal_texts[reason]._args[0] == reason
        assert german.get(reason) and german[reason] != reason, reason


def test_stored_reasons_are_read_back_and_translated(app):
    values = {  # every template takes the values it names
        "keyword": "PayPal",
        "reason": refusals.Refusal("status", status=Status.WRITTEN_OFF),
        "bank_code": "AC04",
        "count": 3,
        "actor": "user:a@b.de",
        "note": "Privat: Miete",
    }
    with app.test_request_context(), force_locale("de"):
        for code in matching.STATE_REASONS:
            stored = matching.state_reason(code, **values)
            assert refusals.parse(stored, matching.STATE_REASONS)[0] == code, stored
            assert reasons.bank_reason(stored) != stored, stored
        stored = matching.state_reason("not_booked", **values)
        assert reasons.bank_reason(stored) == "nicht gebucht: die Bestellung ist abgeschrieben"
        note = matching.state_reason("ignored_note", **values)
        assert reasons.bank_reason(note) == "nicht für uns (user:a@b.de): Privat: Miete"
        assert reasons.bank_reason(scoring.D_FUZZY_WEAK) == "nur ähnliche Referenz"
        assert reasons.bank_reason("a text of an older version") == "a text of an older version"


def test_refusals_keep_their_english_and_read_in_german(app):
    refused = refusals.Refused("cancel_method", methods=("invoice", "cod"))
    assert str(refused) == "only invoice and cod orders can be cancelled"  # API and CLI
    parts = refusals.Refused("parts_sum", total=Decimal("1140.00"), amount=Decimal("140.00"))
    nested = refusals.Refusal("order_refused", number="AK-1", reason=refusals.Refusal("blocked"))
    with app.test_request_context(), force_locale("de"):
        assert reasons.refusal_text(refused) == (
            "nur Bestellungen mit Rechnung und Nachnahme können storniert werden"
        )
        assert reasons.refusal_text(parts).startswith(
            "die Teile ergeben zusammen 1.140,00, die Zahlung beträgt 140,00"
        )
        assert reasons.refusal_text(nested) == (
            "Bestellung AK-1: die Mahnungen sind für diese Bestellung gesperrt"
        )
        state = refusals.Refused("transaction_state", state=TransactionState.MATCHED)
        assert reasons.refusal_text(state) == "die Buchung ist bereits zugeordnet"
    small = refusals.Refused("parts_sum", total=Decimal("140.00"), amount=Decimal("150.00"))
    with app.test_request_context(), force_locale("en"):
        assert reasons.refusal_text(small) == str(small)
    with pytest.raises(KeyError):
        refusals.Refused("no such code")


def test_a_refused_order_action_says_why_in_german(app, merchant_info, seed):
    seed(merchant_info["id"], [order_body("AK-1")], PORTAL_RULES)
    portal = Portal(app, merchant_info)
    portal.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9"
    portal.post("/orders/AK-1/mark-paid")
    again = portal.post("/orders/AK-1/mark-paid")
    assert again.status_code == 422
    assert "Es wurde nichts geändert: die Bestellung ist bereits bezahlt." in text(again)


def test_the_bank_pages_show_reasons_and_refusals_in_german(app, portal, seed, merchant_info):
    app.config["MAHNWERK_TODAY"] = "2026-10-10"
    seed(merchant_info["id"], [order_body("AK-10001", name="Anna Schmidt", amount="49.90")])
    portal.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9"
    [suggested] = imported(app, portal, SUGGESTED)
    page = text(portal.get(f"/bank/transactions/{suggested.id}"))
    assert "nur ähnliche Referenz" in page and "ähnliche Bestellnummer im Verwendungszweck" in page
    assert "similar reference only" not in page

    refused = portal.post(f"/bank/transactions/{suggested.id}/assign", {"order": "AK-404"})
    assert "keine Bestellung „AK-404“" in text(refused)

    junk = text(upload(portal, [(b"not a statement", "junk.xml")], htmx=True))
    assert "die Datei ist nicht lesbar:" in junk and "nichts davon wurde gespeichert" in junk

    form = re.search(r'<form[^>]*class="upload-form"[^>]*>', page + text(portal.get("/bank")))
    assert form and 'data-text-sending="Wird gesendet …"' in form.group(0)
    assert "{size}" in form.group(0) and "{files}" in form.group(0)  # filled in by bank.js


def test_the_checkers_findings_read_in_german_and_stay_english_for_the_cli(app):
    import rules

    text = "rechnung after 21 days: remind; after 14 days: cancel\n"
    found = rules.check(rules.parse(text))
    codes = {d.code for d in found}
    assert {"steps_order", "cancel_method"} <= codes
    order = next(d for d in found if d.code == "steps_order")
    assert order.message == "steps must come in increasing order: expected more than 21 days here"
    with app.test_request_context(), force_locale("de"):
        german = {d.code: rules_text.message(d) for d in found}
    assert german["steps_order"] == (
        "die Schritte müssen aufsteigend folgen: hier sind mehr als 21 Tage nötig"
    )
    assert german["cancel_method"].endswith("dieser Block ist aber für Rechnung")


def test_syntax_errors_read_in_german_with_the_keywords_as_they_are(app):
    import rules

    (typo,) = rules.check_text("vorkasse afte 14 days: remind")
    (early,) = rules.check_text("vorkasse after 14 days: charge interest")
    (glued,) = rules.check_text("vorkasse after 14 days: remind with fee 2,50")
    with app.test_request_context(), force_locale("de"):
        assert rules_text.message(typo) == (
            "erwartet wird eine Aktion wie remind, cancel, mark overdue oder notify accounting, "
            'eine Bedingung wie amount over 100 oder country in DE, "after N days", ":" oder '
            '"and", gefunden wurde aber „afte“ (meinten Sie „after“?)'
        )
        assert rules_text.message(early).startswith(
            'die Zeile endet zu früh: erwartet wird ein Zinssatz wie 5 % oder das Wort "statutory"'
        )
        assert rules_text.message(glued).endswith(
            "„50“; schreiben Sie Beträge mit Dezimalpunkt, z. B. 2.50"
        )
    with app.test_request_context(), force_locale("en"):
        assert rules_text.message(typo) == typo.message  # English reads like the CLI


def test_a_typo_in_the_rules_editor_is_explained_in_german(app, portal):
    typo = {"text": "vorkasse afte 14 days: remind\n"}
    english = text(portal.post("/rules/check", typo))
    assert 'but found "afte" (did you mean "after"?)' in english
    portal.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9"
    checked = portal.post("/rules/check", typo)
    assert checked.status_code == 200
    german = text(checked)
    assert "erwartet wird eine Aktion wie remind, cancel, mark overdue oder notify accounting" in (
        german
    )
    assert "gefunden wurde aber „afte“ (meinten Sie „after“?)" in german
    assert "but found" not in german and "did you mean" not in german


def test_every_rules_template_has_its_title_and_summary_in_german(german):
    from portal.rules_text import TEMPLATE_TEXTS
    from rules.templates import TEMPLATES

    assert set(TEMPLATE_TEXTS) == {t.key for t in TEMPLATES}
    for t in TEMPLATES:
        title, summary = TEMPLATE_TEXTS[t.key]
        assert (title._args[0], summary._args[0]) == (t.title, t.summary)  # the same English
        assert german.get(t.title) and german.get(t.summary), t.key
