"""Canonical formatting: lower-case keywords, one space between words, four spaces of indentation,
units always written out, comments kept where they were, blank lines between top-level items kept
(several collapse into one). The form a merchant chose (one-line or indented block, step-first or
step-last) is kept: it is part of the tree, and `parse(format_rules(x))` equals `parse(x)`."""

from __future__ import annotations

from rules import ast
from rules.parser import normalize, parse

INDENT = "    "


def format_rules(text: str) -> str:
    """Format a rules text; raises RulesError when it does not parse."""
    source = normalize(text)
    return format_ruleset(parse(source), source.split("\n"))


def format_ruleset(ruleset: ast.Ruleset, source_lines: list[str] | None = None) -> str:
    entries = []  # (source line, indent, text, trailing comment)
    items = sorted((*ruleset.settings, *ruleset.blocks), key=lambda item: item.span.line)
    block_ranges = []
    for item in items:
        if isinstance(item, ast.Setting):
            entries.append([item.span.line, 0, setting_text(item), None])
        elif not item.multiline:
            entries.append([item.span.line, 0, inline_block_text(item), None])
        else:
            entries.append([item.span.line, 0, header_text(item) + ":", None])
            for line in item.body:
                entries.append([line.span.line, 1, body_text(line), None])
            block_ranges.append((item.span.line, max(x.span.end_line for x in item.body)))
    by_line = {e[0]: e for e in entries if e[0]}
    for comment in ruleset.comments:
        line = comment.span.line
        if not comment.own_line and line in by_line:
            by_line[line][3] = comment.text
            continue
        inside = any(start < line < end for start, end in block_ranges)
        entries.append([line, 1 if inside else 0, comment.text, None])
    entries.sort(key=lambda e: e[0])

    out: list[str] = []
    for line, indent, text, trailing in entries:
        if out and indent == 0 and _blank_before(line, source_lines) and out[-1] != "":
            out.append("")
        code = INDENT * indent + text
        out.append(f"{code}  {trailing}" if trailing else code)
    return "\n".join(out) + "\n" if out else ""


def _blank_before(line: int, source_lines: list[str] | None) -> bool:
    return (
        bool(source_lines)
        and 2 <= line <= len(source_lines) + 1
        and not source_lines[line - 2].strip()
    )


# --- pieces (also used for block labels and explanations) ----------------------------------


def _number(value) -> str:
    return format(value, "f")


def condition_text(c) -> str:
    if isinstance(c, ast.AmountCondition):
        currency = f" {c.currency}" if c.currency else ""
        return f"amount {c.op} {_number(c.amount)}{currency}"
    if isinstance(c, ast.CountryCondition):
        return "country in " + ", ".join(c.countries)
    if isinstance(c, ast.CustomerCondition):
        return f"customer is {c.customer_type}"
    if isinstance(c, ast.LanguageCondition):
        return f"language is {c.language}"
    return f'tag is "{c.tag}"'


def header_text(block: ast.Block) -> str:
    return " ".join([block.alias, *(condition_text(c) for c in block.conditions)])


def action_text(a: ast.Action) -> str:
    if isinstance(a, ast.Remind):
        words = ["remind"]
        if a.level is not None:
            words.append(f"level {a.level}")
        if a.channels:
            words.append("by " + " and ".join(a.channels))
        if a.fee is not None:
            words.append(
                f"with fee {_number(a.fee)}" + (f" {a.fee_currency}" if a.fee_currency else "")
            )
        return " ".join(words)
    if isinstance(a, ast.Notify):
        who = a.recipient if a.recipient in ("accounting", "team") else f'"{a.recipient}"'
        return f"notify {who}"
    if isinstance(a, ast.ChargeInterest):
        return "charge interest " + ("statutory" if a.statutory else f"{_number(a.rate)} %")
    if isinstance(a, ast.SendWebhook):
        return f'send webhook "{a.name}"'
    return {
        "cancel": "cancel",
        "mark_overdue": "mark overdue",
        "release_reservation": "release reservation",
        "hand_over_to_collection": "hand over to collection",
    }[a.kind]


def actions_text(actions) -> str:
    return " and ".join(action_text(a) for a in actions)


def step_line_text(line: ast.StepLine) -> str:
    if line.form == "first":
        return ", ".join(f"{actions_text(s.actions)} {s.trigger.text}" for s in line.steps)
    return "; ".join(f"{s.trigger.text}: {actions_text(s.actions)}" for s in line.steps)


def setting_text(s: ast.Setting) -> str:
    if isinstance(s, ast.MinGap):
        return f"at least {s.days} days between reminders"
    if isinstance(s, ast.BankDataHold):
        return f"hold while bank data older than {s.days} days"
    if isinstance(s, ast.ClaimPause):
        return f"pause {s.days} days after customer reports payment"
    if isinstance(s, ast.NoMailOnHolidays):
        return "no mail on weekends and holidays"
    if isinstance(s, ast.MissedSteps):
        mode = "skip to the latest" if s.mode == "latest" else "escalate in order"
        return f"on missed steps: {mode}"
    return f"apply to orders from {s.on.isoformat()}"


def body_text(item) -> str:
    return setting_text(item) if isinstance(item, ast.Setting) else step_line_text(item)


def inline_block_text(block: ast.Block) -> str:
    (line,) = block.body
    separator = ": " if line.form == "first" else " "
    return header_text(block) + separator + step_line_text(line)
