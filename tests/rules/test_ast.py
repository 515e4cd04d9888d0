"""rules.ast.constructor: the parser's faster way to make nodes makes the same frozen nodes, with
the dataclass's own signature (defaults included)."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from rules import ast

NODES = sorted(
    (
        cls
        for cls in vars(ast).values()
        if isinstance(cls, type) and issubclass(cls, ast.Node) and dataclasses.fields(cls)
    ),
    key=lambda cls: cls.__name__,
)


@pytest.mark.parametrize("cls", NODES, ids=lambda cls: cls.__name__)
def test_constructor_makes_the_node_the_dataclass_makes(cls):
    names = [f.name for f in dataclasses.fields(cls) if f.name != "span"]
    values = {name: f"{cls.__name__}.{name}" for name in names}
    span = ast.Span(3, 5, 3, 17)

    made = ast.constructor(cls)(*values.values(), span=span)

    assert type(made) is cls
    assert made == cls(**values, span=span)
    assert repr(made) == repr(cls(**values, span=span))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.span = ast.NO_SPAN


@pytest.mark.parametrize("cls", NODES, ids=lambda cls: cls.__name__)
def test_constructor_takes_what_the_dataclass_takes(cls):
    def parameters(function):
        parameters = inspect.signature(function).parameters.values()
        return [(p.name, p.kind, p.default) for p in parameters]

    assert parameters(ast.constructor(cls)) == parameters(cls)
    if all(default is not inspect.Parameter.empty for _, _, default in parameters(cls)):
        assert ast.constructor(cls)() == cls()


def test_constructor_honours_defaults():
    trigger = ast.constructor(ast.Trigger)
    assert trigger(14) == ast.Trigger(14) == ast.Trigger(14, False, span=ast.NO_SPAN)
    assert trigger(14, True, span=ast.Span(1, 2, 1, 9)).span == ast.Span(1, 2, 1, 9)
    remind = ast.constructor(ast.Remind)
    assert remind(level=2) == ast.Remind(2)
    assert ast.constructor(ast.MissedSteps)() == ast.MissedSteps(mode="in_order")
    with pytest.raises(TypeError):
        trigger()  # days has no default
    with pytest.raises(TypeError):
        trigger(14, False, ast.NO_SPAN)  # the span only by keyword, as in the dataclass


def test_constructor_calls_default_factories():
    @dataclasses.dataclass(frozen=True, slots=True)
    class Listed(ast.Node):
        items: list = dataclasses.field(default_factory=list)

    make = ast.constructor(Listed)
    first, second = make(), make()
    assert first == Listed() and first.items is not second.items
