"""`portal/ui.py` LABELS (the `label` filter) has a word for every stored value the pages show
through it, enumerated from where the values are defined: a new status, method, state, entry
kind, dunning action or audit action without its label fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ledger import steps
from ledger.models import (
    EntryKind,
    MessageState,
    Method,
    RunState,
    Source,
    Status,
    TransactionState,
)
from portal.ui import LABELS, _label

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "values",
    [Status, Method, EntryKind, TransactionState, RunState, MessageState, Source, steps.HANDLERS],
    ids=lambda values: getattr(values, "__name__", "steps"),
)
def test_every_value_of_the_enums_has_a_label(values):
    missing = sorted(str(v) for v in values if str(v) not in LABELS)
    assert missing == []


def test_a_withdrawn_message_is_not_a_cancelled_order(app):
    with app.test_request_context():
        assert _label("cancelled", "message") != _label("cancelled")


def _audit_actions() -> tuple[set[str], set[str]]:
    """The actions passed to ledger.audit.record/values anywhere in ledger/, portal/ and worker/:
    (the literal ones, the fixed starts of f-string ones)."""
    literal, prefixes = set(), set()
    for package in ("ledger", "portal", "worker"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("record", "values")
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "audit"
                ):
                    continue
                given = [k.value for k in node.keywords if k.arg == "action"]
                action = node.args[2] if len(node.args) > 2 else (given or [None])[0]
                _strings(action, literal, prefixes)
    return literal, prefixes


def _strings(node, literal: set, prefixes: set) -> None:
    """The strings an expression can be ("a" if x else "b": both)."""
    if isinstance(node, ast.JoinedStr):
        prefixes.add(node.values[0].value)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        literal.add(node.value)
    elif node is not None:
        for child in ast.iter_child_nodes(node):
            _strings(child, literal, prefixes)


def test_every_audit_action_has_a_label():
    literal, prefixes = _audit_actions()
    assert len(literal) > 15  # the scan finds them
    assert sorted(a for a in literal if a not in LABELS) == []
    for prefix in prefixes:  # f"bank.{state}": the states it is made with
        assert any(key.startswith(prefix) for key in LABELS), prefix


def test_no_label_is_given_twice():
    tree = ast.parse((ROOT / "portal" / "ui.py").read_text(encoding="utf-8"))
    [labels] = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "LABELS"
    ]
    keys = [key.value for key in labels.keys]
    assert sorted({k for k in keys if keys.count(k) > 1}) == []


def test_every_role_has_its_name():
    from ledger.permissions import ROLES
    from portal.ui import ROLE_NAMES

    assert list(ROLE_NAMES) == ROLES
