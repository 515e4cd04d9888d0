"""Program: a checked Ruleset ready to answer, for one order, which block applies, which step
fires today, when the next one is due and what its whole future looks like."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from rules import ast
from rules.actions import NEEDS_REMINDER, SPECS
from rules.calendar import add_business_days, is_business_day, next_business_day
from rules.formatter import condition_text
from rules.identity import block_identity, step_keys
from rules.model import (
    CLOSED_STATUSES,
    BlockExplanation,
    Decision,
    Explanation,
    MatchResult,
    OrderFacts,
    OrderHistory,
    PlannedStep,
    Schedule,
    ScheduledStep,
    StepExplanation,
)

DEFAULT_CLAIM_PAUSE = 7  # days a "customer reports payment" pauses dunning without a setting


@lru_cache(maxsize=65536)
def _business_date(start: date, days: int, country: str, region: str | None) -> date:
    return add_business_days(start, days, country, region)


@dataclass(frozen=True)
class _Step:
    key: str  # the stored identity (rules.identity)
    name: str  # "prepayment/after 14 days", for people (and the keys before identity v1)
    trigger: ast.Trigger
    actions: tuple[ast.Action, ...]
    source_line: str
    line: int
    label: str
    reminds: bool
    first_remind: ast.Remind | None
    delta: timedelta  # the trigger's days, made once (due_on runs for every order and step)
    needs_reminder: bool  # cancel, collection or interest: only after a reminder went out

    @property
    def level(self) -> int | None:
        return self.first_remind.level if self.first_remind else None

    def due_on(self, facts: OrderFacts) -> date:
        if self.trigger.business:
            return _business_date(facts.due_on, self.trigger.days, facts.country, facts.region)
        return facts.due_on + self.delta

    def after(self, previous: _Step, done_on: date, facts: OrderFacts) -> date:
        """The day this step comes when the step before it went out on `done_on`: it keeps
        its distance from that step (remind at 14, cancel at 21; the reminder went out on day
        30, so the cancellation comes on day 37)."""
        gap = self.trigger.days - previous.trigger.days
        if self.trigger.business:
            return _business_date(done_on, gap, facts.country, facts.region)
        return done_on + timedelta(days=gap)

    def done(self, facts: OrderFacts, history: OrderHistory) -> bool:
        """Already done, by its identity or by the order's real state: a reminder of a level
        the order already reached (by a rule or by hand) is done, whatever its day count."""
        if self.key in history.done_steps:
            return True
        level = self.level
        return level is not None and level <= history.level

    def planned(self, day: date, actions=None) -> PlannedStep:
        return PlannedStep(
            self.key,
            day,
            actions if actions is not None else self.actions,
            self.source_line,
            self.line,
            self.label,
            self.name,
            self.level,
        )


@dataclass(frozen=True)
class _Settings:
    min_gap: int | None = None
    bank_data_hold: int | None = None
    claim_pause: int = DEFAULT_CLAIM_PAUSE
    no_mail: bool = False
    apply_from: date | None = None
    missed_steps: str = "in_order"  # or "latest": see ast.MissedSteps

    def merged(self, settings) -> _Settings:
        """Block settings override the file's settings of the same kind."""
        changes = {}
        for s in settings:
            if isinstance(s, ast.NoMailOnHolidays):
                changes["no_mail"] = True
            elif isinstance(s, ast.ApplyFrom):
                changes["apply_from"] = s.on
            elif isinstance(s, ast.MissedSteps):
                changes["missed_steps"] = s.mode
            else:
                changes[s.name] = s.days
        return dataclasses.replace(self, **changes)


class _Block:
    def __init__(
        self, block: ast.Block, label: str, settings: _Settings, lines: list[str], occurrence=1
    ):
        self.block = block
        self.label = label
        self.settings = settings
        self.steps = _compile_steps(block, label, lines, occurrence)
        self.tests = [_condition_test(c) for c in block.conditions]

    def matches(self, facts: OrderFacts) -> bool:
        if self.block.method != "any" and facts.payment_method != self.block.method:
            return False
        start = self.settings.apply_from
        if start is not None and facts.ordered_on < start:
            return False
        return all(test(facts) for test in self.tests)

    def why_not(self, facts: OrderFacts) -> str | None:
        method = self.block.method
        if method != "any" and facts.payment_method != method:
            return f"payment method is {facts.payment_method}, not {method}"
        start = self.settings.apply_from
        if start is not None and facts.ordered_on < start:
            return f"ordered on {facts.ordered_on}, before {start} (apply to orders from)"
        for condition, test in zip(self.block.conditions, self.tests, strict=True):
            if not test(facts):
                return _condition_failure(condition, facts)
        return None

    @property
    def in_order(self) -> bool:
        return self.settings.missed_steps == "in_order"

    def pending(self, facts: OrderFacts, history: OrderHistory) -> list[_Step]:
        """Steps after the last one already done (earlier ones are passed over for good)."""
        for index in range(len(self.steps) - 1, -1, -1):
            if self.steps[index].done(facts, history):
                return self.steps[index + 1 :]
        return self.steps

    def next_in_order(self, facts: OrderFacts, history: OrderHistory):
        """Escalating in order: (the first step not yet done, the day it comes), or None when
        none can come (all done, or it needs a reminder that never went out)."""
        pending = self.pending(facts, history)
        if not pending:
            return None
        step = pending[0]
        if step.needs_reminder and history.level == 0:
            return None
        day = step.due_on(facts)
        index = len(self.steps) - len(pending)
        if index:
            previous = self.steps[index - 1]
            done_on = history.done_on.get(previous.key)
            if done_on is None and previous.level is not None:
                done_on = history.level_on.get(previous.level)
            if done_on is not None:
                day = max(day, step.after(previous, done_on, facts))
        return step, day


def _compile_steps(block: ast.Block, label: str, lines: list[str], occurrence: int) -> list[_Step]:
    resolved, level = [], 0
    for step in block.steps:
        actions = []
        for action in step.actions:
            if isinstance(action, ast.Remind):
                level = action.level if action.level is not None else level + 1
                action = dataclasses.replace(action, level=level)
            actions.append(action)
        resolved.append(tuple(actions))
    steps = []
    keys = step_keys(block, resolved, occurrence)
    for step, actions, key in zip(block.steps, resolved, keys, strict=True):
        line = step.span.line
        source = lines[line - 1] if 1 <= line <= len(lines) else ""
        reminders = [a for a in actions if isinstance(a, ast.Remind)]
        steps.append(
            _Step(
                key=key,
                name=f"{label}/{step.trigger.text}",
                trigger=step.trigger,
                actions=actions,
                source_line=source,
                line=line,
                label=label,
                reminds=bool(reminders),
                first_remind=reminders[0] if reminders else None,
                delta=timedelta(days=step.trigger.days),
                needs_reminder=any(a.kind in NEEDS_REMINDER for a in actions),
            )
        )
    return steps


def _condition_test(c):
    if isinstance(c, ast.AmountCondition):
        compare = {
            "over": lambda a: a > c.amount,
            "under": lambda a: a < c.amount,
            "at least": lambda a: a >= c.amount,
            "at most": lambda a: a <= c.amount,
        }[c.op]
        if c.currency:
            return lambda f: f.currency == c.currency and compare(f.amount)
        return lambda f: compare(f.amount)
    if isinstance(c, ast.CountryCondition):
        countries = frozenset(c.countries)
        return lambda f: (f.country or "").upper() in countries
    if isinstance(c, ast.CustomerCondition):
        return lambda f: f.customer_type == c.customer_type
    if isinstance(c, ast.LanguageCondition):
        return lambda f: (f.language or "").lower() == c.language
    return lambda f: c.tag in f.tags


def _condition_failure(c, facts: OrderFacts) -> str:
    if isinstance(c, ast.AmountCondition):
        if c.currency and facts.currency != c.currency:
            return f"amount is in {facts.currency}, not {c.currency}"
        return f"amount {facts.amount} {facts.currency} is not {c.op} {c.amount}"
    if isinstance(c, ast.CountryCondition):
        return f"country {facts.country} is not in {', '.join(c.countries)}"
    if isinstance(c, ast.CustomerCondition):
        return f"customer is {facts.customer_type}, not {c.customer_type}"
    if isinstance(c, ast.LanguageCondition):
        return f"language is {facts.language}, not {c.language}"
    return f'the order has no tag "{c.tag}"'


def block_labels(blocks) -> list[str]:
    """Labels from each block's payment method and conditions; a repeated label gets #2, #3."""
    labels, seen = [], {}
    for block in blocks:
        base = " ".join([block.method, *(condition_text(c) for c in block.conditions)])
        seen[base] = seen.get(base, 0) + 1
        labels.append(base if seen[base] == 1 else f"{base} #{seen[base]}")
    return labels


class Program:
    """A compiled ruleset. Build it with rules.compile_rules(text)."""

    def __init__(self, ruleset: ast.Ruleset, source: str = "", warnings=()):
        self.ruleset = ruleset
        self.blocks = ruleset.blocks
        self.warnings = list(warnings)
        lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        base = _Settings().merged(ruleset.settings)
        self._blocks = []
        seen: dict[str, int] = {}
        for block, label in zip(ruleset.blocks, block_labels(ruleset.blocks), strict=True):
            head = repr(block_identity(block))
            seen[head] = seen.get(head, 0) + 1
            settings = base.merged(block.settings)
            self._blocks.append(_Block(block, label, settings, lines, seen[head]))

    @property
    def applies_from(self) -> date | None:
        """The file's own `apply to orders from` date. Orders ordered before it are not this
        program's: the ledger leaves them to the rules they came in under."""
        return next((s.on for s in self.ruleset.settings if isinstance(s, ast.ApplyFrom)), None)

    @property
    def labels(self) -> list[str]:
        """Each block's label, in block order (step keys start with it)."""
        return [b.label for b in self._blocks]

    @property
    def step_keys(self) -> list[list[str]]:
        """The keys of each block's steps, in block and step order."""
        return [[s.key for s in b.steps] for b in self._blocks]

    # --- which block ---------------------------------------------------------------------

    def _match(self, facts: OrderFacts) -> _Block | None:
        for block in self._blocks:
            if block.matches(facts):
                return block
        return None

    def claim_pause(self, facts: OrderFacts) -> int:
        """The days a customer's payment claim pauses the order's steps (its block's setting)."""
        block = self._match(facts)
        return block.settings.claim_pause if block else DEFAULT_CLAIM_PAUSE

    def match(self, facts: OrderFacts) -> MatchResult:
        reasons, found = {}, None
        for block in self._blocks:
            if found is not None:
                reasons[block.label] = (
                    f"not reached: the block on line {found.block.span.line} matched first"
                )
                continue
            why = block.why_not(facts)
            if why is None:
                found = block
                reasons[block.label] = "matched"
            else:
                reasons[block.label] = why
        if found is None:
            return MatchResult(None, None, reasons)
        return MatchResult(found.block, found.label, reasons)

    # --- what happens today --------------------------------------------------------------

    @staticmethod
    def _closed(facts: OrderFacts) -> str | None:
        if facts.status in CLOSED_STATUSES:
            return f"the order is {facts.status}"
        if facts.dunning_block:
            return "dunning is blocked for this order"
        return None

    @staticmethod
    def _claim_until(block: _Block, history: OrderHistory) -> date | None:
        if history.payment_claimed_on is None:
            return None
        return history.payment_claimed_on + timedelta(days=block.settings.claim_pause)

    def decide(self, facts: OrderFacts, history: OrderHistory, today: date) -> Decision | None:
        """The step that fires today, or None when nothing is due, or the order is paid,
        cancelled, blocked, or the customer's payment claim is still pending.

        When several steps are due at once (missed runs, a late activation, an order imported
        late): escalating in order (the default), the first step not yet done fires and each
        later one keeps its distance from the one before; with `on missed steps: skip to the
        latest`, only the latest due step fires and the earlier ones come back in .skipped."""
        if self._closed(facts):
            return None
        block = self._match(facts)
        if block is None:
            return None
        claim_until = self._claim_until(block, history)
        if claim_until is not None and today < claim_until:
            return None
        if block.in_order:
            found = block.next_in_order(facts, history)
            if found is None or found[1] > today:
                return None
            step, day = found
            skipped = ()
        else:
            due = [
                (pending, day)
                for pending in block.pending(facts, history)
                if (day := pending.due_on(facts)) <= today
            ]
            if not due:
                return None
            step, day = due[-1]
            skipped = tuple(s.planned(d) for s, d in due[:-1])
        deferred_to, because = _deferral(block, step, facts, history, today)
        return Decision(
            step.planned(day, _fitting(block, step, history)), skipped, deferred_to, because
        )

    def next_due_on(self, facts: OrderFacts, history: OrderHistory) -> date | None:
        """The earliest day on which decide() returns a Decision (possibly a deferral);
        None when no step can ever fire again."""
        if self._closed(facts):
            return None
        block = self._match(facts)
        if block is None:
            return None
        if block.in_order:
            found = block.next_in_order(facts, history)
            if found is None:
                return None
            day = found[1]
        else:
            pending = block.pending(facts, history)
            if not pending:
                return None
            day = pending[0].due_on(facts)
        claim_until = self._claim_until(block, history)
        if claim_until is not None and claim_until > day:
            day = claim_until
        return day

    def legacy_keys(self) -> dict[str, str]:
        """Each step's identity by the key it had before identity v1 (block label/trigger)."""
        return {step.name: step.key for block in self._blocks for step in block.steps}

    # --- the whole future ----------------------------------------------------------------

    def schedule(
        self,
        facts: OrderFacts,
        history: OrderHistory,
        today: date,
        until: date | None = None,
        transition=None,
    ) -> Schedule:
        """Every step still to come (up to `until`, when given), simulated day by day as the
        daily run would fire them (settings applied; bank data assumed to stay current).
        `transition(status, event)` is the order lifecycle's table (ledger.lifecycle
        .status_after): the status an action's event leads to; without it statuses stay."""
        steps: list[ScheduledStep] = []
        milestones: dict[str, date] = {}
        day, rounds = today, 0
        while rounds < 500 and (until is None or day <= until):
            rounds += 1
            fresh = dataclasses.replace(history, bank_data_as_of=day)
            decision = self.decide(facts, fresh, day)
            if decision is None:
                following = self.next_due_on(facts, history)
                if following is None:
                    break
                day = max(following, day + timedelta(days=1))
                continue
            if decision.deferred_to is not None:
                day = max(decision.deferred_to, day + timedelta(days=1))
                continue
            steps.append(_scheduled(decision.step, day))
            history = history.after(decision.step, day, decision.skipped)
            status = facts.status
            for action in decision.step.actions:
                spec = SPECS[action.kind]
                if spec.milestone:
                    milestones.setdefault(spec.milestone, day)
                if transition is not None and spec.event:
                    after = transition(status, spec.event)
                    if after not in (None, "same", "settle"):
                        status = after
            if status != facts.status:
                facts = dataclasses.replace(facts, status=status)
        return Schedule(tuple(steps), **milestones)

    # --- why -----------------------------------------------------------------------------

    def explain(self, facts: OrderFacts, history: OrderHistory, today: date) -> Explanation:
        match = self.match(facts)
        blocks = tuple(
            BlockExplanation(
                b.label, b.block.span.line, b.label == match.label, match.reasons[b.label]
            )
            for b in self._blocks
        )
        block = next((b for b in self._blocks if b.label == match.label), None)
        decision = self.decide(facts, history, today)
        note = self._closed(facts)
        if block is None:
            return Explanation(today, None, blocks, (), None, note or "no block matches this order")
        claim_until = self._claim_until(block, history)
        if note is None and claim_until is not None and today < claim_until:
            note = (
                f"paused until {claim_until}: the customer reported paying on "
                f"{history.payment_claimed_on}"
            )
        pending = block.pending(facts, history)
        following = block.next_in_order(facts, history) if block.in_order else None
        skipped = {s.key for s in decision.skipped} if decision else set()
        steps = []
        for step in block.steps:
            due_on = step.due_on(facts)
            if following is not None and following[0] is step:
                due_on = following[1]
            fires = False
            if step.done(facts, history):
                reason = "already done"
                if step.key not in history.done_steps:
                    reason = f"already done: the order reached reminder level {history.level}"
            elif step not in pending:
                reason = "passed over: a later step is already done"
            elif note:
                reason = note
            elif decision and step.key == decision.step.key:
                fires = decision.deferred_to is None
                reason = (
                    "fires today"
                    if fires
                    else (
                        f"due, but deferred to {decision.deferred_to}: {decision.deferred_because}"
                    )
                )
            elif step.key in skipped:
                reason = "skipped: a later step is due today (on missed steps: skip to the latest)"
            elif block.in_order and step is pending[0] and following is None:
                reason = "waits for a first reminder to reach the order (escalate in order)"
            elif block.in_order and step is not pending[0]:
                reason = (
                    f"due on {due_on} (in {(due_on - today).days} days) at the earliest: "
                    "each step comes after the one before it (escalate in order)"
                )
            else:
                reason = f"due on {due_on} (in {(due_on - today).days} days)"
            steps.append(
                StepExplanation(
                    step.key,
                    step.name,
                    due_on,
                    step.line,
                    step.source_line,
                    step.actions,
                    fires,
                    reason,
                )
            )
        return Explanation(today, block.label, blocks, tuple(steps), decision, note)


def _fitting(block: _Block, step: _Step, history: OrderHistory) -> tuple[ast.Action, ...]:
    """The step's actions as they may go out now: escalating in order, a reminder's fee is
    charged only when an earlier reminder reached the order (no fee on a first reminder)."""
    if not block.in_order or history.level > 0 or step.first_remind is None:
        return step.actions
    if not any(isinstance(a, ast.Remind) and a.fee for a in step.actions):
        return step.actions
    return tuple(
        dataclasses.replace(a, fee=None, fee_currency=None) if isinstance(a, ast.Remind) else a
        for a in step.actions
    )


# Why a due step waits (Decision.deferred_because: these, joined by "; "). The portal reads
# them back by template and shows them translated (portal/reasons.py DEFERRALS).
DEFERRALS = {
    "held_no_data": "held: no bank data imported yet (hold while older than {days} days)",
    "held_old_data": "held: bank data from {day}, older than {days} days",
    "min_gap": "at least {days} days between reminders",
    "no_mail": "no mail on weekends and holidays",
}


def _deferral(block: _Block, step: _Step, facts, history, today: date):
    """(day, why) when a setting postpones the step, else (None, None)."""
    settings = block.settings
    day, why = today, []
    hold = settings.bank_data_hold
    if hold is not None:
        as_of = history.bank_data_as_of
        if as_of is None:
            day = today + timedelta(days=1)
            why.append(DEFERRALS["held_no_data"].format(days=hold))
        elif as_of < today - timedelta(days=hold):
            day = today + timedelta(days=1)
            why.append(DEFERRALS["held_old_data"].format(day=f"{as_of:%d.%m.}", days=hold))
    if step.reminds and settings.min_gap and history.last_reminder_on is not None:
        earliest = history.last_reminder_on + timedelta(days=settings.min_gap)
        if earliest > day:
            day = earliest
            why.append(DEFERRALS["min_gap"].format(days=settings.min_gap))
    if step.reminds and settings.no_mail and not is_business_day(day, facts.country, facts.region):
        day = next_business_day(day, facts.country, facts.region)
        why.append(DEFERRALS["no_mail"])
    if day == today:
        return None, None
    return day, "; ".join(why)


def _scheduled(step: PlannedStep, day: date) -> ScheduledStep:
    remind = next((a for a in step.actions if isinstance(a, ast.Remind)), None)
    return ScheduledStep(
        key=step.key,
        name=step.name,
        due_on=day,
        planned_on=step.due_on,
        actions=step.actions,
        fee=remind.fee if remind else None,
        fee_currency=(remind.fee_currency if remind else None),
        level=remind.level if remind else None,
        source_line=step.source_line,
        line=step.line,
        block_label=step.block_label,
    )
