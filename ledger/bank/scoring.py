"""Which open order a bank payment pays: score the candidates, and assign only a clear one.

The import service finds candidates (by structured reference, by `reference_keys` against the
payment's `text_keys`, by payer IBAN or name) and passes them here with what led to them. This
module looks at the transaction again for every candidate and scores it:

- reference: a structured reference (RF or QRR) that is the candidate's = decisive (100);
  the order number, invoice number or a stored reference mentioned exactly ("AK 10001",
  "ak.010001") = exact (60); only through a fuzzy key (prefix missing, O/0 or I/1 read as
  digits) = fuzzy (30);
- amount against the open amount: `equal` (30), `discount` (the Skonto amount, booked by
  `discount_until`: 30), `short_within_tolerance` (short by at most the tolerance, bank fees:
  25), `partial` (less), `over` (more), `currency` (another currency), `sum` (a part of a split);
- payer name against the customer's and the stored other names (`name_match`): all of the
  smaller name's words found in the other = match (20), some = partial (8), none = differs;
- payer IBAN equal to the IBAN of an earlier payment of the customer (25).

Auto-assign rule (`rank`), in this order:

1. A debit is never matched (the import service handles reversals); no suggestions either. A
   transaction not booked yet (a pending camt entry) gets suggestions only.
2. Split: the text references two or more open orders of one customer and the amount is the sum
   of their open amounts (or short of it by at most the tolerance): a split. It is automatic only
   when every part has a structured or exact reference and no other candidate is referenced
   (`auto` is then the first part's order, `auto_split` true; `split` holds the amounts). A
   single candidate with a structured or exact reference and a fitting amount
   (equal/short/discount) goes before a split.
3. Exactly one candidate with a structured reference: auto with any amount in its currency
   (equal, short, discount, partial, over): the customer copied our reference; what is not
   paid, or paid too much, is the ledger's business. Two with structured references: none.
4. Exactly one candidate with any reference, and that one exact: auto when the amount is
   equal, short within tolerance, discount in time, or partial (a partial payment the customer
   named exactly is booked as such; the rest stays open and dunned). Over: review (it may be
   meant for several orders). A second candidate with any reference, exact or fuzzy, blocks.
5. Exactly one candidate with any reference, and that one fuzzy: auto only with an equal amount
   and the payer matching: the name matches, or the payer IBAN is the customer's known one
   (an IBAN seen on the customer's own earlier payment is stronger evidence than a name).
6. Anything else - a name alone, an amount alone, two candidates with references - is a
   suggestion only. A paid or written-off candidate is never assigned automatically. A
   cancelled one is (its open amount is what the order lacked when it was cancelled): a late
   prepayment is booked, and the order flagged "paid after cancellation" for a person to
   reactivate or refund.

The tolerance (default 1.00) is what a payment may be short by and still count as paying the
whole amount: foreign or cash-deposit fees are taken from the amount on the way, usually well
under a euro or franc; more than that is a partial payment and stays visible as such.

Reasons are short English strings from a fixed vocabulary (`REASONS`, `DECISION_REASONS`) that
the portal maps to its languages.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ledger.bank.references import (
    creditor_reference,
    exact_key,
    qr_reference,
    reference_keys,
    structured_references,
    text_keys,
)
from ledger.bank.statements import Transaction

DEFAULT_TOLERANCE = Decimal("1.00")

# Amount fits.
EQUAL = "equal"
SHORT = "short_within_tolerance"
DISCOUNT = "discount"
PARTIAL = "partial"
OVER = "over"
SUM = "sum"
CURRENCY = "currency"  # another currency: no fit

# Reference strengths, strongest first.
STRUCTURED = "structured"
EXACT = "exact"
FUZZY = "fuzzy"

# Name levels.
NAME_MATCH = "match"
NAME_PARTIAL = "partial"
NAME_DIFFERS = "differs"

CLOSED_STATUSES = frozenset({"paid", "written_off"})

# Suggestion reasons: the fixed vocabulary.
R_RF = "creditor reference (RF) matches"
R_QRR = "QR reference matches"
R_NUMBER = "order number in the text"
R_INVOICE = "invoice number in the text"
R_EXTRA = "stored reference in the text"
R_NUMBER_FUZZY = "order number similar in the text"
R_INVOICE_FUZZY = "invoice number similar in the text"
R_EXTRA_FUZZY = "stored reference similar in the text"
R_AMOUNT_EQUAL = "amount equal"
R_AMOUNT_SHORT = "amount short within tolerance"
R_AMOUNT_DISCOUNT = "amount equals the discount in time"
R_AMOUNT_PARTIAL = "amount less than open"
R_AMOUNT_OVER = "amount more than open"
R_AMOUNT_SUM = "amount part of a split payment"
R_CURRENCY = "currency differs"
R_NAME_MATCH = "name matches"
R_NAME_PARTIAL = "name partly matches"
R_NAME_DIFFERS = "name differs"
R_IBAN = "IBAN known from an earlier payment"
R_NOT_OPEN = "order not open"
REASONS = (
    R_RF,
    R_QRR,
    R_NUMBER,
    R_INVOICE,
    R_EXTRA,
    R_NUMBER_FUZZY,
    R_INVOICE_FUZZY,
    R_EXTRA_FUZZY,
    R_AMOUNT_EQUAL,
    R_AMOUNT_SHORT,
    R_AMOUNT_DISCOUNT,
    R_AMOUNT_PARTIAL,
    R_AMOUNT_OVER,
    R_AMOUNT_SUM,
    R_CURRENCY,
    R_NAME_MATCH,
    R_NAME_PARTIAL,
    R_NAME_DIFFERS,
    R_IBAN,
    R_NOT_OPEN,
)

# Decision reasons.
D_DEBIT = "debit, not a payment"
D_NO_CANDIDATE = "no candidate"
D_STRUCTURED = "structured reference"
D_EXACT = "exact reference and fitting amount"
D_EXACT_PARTIAL = "exact reference, partial payment"
D_FUZZY = "similar reference, equal amount and known payer"
D_SPLIT = "several orders paid at once"
D_SPLIT_REVIEW = "several orders paid at once, to review"
D_SEVERAL_STRUCTURED = "several candidates with a structured reference"
D_SEVERAL_REFERENCED = "several candidates referenced"
D_AMOUNT = "amount does not fit the reference"
D_FUZZY_WEAK = "similar reference only"
D_NOT_OPEN = "referenced order not open"
D_NO_REFERENCE = "no reference"
D_PENDING = "not booked yet"
DECISION_REASONS = (
    D_DEBIT,
    D_NO_CANDIDATE,
    D_STRUCTURED,
    D_EXACT,
    D_EXACT_PARTIAL,
    D_FUZZY,
    D_SPLIT,
    D_SPLIT_REVIEW,
    D_SEVERAL_STRUCTURED,
    D_SEVERAL_REFERENCED,
    D_AMOUNT,
    D_FUZZY_WEAK,
    D_NOT_OPEN,
    D_NO_REFERENCE,
    D_PENDING,
)

_POINTS_REF = {STRUCTURED: 100, EXACT: 60, FUZZY: 30}
_POINTS_AMOUNT = {EQUAL: 30, DISCOUNT: 30, SHORT: 25, SUM: 30}
_POINTS_NAME = {NAME_MATCH: 20, NAME_PARTIAL: 8}
_POINTS_IBAN = 25
_AMOUNT_REASON = {
    EQUAL: R_AMOUNT_EQUAL,
    SHORT: R_AMOUNT_SHORT,
    DISCOUNT: R_AMOUNT_DISCOUNT,
    PARTIAL: R_AMOUNT_PARTIAL,
    OVER: R_AMOUNT_OVER,
    SUM: R_AMOUNT_SUM,
    CURRENCY: R_CURRENCY,
}
_NAME_REASON = {
    NAME_MATCH: R_NAME_MATCH,
    NAME_PARTIAL: R_NAME_PARTIAL,
    NAME_DIFFERS: R_NAME_DIFFERS,
}


@dataclass(frozen=True)
class Candidate:
    """An open order the payment might pay, as the import service found it.

    `merchant_id` (optional) lets the scorer check an RF/QRR itself; without it, "rf"/"qrr" in
    `matched_by` is trusted when the payment carries such a reference. `customer_id` (optional)
    tells which candidates belong to one customer for a split; without it, the normalised
    customer name does."""

    order_id: int
    number: str
    customer_name: str
    open_amount: Decimal
    amount: Decimal
    currency: str
    status: str = "unpaid"
    invoice_number: str | None = None
    extra_references: tuple[str, ...] = ()
    extra_names: tuple[str, ...] = ()
    customer_iban: str | None = None
    discount_amount: Decimal | None = None
    discount_until: date | None = None
    matched_by: frozenset[str] = field(default_factory=frozenset)
    merchant_id: int | None = None
    customer_id: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "matched_by", frozenset(self.matched_by))
        object.__setattr__(self, "extra_references", tuple(self.extra_references))
        object.__setattr__(self, "extra_names", tuple(self.extra_names))


@dataclass(frozen=True)
class Suggestion:
    order_id: int
    score: int
    reasons: tuple[str, ...]
    amount_fit: str


@dataclass(frozen=True)
class Decision:
    """`auto`: the order to book the whole payment on without review, or None. `split`: the
    parts (order id, amount) of a payment for several orders; with a split, `auto` is set (to
    the first part's order) only when the parts may be booked without review - book `split`
    then, never the whole amount on `auto`. `suggestions`: best first."""

    auto: int | None
    suggestions: tuple[Suggestion, ...]
    reason: str
    split: tuple[tuple[int, Decimal], ...] | None = None

    @property
    def auto_split(self) -> bool:
        """A split that may be booked without review."""
        return self.split is not None and self.auto is not None

    @property
    def amount_fit(self) -> str | None:
        """The auto-assigned candidate's amount fit (`sum` for a split)."""
        for suggestion in self.suggestions:
            if suggestion.order_id == self.auto:
                return suggestion.amount_fit
        return None


# --- names -----------------------------------------------------------------------------------

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe"})
_NOISE_WORDS = (
    "herr herrn frau hr fr dr prof familie fam eheleute ehel mr mrs ms mme sig gmbh mbh ag "
    "kg ug ohg gbr co und and u haftungsbeschraenkt ltd inc sa sarl sagl llc se kgaa ek ev "
    "eg"
)
_NAME_NOISE = frozenset(_NOISE_WORDS.split())  # titles and legal forms


@functools.lru_cache(maxsize=4096)  # the same payers and customers again and again
def name_tokens(name: str | None) -> frozenset[str]:
    """A name's words, lowercase, umlauts spelled out, accents and titles/legal forms dropped."""
    text = (name or "").lower().translate(_UMLAUTS)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"\be\.\s?[kv]\.?", " ", text)  # e.K., e.V.
    return frozenset(w for w in re.split(r"[^a-z0-9]+", text) if w and w not in _NAME_NOISE)


def _same_word(a: str, b: str) -> bool:
    """Equal, or one a bank's truncation of the other (at least five letters)."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 5 and long.startswith(short)


def name_match(payer: str | None, name: str | None) -> str | None:
    """How the payer's name fits a customer name: NAME_MATCH, NAME_PARTIAL, NAME_DIFFERS, or
    None when either is missing.

    Word sets, so word order does not matter; an initial ("A. Schmidt") matches a word starting
    with it. Match: every word of the smaller name is found in the other, at least one of them
    as a whole word, and the smaller name has two words (or both one): "Schmidt" against
    "Anna Schmidt" is only partial, "Thomas und Anna Schmidt" against "Anna Schmidt" matches."""
    a, b = name_tokens(payer), name_tokens(name)
    if not a or not b:
        return None
    if len(a) == len(b):  # either may hold the initials
        levels = (_containment(a, b), _containment(b, a))
        return min(levels, key=_NAME_ORDER.index)
    return _containment(*sorted((a, b), key=len))


_NAME_ORDER = [NAME_MATCH, NAME_PARTIAL, NAME_DIFFERS]


def _containment(small: frozenset[str], big: frozenset[str]) -> str:
    whole = sum(1 for w in small if len(w) > 1 and any(_same_word(w, v) for v in big))
    initials = sum(
        1 for w in small if len(w) == 1 and any(v.startswith(w) and len(v) > 1 for v in big)
    )
    if whole == 0:
        return NAME_DIFFERS
    if whole + initials == len(small) and (len(small) >= 2 or len(big) == 1):
        return NAME_MATCH
    return NAME_PARTIAL


def _best_name(payer: str | None, candidate: Candidate) -> str | None:
    levels = [name_match(payer, n) for n in (candidate.customer_name, *candidate.extra_names)]
    levels = [level for level in levels if level]
    return min(levels, key=_NAME_ORDER.index) if levels else None


def _iban(value: str | None) -> str:
    return re.sub(r"\s", "", value or "").upper()


# --- one candidate ---------------------------------------------------------------------------


def search_text(tx) -> str:
    """Where a payment's references are looked for (a Transaction or a stored row): its
    structured reference, its remittance text, its end-to-end id, a line each."""
    parts = [tx.structured_reference, tx.remittance, tx.end_to_end_id]
    return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class _Evidence:
    """What the transaction offers, computed once."""

    structured: frozenset[tuple[str, str]]
    fuzzy_keys: frozenset[str]
    exact_keys: frozenset[str]

    @classmethod
    def of(cls, tx: Transaction) -> _Evidence:
        text = search_text(tx)
        return cls(
            frozenset(structured_references(text)),
            frozenset(text_keys(text)),
            frozenset(text_keys(text, readings=False)),
        )


@dataclass(frozen=True)
class _Assessment:
    candidate: Candidate
    ref: str | None
    fit: str
    name: str | None
    iban: bool
    score: int
    reasons: tuple[str, ...]

    @property
    def open(self) -> bool:
        return self.candidate.status not in CLOSED_STATUSES


def amount_fit(tx: Transaction, candidate: Candidate, tolerance: Decimal) -> str:
    """How the payment's amount fits the candidate's open amount (see the module docstring)."""
    if tx.currency.upper() != candidate.currency.upper():
        return CURRENCY
    paid, due = tx.amount, candidate.open_amount
    if paid == due:
        return EQUAL
    if (
        candidate.discount_amount is not None
        and candidate.discount_until is not None
        and paid == candidate.discount_amount
        and tx.booking_date <= candidate.discount_until
    ):
        return DISCOUNT
    if due - tolerance <= paid < due:
        return SHORT
    return PARTIAL if paid < due else OVER


def _structured_reason(candidate: Candidate, ev: _Evidence) -> str | None:
    kinds = {kind for kind, _ in ev.structured}
    if "rf" in kinds and "rf" in candidate.matched_by:
        return R_RF
    if "qrr" in kinds and "qrr" in candidate.matched_by:
        return R_QRR
    if candidate.merchant_id is None:
        return None
    try:
        if ("rf", creditor_reference(candidate.number, candidate.merchant_id)) in ev.structured:
            return R_RF
        if ("qrr", qr_reference(candidate.order_id, candidate.merchant_id)) in ev.structured:
            return R_QRR
    except ValueError:
        pass
    return None


def _text_references(candidate: Candidate, ev: _Evidence) -> tuple[str | None, list[str]]:
    """The strongest text reference (EXACT, FUZZY or None) and its reasons."""
    values = [(candidate.number, R_NUMBER, R_NUMBER_FUZZY)]
    if candidate.invoice_number:
        values.append((candidate.invoice_number, R_INVOICE, R_INVOICE_FUZZY))
    values += [(v, R_EXTRA, R_EXTRA_FUZZY) for v in candidate.extra_references if v]
    exact, fuzzy = [], []
    for value, exact_reason, fuzzy_reason in values:
        key = exact_key(value)
        if key and key in ev.exact_keys:
            exact.append(exact_reason)
        elif reference_keys(value) & ev.fuzzy_keys:
            fuzzy.append(fuzzy_reason)
    exact, fuzzy = list(dict.fromkeys(exact)), list(dict.fromkeys(fuzzy))
    if exact:
        return EXACT, exact
    return (FUZZY, fuzzy) if fuzzy else (None, [])


def _assess(tx: Transaction, candidate: Candidate, ev: _Evidence, tol: Decimal) -> _Assessment:
    reasons: list[str] = []
    structured = _structured_reason(candidate, ev)
    ref, text_reasons = _text_references(candidate, ev)
    if structured:
        ref = STRUCTURED
        reasons.append(structured)
    reasons += text_reasons
    fit = amount_fit(tx, candidate, tol)
    reasons.append(_AMOUNT_REASON[fit])
    name = _best_name(tx.counterparty_name, candidate)
    if name:
        reasons.append(_NAME_REASON[name])
    iban = bool(candidate.customer_iban) and _iban(candidate.customer_iban) == _iban(
        tx.counterparty_iban
    )
    if iban:
        reasons.append(R_IBAN)
    if candidate.status in CLOSED_STATUSES:
        reasons.append(R_NOT_OPEN)
    score = (
        _POINTS_REF.get(ref or "", 0)
        + _POINTS_AMOUNT.get(fit, 0)
        + _POINTS_NAME.get(name or "", 0)
        + (_POINTS_IBAN if iban else 0)
    )
    return _Assessment(candidate, ref, fit, name, iban, score, tuple(reasons))


# --- split -----------------------------------------------------------------------------------


def _customer(candidate: Candidate) -> object:
    if candidate.customer_id is not None:
        return ("id", candidate.customer_id)
    return ("name", tuple(sorted(name_tokens(candidate.customer_name))))


def _split(
    tx: Transaction, assessed: list[_Assessment], tol: Decimal
) -> tuple[list[_Assessment], tuple[tuple[int, Decimal], ...]] | None:
    """The referenced open orders of one customer whose open amounts the payment sums up."""
    if not tx.credit:
        return None
    groups: dict[object, list[_Assessment]] = {}
    for a in assessed:
        if a.ref and a.open and a.fit != CURRENCY and a.candidate.open_amount > 0:
            groups.setdefault(_customer(a.candidate), []).append(a)
    found = []
    for members in groups.values():
        if len(members) < 2:
            continue
        total = sum((a.candidate.open_amount for a in members), Decimal("0"))
        if total - tol <= tx.amount <= total:
            found.append(members)
    if len(found) != 1:
        return None
    members = sorted(found[0], key=lambda a: a.candidate.order_id)
    short = sum((a.candidate.open_amount for a in members), Decimal("0")) - tx.amount
    largest = max(members, key=lambda a: a.candidate.open_amount)  # takes the shortfall
    parts = tuple(
        (
            a.candidate.order_id,
            a.candidate.open_amount - (short if a is largest else Decimal("0")),
        )
        for a in members
    )
    return members, parts


def split(
    transaction: Transaction,
    candidates: list[Candidate],
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> list[tuple[int, Decimal]] | None:
    """[(order id, amount)] when the payment pays several referenced orders of one customer at
    once (amount = the sum of their open amounts, or short of it within the tolerance; the
    largest part takes the shortfall). None otherwise, or when two customers' groups fit."""
    ev = _Evidence.of(transaction)
    assessed = [_assess(transaction, c, ev, tolerance) for c in candidates]
    found = _split(transaction, assessed, tolerance)
    return list(found[1]) if found else None


# --- rank ------------------------------------------------------------------------------------


def _suggestions(
    assessed: list[_Assessment], parts: frozenset[int] | set[int] = frozenset()
) -> tuple[Suggestion, ...]:
    out = []
    for a in assessed:
        if a.candidate.order_id in parts:
            fit = SUM
            reasons = tuple(r for r in a.reasons if r not in _AMOUNT_REASON.values())
            reasons += (R_AMOUNT_SUM,)
            score = a.score - _POINTS_AMOUNT.get(a.fit, 0) + _POINTS_AMOUNT[SUM]
        else:
            fit, reasons, score = a.fit, a.reasons, a.score
        if score > 0:
            out.append(Suggestion(a.candidate.order_id, score, reasons, fit))
    return tuple(sorted(out, key=lambda s: (-s.score, s.order_id)))


def rank(
    transaction: Transaction,
    candidates: list[Candidate],
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> Decision:
    """Score the candidates and decide (the rule is in the module docstring)."""
    tx = transaction
    if not tx.credit:
        return Decision(None, (), D_DEBIT)
    if not candidates:
        return Decision(None, (), D_NO_CANDIDATE)
    ev = _Evidence.of(tx)
    assessed = [_assess(tx, c, ev, tolerance) for c in candidates]
    referenced = [a for a in assessed if a.ref]
    structured = [a for a in referenced if a.ref == STRUCTURED]
    if not tx.booked:
        return Decision(None, _suggestions(assessed), D_PENDING)

    def auto(a: _Assessment, reason: str) -> Decision:
        if not a.open:
            return Decision(None, _suggestions(assessed), D_NOT_OPEN)
        return Decision(a.candidate.order_id, _suggestions(assessed), reason)

    def review(reason: str) -> Decision:
        return Decision(None, _suggestions(assessed), reason)

    whole = [
        a for a in referenced if a.ref in (STRUCTURED, EXACT) and a.fit in (EQUAL, SHORT, DISCOUNT)
    ]
    found = None if whole else _split(tx, assessed, tolerance)
    if found:
        members, parts = found
        ids = {a.candidate.order_id for a in members}
        clean = all(a.ref in (STRUCTURED, EXACT) for a in members) and all(
            a.candidate.order_id in ids for a in referenced
        )
        return Decision(
            parts[0][0] if clean else None,
            _suggestions(assessed, ids),
            D_SPLIT if clean else D_SPLIT_REVIEW,
            split=parts,
        )

    if len(structured) > 1:
        return review(D_SEVERAL_STRUCTURED)
    if structured:
        a = structured[0]
        return review(D_AMOUNT) if a.fit == CURRENCY else auto(a, D_STRUCTURED)
    if not referenced:
        return review(D_NO_REFERENCE)
    if len(referenced) > 1:
        return review(D_SEVERAL_REFERENCED)
    a = referenced[0]
    if a.ref == EXACT:
        if a.fit in (EQUAL, SHORT, DISCOUNT):
            return auto(a, D_EXACT)
        if a.fit == PARTIAL:
            return auto(a, D_EXACT_PARTIAL)
        return review(D_AMOUNT)
    if a.fit == EQUAL and (a.name == NAME_MATCH or a.iban):
        return auto(a, D_FUZZY)
    return review(D_FUZZY_WEAK)
