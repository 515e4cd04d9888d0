"""rules.ast.constructor: the parser's faster way to make nodes makes the same frozen nodes."""

from __future__ import annotations

import dataclasses

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

    made = ast.constructor(cls)(*values.values(), span)

    assert type(made) is cls
    assert made == cls(**values, span=span)
    assert repr(made) == repr(cls(**values, span=span))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.span = ast.NO_SPAN


def test_constructor_takes_every_field_and_the_span():
    make = ast.constructor(ast.Trigger)
    assert make(14, True, ast.NO_SPAN) == ast.Trigger(14, True)
    with pytest.raises(TypeError):
        make(14, ast.NO_SPAN)
