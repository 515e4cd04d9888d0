"""docs/lifecycle.md's transition table is the code's."""

from __future__ import annotations

from pathlib import Path

from ledger.lifecycle import SAME, SETTLE, TRANSITIONS, Event
from ledger.models import Status

DOC = (Path(__file__).parents[2] / "docs" / "lifecycle.md").read_text(encoding="utf-8")


def test_the_documented_transition_table_is_the_code_s():
    statuses = list(Status)
    for event in Event:
        row = next(line for line in DOC.splitlines() if line.startswith(f"| `{event}` |"))
        cells = [c.strip() for c in row.strip("|").split("|")][1:]
        for status, cell in zip(statuses, cells, strict=True):
            target = TRANSITIONS.get((status, event))
            expected = {None: "—", SETTLE: "settle", SAME: "·"}.get(target, f"**{target}**")
            assert cell == expected, (event, status)
