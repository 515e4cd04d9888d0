"""A step's stored identity: a canonical, versioned serialisation of the AST, never the
formatter's text (a formatter change must not re-key every merchant's history).

The identity names *what* a step does in *which* block, not *when*: editing `after 14 days`
to `after 10 days` keeps the step's identity, so an order that had the step does not get it
again. Two steps of a block that do the same are told apart by their order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date
from decimal import Decimal

from rules import ast

VERSION = 1


def _value(value):
    if isinstance(value, ast.Node):
        return canonical(value)
    if isinstance(value, tuple | list):
        return [_value(v) for v in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def canonical(node: ast.Node) -> list:
    """[class name, field values…] without spans, with values in one spelling."""
    fields = [f.name for f in dataclasses.fields(node) if f.name != "span"]
    values = [_value(getattr(node, name)) for name in fields]
    if isinstance(node, ast.CountryCondition):
        values = [sorted(values[0])]
    return [type(node).__name__, *values]


def block_identity(block: ast.Block) -> list:
    """The payment method and the conditions (in a fixed order): which orders the block takes."""
    conditions = sorted(json.dumps(canonical(c), sort_keys=True) for c in block.conditions)
    return [block.method, conditions]


def step_keys(
    block: ast.Block, actions: list[tuple[ast.Action, ...]], occurrence: int = 1
) -> list[str]:
    """The identity of each step of `block`, given each step's actions with reminder levels
    resolved (so `remind` and `remind level 2` as a block's second reminder are the same).
    `occurrence` tells apart blocks with the same header (the 2nd such block is 2)."""
    head = block_identity(block) + ([occurrence] if occurrence > 1 else [])
    seen: dict[str, int] = {}
    keys = []
    for step_actions in actions:
        what = json.dumps([canonical(a) for a in step_actions], sort_keys=True)
        seen[what] = seen.get(what, 0) + 1
        text = json.dumps([VERSION, head, what, seen[what]], sort_keys=True)
        keys.append(f"v{VERSION}:{hashlib.sha256(text.encode()).hexdigest()[:24]}")
    return keys
