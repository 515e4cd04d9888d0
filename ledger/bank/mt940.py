"""SWIFT MT940 account statements as German, Austrian and Swiss banks export them.

The `mt-940` library (5.1) parses the fields: the statement line `:61:` (amount signed by its
mark, value and entry date, type code, references), the balances, and the German structured
`:86:` (`GVC?00posting text?10primanota?20…?29 remittance?30BIC?31IBAN?32…?33name?34…
?60…?63 more remittance`, DFÜ-Abkommen Anlage 3) with its SEPA keywords EREF+, KREF+,
MREF+, CRED+, SVWZ+ …. Its `Options` are switched on where its 5.0 defaults are wrong for us:
`applicant_iban` (else `?31`, the IBAN, is glued onto the name), `merge_keeps_values` (else a
`:86:` without KREF+ erases the `:61:` customer reference), `reversal_sign` (else `RC`, a
reversed credit, counts as money in).

Done here, because the library does not:

* the file is cut into tags here, with their line numbers, and each tag is given to the library
  on its own: errors name the line, and a file with several statements gives several
  Statements (the library merges them into one collection);
* structure is checked here: unknown tags, a missing `:20:` or `:25:`, a statement without a
  currency, a `?` in `:86:` without a subfield number (the library skips it silently);
* the account `:25:` (IBAN, `BLZ/account` with the IBAN computed, a bank's own number), the
  GVCs of returns and reversals, the mapping to ledger.bank.statements.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date

import mt940
from mt940 import processors
from schwifty import IBAN
from schwifty import iban as schwifty_iban

from ledger.bank.statements import BankFile, Statement, StatementError, Transaction

OPTIONS = mt940.Options(
    applicant_iban=True,
    merge_keeps_values=True,
    reversal_sign=True,
    case_insensitive_marks=True,  # "rc" like "RC"
    unbounded_details=True,  # else :86: is cut after nine lines of 65 characters
    gvc_leading_text=True,  # else "1+1 …" in front of a SEPA keyword is dropped
)  # the other options concern tags not given to the library (:13D:, :34F:, :NS:)

# Geschäftsvorfallcodes (GVC) of returns and reversals. Source: DFÜ-Abkommen Anlage 3
# (Datenformate) of the Deutsche Kreditwirtschaft, GVC list (https://www.ebics.de/de/datenformate),
# as reproduced in HypoVereinsbank, "Geschäftsvorfall- und Rückgabecodes" (2018) and in the
# GvcCode list of DFÜ Anlage 3 V3.4 of the open-source "CommonToolkit" (Schuppelius):
#   108 SEPA-Lastschrift Rückbelastung B2B      109 SEPA-Lastschrift Rückbelastung Core
#   110 SEPA Card Clearing Rückbelastung        111 Scheckrückrechnung
#   159 SEPA-Überweisung Retoure/Rückbuchung    160 SEPA-Echtzeitüberweisung Rückbuchung
#   181 SEPA-Lastschrift Wiedergutschrift Core  182 SEPA Card Clearing Wiedergutschrift
#   183 Scheckrückgabe                          184 SEPA-Lastschrift Wiedergutschrift B2B
#   193 SEPA-Lastschrift Reversal               199 SEPA Card Clearing Reversal
#   899 Storno
# 808/809 are charges and commission in that list (the fee a bank takes for a return), not
# the return itself, so they are not here.
GVC_REVERSALS = frozenset(
    {"108", "109", "110", "111", "159", "160", "181", "182", "183", "184", "193", "199", "899"}
)

TAG = re.compile(r"^:(?P<tag>\d{2}[A-Z]?|NS):(?P<value>.*)$")
KNOWN_TAGS = {
    "13", "13D", "20", "21", "25", "25P", "28", "28C", "34F", "60", "60F", "60M", "61", "62",
    "62F", "62M", "64", "65", "86", "90C", "90D", "NS",
}  # fmt: skip
HEADER_TAGS = {"25", "25P", "28", "28C", "60", "60F", "60M"}
OPENING, CLOSING = ("60", "60F", "60M"), ("62", "62F", "62M")

# some banks (Commerzbank, Deutsche Bank) put a space between the amount and the type code;
# the library's :61: pattern allows one only before the amount
_SPACE_AFTER_AMOUNT = re.compile(r"^(\d{6}(?:\d{4})?R?[DC][A-Z]?\n?[\d,]+) (?=[A-Z])", re.I)
# The library's balance pattern takes any three characters as the currency, so a balance
# without one ("C02032495000,00", raphaelm sample) became currency "950", amount 00,00; and
# it takes an empty amount. The same pattern with an optional currency and a real amount:
BALANCE_PATTERN = r"""^
    (?P<status>[DC])(?P<year>\d{2})(?P<month>\d{2})(?P<day>\d{2})
    (?P<currency>[A-Z]{3})?(?P<amount>\d+(?:,\d*)?)$"""
BALANCE_TAGS = [
    mt940.tags.OpeningBalance,
    mt940.tags.FinalOpeningBalance,
    mt940.tags.IntermediateOpeningBalance,
    mt940.tags.ClosingBalance,
    mt940.tags.FinalClosingBalance,
    mt940.tags.IntermediateClosingBalance,
]

# the shape only, and short anonymised ones too: lengths and checksums are for the import to judge
IBAN_SHAPE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{4,30}$")
BLZ_ACCOUNT = re.compile(r"^(?P<blz>\d{8})/(?P<account>\d{1,10})(?P<currency>[A-Z]{3})?$")
OTHER_ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/.\-]{0,34}$")
BIC_SHAPE = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")
STRUCTURED = re.compile(r"^\d{3}\?")
SUBFIELD = re.compile(r"(\?\d{2})")
FIELD_WIDTH = 27  # a ?2x/?3x/?6x subfield holds 27 characters; longer text is cut, not wrapped
# the SEPA keywords the library knows, and the library's key for each ("BIC " has a space)
KEYWORDS = {key: keyword.strip() for keyword, key in processors.GVC_KEYS.items() if keyword}
SEPA_KEYWORD = re.compile("(?:" + "|".join(KEYWORDS.values()) + r")\+")
NOT_PROVIDED = "NOTPROVIDED"


@dataclass
class _Tag:
    tag: str
    value: str
    line: int  # 1-based, of the tag's first line
    lines: list[str] = field(default_factory=list)  # the value, line by line


@dataclass
class _Line:
    """A :61: with its :86: tags and what the library made of them."""

    tag: _Tag
    parsed: mt940.models.Transaction
    details: list[_Tag] = field(default_factory=list)


def read_mt940(text: str) -> BankFile:
    """All statements of an MT940 file (already decoded)."""
    statements: list[Statement] = []
    current: _Builder | None = None
    for tag in _tags(text):
        if tag.tag == "20":
            if current:
                statements.append(current.finish())
            current = _Builder(tag)
            continue
        if current is None:
            raise StatementError(
                f"MT940 :{tag.tag}: before the statement header: a statement starts with :20: "
                "and :25:",
                f"line {tag.line}",
            )
        current.add(tag)
    if current is None:
        raise StatementError("no MT940 statement (:20:) in the file", "line 1")
    statements.append(current.finish())
    return BankFile(format="mt940", statements=statements)


def _tags(text: str) -> list[_Tag]:
    """The tags of the file with their line numbers: SWIFT envelopes, `-` separators, control
    characters and CR are dropped, continuation lines go to the tag before them."""
    tags: list[_Tag] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    pending_colon = None  # Sparkassen break ":86:" as ":" + newline + "86:"
    for number, line in enumerate(lines, 1):
        line = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", line)
        if "{4:" in line:  # {1:…}{2:…}{3:…}{4: the message text starts after it
            line = line.split("{4:", 1)[1]
        stripped = line.strip()
        if stripped == "-" or stripped.startswith("-}") or stripped.startswith("{5:"):
            continue
        if pending_colon is not None:
            line, number = ":" + line, pending_colon
            pending_colon = None
        elif stripped == ":":
            pending_colon = number
            continue
        match = TAG.match(line)
        if match:
            name = match["tag"]
            if name not in KNOWN_TAGS:
                raise StatementError(f"unknown MT940 tag :{name}:", f"line {number}")
            value = match["value"].rstrip()
            tags.append(_Tag(name, value, number, [value]))
        elif not stripped:
            continue
        elif tags:
            tags[-1].lines.append(line.rstrip())
            tags[-1].value += "\n" + line.rstrip()
        else:
            raise StatementError(
                f"text before the first MT940 tag: {stripped[:40]!r}", f"line {number}"
            )
    return tags


class _Builder:
    """One statement being read, from its :20: to the next; the library parses its fields."""

    def __init__(self, header: _Tag):
        self.header = header
        self.parsed = mt940.models.Transactions(
            processors=PROCESSORS, tags=TAGS_BY_ID, options=OPTIONS
        )
        self.account_iban: str | None = None
        self.account_other: str | None = None
        self.account_line: int | None = None
        self.opening: mt940.models.Balance | None = None
        self.closing: mt940.models.Balance | None = None
        self.lines: list[_Line] = []

    def add(self, tag: _Tag) -> None:
        if tag.tag in HEADER_TAGS and self.lines:
            raise StatementError(
                f":{tag.tag}: after the transactions of the statement that starts at line "
                f"{self.header.line}: a new statement must start with :20:",
                f"line {tag.line}",
            )
        if tag.tag in ("25", "25P"):
            if self.account_line is not None:
                raise StatementError(
                    f"second account (:25:) in the statement that starts at line "
                    f"{self.header.line}",
                    f"line {tag.line}",
                )
            self.account_iban, self.account_other = _account(tag)
            self.account_line = tag.line
        elif tag.tag == "86":
            # the first :86: after a :61: describes it, more of them before the closing balance
            # continue it (Rabobank); one elsewhere is about the statement and not kept (the
            # library would add it to the last transaction)
            if self.lines and not (self.closing is not None and self.lines[-1].details):
                if STRUCTURED.match("".join(tag.lines)):
                    _check_subfields(tag)
                self._parse(tag)
                self.lines[-1].details.append(tag)
        elif tag.tag == "61":
            self._parse(tag, _SPACE_AFTER_AMOUNT.sub(r"\1", tag.value))
            parsed = self.parsed.transactions[-1]
            # the library leaves the type code (1!a3!c, mandatory in SWIFT) optional and would
            # read "1.000,00" as 1 with ".000,00" as the customer reference
            if not parsed.data.get("id"):
                raise StatementError(_not_understood(tag), f"line {tag.line}")
            self.lines.append(_Line(tag, parsed))
        elif tag.tag in OPENING + CLOSING:
            self._parse(tag)
            balance = self.parsed.data[BALANCE_SLUGS[tag.tag]]
            if tag.tag in OPENING:
                self.opening = balance
            else:
                self.closing = balance
        # :13D:, :21:, :28C:, :34F:, :64:, :65:, :90C:, :90D:, :NS: carry nothing a Statement
        # keeps; they are not given to the library, so an odd one does not refuse the file

    def _parse(self, tag: _Tag, value: str | None = None) -> None:
        """Hand one tag to the library; what it cannot read is refused naming the line."""
        try:
            self.parsed.parse(f":{tag.tag}:{tag.value if value is None else value}")
        except (RuntimeError, ValueError, ArithmeticError) as exc:  # no match, date, Decimal
            detail = f" ({exc})" if type(exc) is ValueError else ""  # "month must be in 1..12"
            raise StatementError(_not_understood(tag) + detail, f"line {tag.line}") from exc

    def finish(self) -> Statement:
        if self.account_line is None:
            raise StatementError("statement without an account (:25:)", f"line {self.header.line}")
        opening, closing = self.opening, self.closing
        currencies = [b.amount.currency for b in (opening, closing) if b and b.amount.currency]
        currency = currencies[0] if currencies else None
        if currency is None and self.lines:
            raise StatementError(
                "statement without a currency: no :60F:/:62F: balance gives one",
                f"line {self.header.line}",
            )
        transactions = [_transaction(line, currency or "") for line in self.lines]
        dates = [t.booking_date for t in transactions]
        return Statement(
            kind="mt940",
            account_iban=self.account_iban,
            account_other=self.account_other,
            currency=currency,
            transactions=transactions,
            statement_id=self.header.value.strip() or None,
            period_start=_date(opening.date) if opening else (min(dates) if dates else None),
            period_end=_date(closing.date) if closing else None,
            opening_balance=opening.amount.amount if opening else None,
            closing_balance=closing.amount.amount if closing else None,
            where=f"line {self.header.line}",
        )


def _not_understood(tag: _Tag) -> str:
    first = tag.value.splitlines()[0] if tag.value else ""
    if tag.tag == "61":
        return f":61: statement line not understood: {first!r}"
    if tag.tag in OPENING + CLOSING:
        return f"balance :{tag.tag}: is not C/D, YYMMDD, currency, amount: {tag.value!r}"
    return f":{tag.tag}: not understood: {first!r}"


def _account(tag: _Tag) -> tuple[str | None, str | None]:
    """(IBAN, other) of a :25: — an IBAN, `BLZ/account number` or a bank's own account number.

    For a German BLZ the IBAN is computed as well, so the import finds the account by either."""
    value = tag.value.strip()
    if "\n" in value or not value:
        raise StatementError(
            f"account :25: is not an IBAN or BLZ/account number: {value[:40]!r}",
            f"line {tag.line}",
        )
    compact = value.replace(" ", "").upper()
    if IBAN_SHAPE.match(compact):
        # ING and others append the currency: "NL69INGB0123456789EUR"
        if re.search(r"\d[A-Z]{3}$", compact) and len(compact) - 3 == _iban_length(compact[:2]):
            return compact[:-3], value
        return compact, None
    match = BLZ_ACCOUNT.match(compact)
    if match:
        return _german_iban(match["blz"], match["account"]), value
    if OTHER_ACCOUNT.match(compact) and not re.match(r"^[A-Z]{2}\d{2}", compact):
        return None, value
    raise StatementError(
        f"account :25: is not an IBAN or BLZ/account number: {value[:40]!r}", f"line {tag.line}"
    )


def _iban_length(country: str) -> int | None:
    try:
        return schwifty_iban.registry.get_iban_spec(country).iban_length
    except Exception:  # an unknown country code
        return None


def _german_iban(blz: str, account: str) -> str | None:
    """The IBAN of a German account, when the BLZ is a bank's (not a made-up one)."""
    try:
        iban = IBAN.generate("DE", bank_code=blz, account_code=account)
    except Exception:  # schwifty raises its own errors for impossible codes
        return None
    return str(iban.compact) if iban.bank is not None else None


def _check_subfields(tag: _Tag) -> None:
    """Every `?` of a structured :86: starts a subfield `?NN`; anything else is a broken file
    (the library would skip it)."""
    for offset, line in enumerate(tag.lines):
        for match in re.finditer(r"\?", line):
            following = line[match.end() : match.end() + 2]
            if len(following) < 2 and offset + 1 < len(tag.lines):
                following += tag.lines[offset + 1][: 2 - len(following)]
            if not re.fullmatch(r"\d{2}", following):
                raise StatementError(
                    ":86: '?' without a two-digit subfield number after it",
                    f"line {tag.line + offset}",
                )


# --- processors: what the library is told to do besides its defaults ----------------------


def _entry_date_fixup(transactions, tag, tag_dict):
    """German banks book on "30 February" (30/360 interest); the library's
    date_fixup_pre_processor moves the value date to the month's end, this the entry date."""
    if tag_dict.get("entry_month") == "02" and (tag_dict.get("entry_day") or "").isdigit():
        last = calendar.monthrange(2000 + int(tag_dict["year"]), 2)[1]
        tag_dict["entry_day"] = str(min(int(tag_dict["entry_day"]), last))
    return tag_dict


def _no_placeholder_references(transactions, tag, tag_dict, result):
    """NONREF, and a bare keyword ("KREF+": the reference is in :86: KREF+), say there is no
    reference. As None they give way to the :86: KREF+; as text the library would append it."""
    for key in ("customer_reference", "bank_reference"):
        value = (result.get(key) or "").strip()
        placeholder = value.upper() == "NONREF" or re.fullmatch(r"[A-Z]{4}\+", value)
        result[key] = None if not value or placeholder else value
    return result


def _mark_word_ends(transactions, tag, tag_dict):
    """Join the MT lines of a :86: (a break at 65 characters is not in the text), and end
    every `?NN` subfield shorter than 27 characters with a space.

    A subfield is cut wherever it is full, so a full one continues in the next without a space
    and a shorter one ended a word. The library joins subfields either all with or all without
    spaces: "EREF+A1.…254" "?21.4961336" needs none, "SVWZ+…ABRECHNUNG" "?23NR. 28" one, as do
    the name halves "?32TESTER" "?33EL". With the space added here its join without spaces is
    right everywhere."""
    details = "".join(tag_dict["transaction_details"].splitlines())
    if STRUCTURED.match(details):
        parts = SUBFIELD.split(details)  # [GVC, "?00", posting text, "?10", …]
        details = parts[0] + "".join(
            number + (text if len(text) >= FIELD_WIDTH or text.endswith(" ") else text + " ")
            for number, text in zip(parts[1::2], parts[2::2], strict=True)
        )
    tag_dict["transaction_details"] = details
    return tag_dict


def _free_text(transactions, tag, tag_dict, result):
    """The text in front of the first SEPA keyword ("Rechnung 4711 EREF+…"): the library drops
    it, and without an SVWZ+ it is the remittance."""
    purpose = "".join(re.findall(r"\?2\d([^?]*)", tag_dict["transaction_details"]))
    first = SEPA_KEYWORD.search(purpose)
    result["free_text"] = _text(purpose[: first.start()]) if first else ""
    return result


BALANCE_TAG_OBJECTS = [
    type(cls.__name__, (cls,), {"pattern": BALANCE_PATTERN})() for cls in BALANCE_TAGS
]
TAGS_BY_ID = {t.id: t for t in BALANCE_TAG_OBJECTS}
BALANCE_SLUGS = {str(t.id): t.slug for t in BALANCE_TAG_OBJECTS}  # "60F": "final_opening_balance"
PROCESSORS = {
    "pre_statement": [processors.date_fixup_pre_processor, _entry_date_fixup],
    "post_statement": [processors.date_cleanup_post_processor, _no_placeholder_references],
    "pre_transaction_details": [_mark_word_ends],
    "post_transaction_details": [_free_text, processors.transaction_details_post_processor],
    **{f"pre_{t.slug}": [processors.date_fixup_pre_processor] for t in BALANCE_TAG_OBJECTS},
}


# --- to our data classes ------------------------------------------------------------------


def _transaction(line: _Line, currency: str) -> Transaction:
    data = line.parsed.data
    signed = data["amount"].amount
    mark = data["status"].upper()  # C, D, RC (a reversed credit: money out), RD (money in)
    gvc = data.get("transaction_code")
    structured = gvc is not None
    raw = {"line": line.tag.line, ":61:": " ".join(line.tag.value.split()), "mark": mark}
    if line.details:
        raw[":86:"] = "".join(text for tag in line.details for text in tag.lines)
    if structured:
        raw.update(
            {
                "GVC": gvc,
                "posting text": _text(data.get("posting_text")),
                "?30": _text(data.get("applicant_bin")),
                "?31": _text(data.get("applicant_iban")),
                "?34": _text(data.get("return_debit_notes")),
                "free text": data.get("free_text", "") if data.get("purpose") else "",
                **{
                    keyword: _text(data.get(key))
                    for key, keyword in KEYWORDS.items()
                    if key not in ("purpose", "customer_reference")  # remittance, entry ref.
                },
            }
        )
        remittance = _text(f"{data.get('purpose') or ''} {data.get('additional_purpose') or ''}")
        remittance = remittance or data.get("free_text", "")
    else:
        remittance = _text(data.get("transaction_details"))
    raw = {k: v for k, v in raw.items() if v}
    iban = "".join((data.get("applicant_iban") or "").split()).upper()
    bic = _text(data.get("applicant_bin")).upper()
    end_to_end = _text(data.get("end_to_end_reference")) or None
    if end_to_end and end_to_end.upper() == NOT_PROVIDED:
        end_to_end = None
    # the library appends a :86: KREF+ to a :61: customer reference on a new line: the :61: wins
    reference = (data.get("customer_reference") or "").split("\n")[0].strip() or None
    return Transaction(
        booking_date=_date(data.get("entry_date") or data["date"]),
        value_date=_date(data["date"]),
        amount=-signed if signed.is_signed() else signed,
        currency=currency,
        credit=not signed.is_signed(),
        counterparty_name=_text(data.get("applicant_name")) or None,
        counterparty_iban=iban if IBAN_SHAPE.match(iban) else None,
        counterparty_bic=bic if BIC_SHAPE.match(bic) else None,
        remittance=remittance,
        end_to_end_id=end_to_end,
        account_servicer_ref=data.get("bank_reference"),
        entry_reference=reference,
        mandate_id=_text(data.get("additional_position_reference")) or None,
        bank_code=gvc or data.get("id"),
        reversal=mark.startswith("R") or gvc in GVC_REVERSALS,
        raw=raw,
    )


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


def _date(value: date) -> date:
    """A plain date (the library's is a subclass)."""
    return date(value.year, value.month, value.day)
