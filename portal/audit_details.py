"""An audit entry's details in the user's language: the names of their keys and the fixed
words among their values (the audit log page and an order's audit trail).

The keys are what `ledger.audit.record` is given: the settings' fields (ledger.settings), a
bank account's, an API token's, the team's (ledger.team), an order's fields that changed
(ledger.orders), a login lock's (ledger.throttle) and the commands' own. A setting is named
as the settings page names its field (portal.settings.LABELS); the rest by LABELS of
portal/ui.py or, for keys only the audit log has, DETAIL_LABELS here.
tests/portal/test_audit_details.py holds them complete, enumerated from their sources.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from portal import settings as settings_page
from portal.ui import LABELS, ROLE_NAMES, _label

# Actions whose details are the settings page's fields (named as the page names them).
SETTINGS_ACTIONS = ("settings.", "bank_account.", "api_token.")

# Keys that only the audit log shows and LABELS does not name.
DETAIL_LABELS = {
    "prefix": _l("token start"),
    "section": _l("section"),
    "payer_names": _l("payer names"),
    "extra_references": _l("extra numbers"),
    "payment_days": _l("net days"),
    "discount_percent": _l("discount rate"),
    "discount_days": _l("discount days"),
    "tags": _l("tags"),  # an order's tags (ledger/shop_sync.py)
    "job": _l("bulk action"),  # ledger/bulk_actions.py
    "bulk_action": _l("action"),
    "count": _l("orders touched"),
    "how": _l("told by"),  # a cancellation notice: none, email, letter (ledger/notices.py)
}

# The fixed words a settings change is audited with (ledger.settings.shown and _detail).
SETTING_WORDS = {
    "changed": _l("changed"),
    "removed": _l("removed"),
    "yes": _l("yes"),
    "no": _l("no"),
}
# ledger.permissions.Role, as the team page names them (templates/users/_roles.html).
ROLE_KEYS = ("role", "old_role", "new_role")
STORED_WORDS = ("status", "source", "payment_method")  # stored values the label filter names


def _is_setting(action: str | None) -> bool:
    return (action or "").startswith(SETTINGS_ACTIONS)


def detail_label(key: str, action: str | None = None) -> str:
    """`{{ key|detail_label(entry.action) }}`: the name of a detail's key."""
    if _is_setting(action) and key in settings_page.LABELS:
        return str(settings_page.LABELS[key])
    if key in DETAIL_LABELS:
        return str(DETAIL_LABELS[key])
    return _label(key)


def detail_value(value, key: str, action: str | None = None) -> str:
    """`{{ value|detail_value(key, entry.action) }}`: a detail's value, its fixed words (yes,
    changed, a section, a role, a status) in the user's language; anything else as it is."""
    if isinstance(value, bool):
        return str(SETTING_WORDS["yes" if value else "no"])
    text = "" if value is None else str(value)
    if key == "section":
        return ", ".join(str(settings_page.SECTION_NAMES.get(s, s)) for s in text.split(","))
    if key in ROLE_KEYS:
        return str(ROLE_NAMES.get(text, text))
    if key in STORED_WORDS and text in LABELS:
        return _label(text)
    if _is_setting(action):  # "changed", or "yes → no"
        return " → ".join(str(SETTING_WORDS.get(part, part)) for part in text.split(" → "))
    return text


def register(app: Flask) -> None:
    app.add_template_filter(detail_label, "detail_label")
    app.add_template_filter(detail_value, "detail_value")
