"""The audit log names an entry's detail keys in the user's language (portal/audit_details.py):
every key the code audits with has its own name, enumerated from where the keys come from (the
`audit.record` calls, the settings' fields, a bank account's, an order's, a login lock's)."""

from __future__ import annotations

import ast
import html
from datetime import datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from ledger import order_edits, orders, settings, shop_sync
from ledger.bank import accounts as bank_accounts
from ledger.permissions import ROLES
from portal import audit_details
from portal import settings as settings_page
from portal.ui import LABELS
from tests.portal.test_i18n import CATALOG

ROOT = Path(__file__).resolve().parents[2]
GERMAN = "de-DE,de;q=0.9"


def _audit_calls():
    """(file, call) for every ledger.audit.record/values call in ledger/, portal/, worker/."""
    for package in ("ledger", "portal", "worker"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("record", "values")
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "audit"
                ):
                    yield path.relative_to(ROOT).as_posix(), tree, node


def _dict_keys(tree, name: str) -> set[str]:
    """The keys of the dict literals assigned to `name` in the module (ledger.throttle's
    `detail = {...}`)."""
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Dict)
            and any(getattr(target, "id", None) == name for target in node.targets)
        ):
            found |= {key.value for key in node.value.keys if isinstance(key, ast.Constant)}
    return found


# Where the keys of each `**expansion` in an audit call come from.
EXPANSIONS = {
    ("ledger/settings.py", "_detail(changes)"): set(settings.PARSERS),
    ("ledger/settings.py", "detail"): set(bank_accounts.DETAILS),
    ("ledger/orders.py", "changes"): {*orders.DETAIL_FIELDS, "due_on", "amount"}
    | {"payment_days", "discount_percent", "discount_days"},
    ("ledger/order_edits.py", "changes"): {*order_edits.EDITABLE, *order_edits.INFO_FIELDS},
    ("ledger/order_edits.py", "{field: change}"): set(order_edits.EDITABLE),
    ("ledger/shop_sync.py", "changes"): set(shop_sync.COMPARED),
}


def audited_keys() -> tuple[set[str], set[str]]:
    """(the keys of settings-like actions, the others) that any audit call can write."""
    of_settings, others = set(), set()
    for path, tree, call in _audit_calls():
        action = call.args[2] if len(call.args) > 2 else None
        setting = isinstance(action, ast.Constant) and str(action.value).startswith(
            audit_details.SETTINGS_ACTIONS
        )
        keys = set()
        for keyword in call.keywords:
            if keyword.arg is not None:
                keys.add(keyword.arg)
                continue
            value = keyword.value
            source = (path, ast.unparse(value))
            if isinstance(value, ast.IfExp):  # **({"qr_iban": …} if … else {})
                for branch in (value.body, value.orelse):
                    keys |= {k.value for k in branch.keys if isinstance(k, ast.Constant)}
            elif source in EXPANSIONS:
                keys |= EXPANSIONS[source]
            elif isinstance(value, ast.Name) and _dict_keys(tree, value.id):
                keys |= _dict_keys(tree, value.id)
            else:
                pytest.fail(f"{path}: where do the keys of **{source[1]} come from?")
        (of_settings if setting else others).update(keys)
    return of_settings, others


@pytest.fixture(scope="module")
def german():
    with CATALOG.open("rb") as f:
        return {m.id: m.string for m in read_po(f, locale="de") if m.id and not m.fuzzy}


def _msgid(label) -> str:
    return label._args[0]


def test_every_audited_key_has_a_name_of_its_own(german):
    of_settings, others = audited_keys()
    assert {"company_name", "run_hour", "webhook_secret", "logo", "bic"} <= of_settings
    assert {"email", "old_role", "locked_until", "customer_name", "amount"} <= others
    named = {**LABELS, **audit_details.DETAIL_LABELS}
    missing = sorted(k for k in of_settings if k not in settings_page.LABELS and k not in named)
    assert missing == []
    assert sorted(k for k in others if k not in named) == []
    for key in of_settings | others:
        label = settings_page.LABELS.get(key) if key in of_settings else None
        label = label or named[key]
        assert german.get(_msgid(label)), key  # a German name, not the key with spaces


def test_every_fixed_value_word_reads_in_german(german):
    for words in (audit_details.SETTING_WORDS, audit_details.ROLE_NAMES):
        for word, label in words.items():
            assert german.get(_msgid(label)) not in (None, "", word), word
    assert set(audit_details.ROLE_NAMES) == set(ROLES)
    assert set(settings.SECRETS) <= set(settings_page.LABELS)


def _record(app, merchant_id, action, **detail):
    from ledger import audit
    from ledger.db import db
    from ledger.models import AuditEntry

    with app.app_context():
        entry = audit.record(merchant_id, "user:anna@alpenkiste.example", action, **detail)
        db.session.flush()
        db.session.get(AuditEntry, entry.id).created_at = datetime(2026, 11, 2, 9)
        db.session.commit()


def test_the_audit_page_names_the_details_in_the_users_language(app, portal, merchant_info):
    from ledger.accounts import find_merchant
    from ledger.db import db

    with app.app_context():
        merchant = find_merchant(merchant_info["name"])
        settings.update(
            merchant,
            {"company_name": "Alpenkiste AG", "short_payment_write_off": "off"},
            "user:anna@alpenkiste.example",
        )
        db.session.commit()
    _record(
        app, merchant_info["id"], "settings.changed", section="webhook", webhook_secret="changed"
    )
    _record(app, merchant_info["id"], "user.role_changed", email="b@alpenkiste.example",
            old_role="viewer", new_role="accountant")  # fmt: skip

    response = portal.get("/audit", headers={"Accept-Language": GERMAN})
    deutsch = html.unescape(response.get_data(as_text=True))
    assert "Firmenname (Firmierung): — → Alpenkiste AG" in deutsch
    assert "Kleinen Rest ausbuchen: ja → nein" in deutsch
    assert "Signaturschlüssel: geändert" in deutsch and "Abschnitt: Webhook" in deutsch
    assert "alte Rolle: Nur lesen" in deutsch and "neue Rolle: Buchhaltung" in deutsch
    for english in ("company name", "webhook secret", "old role", ": changed", "yes → no"):
        assert english not in deutsch

    english = html.unescape(portal.get("/audit").get_data(as_text=True))
    assert "Company name (legal): — → Alpenkiste AG" in english
    assert "Write off the small rest: yes → no" in english
    assert "Signing secret: changed" in english and "old role: Viewer" in english
