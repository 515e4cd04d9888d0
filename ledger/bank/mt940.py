"""SWIFT MT940 account statements as German, Austrian and Swiss banks export them.

The statement line `:61:` is matched with the `mt-940` library's own pattern (it knows the
bank quirks: a line break before the amount, funds codes, the optional entry date). The rest is
read here, for three reasons:

* the mt-940 switches `applicant_iban`, `merge_keeps_values` and `reversal_sign` exist only
  from mt-940 5.0 (`mt940.Options`); the project pins 4.30 (`mt-940>=4.30,<5`), which has
  none of them. Their effect is done here instead: `?31` is the counterparty IBAN and never
  part of the name, a structured `:86:` never erases what `:61:` said (its customer
  reference), and the `RC`/`RD` reversal marks give the right direction (`RC`, a reversed
  credit, is money out);
* its `:86:` splitting ignores a `?` without a field number and truncates nothing, so a
  malformed detail field would pass unnoticed;
* errors must name the line of the file, and a file with several statements must give several
  Statements (the library merges them into one collection).

German `:86:` layout (DFÜ-Abkommen Anlage 3, "Datenformate", MT940 field 86): `GVC?00posting
text?10primanota?20…?29 remittance?30BIC?31IBAN?32…?33name?34Textschlüsselergänzung
?60…?63 more remittance`; inside the remittance the SEPA keywords EREF+, KREF+, MREF+, CRED+,
SVWZ+ … mark its parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

import mt940.tags
from schwifty import IBAN
from schwifty import iban as schwifty_iban

from ledger.bank.statements import BankFile, Statement, StatementError, Transaction

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

STATEMENT_LINE = mt940.tags.Statement().re  # the library's :61: pattern
# some banks (Commerzbank, Deutsche Bank) put a space between the amount and the type code
_SPACE_AFTER_AMOUNT = re.compile(r"^(\d{6}(?:\d{4})?R?[DC][A-Z]?\n?[\d,]+) (?=[A-Z])")
BALANCE = re.compile(r"^(?P<mark>[CD])(?P<date>\d{6})(?P<currency>[A-Z]{3})?(?P<amount>[\d,]+)$")
TAG = re.compile(r"^:(?P<tag>\d{2}[A-Z]?|NS):(?P<value>.*)$")
KNOWN_TAGS = {
    "13", "13D", "20", "21", "25", "25P", "28", "28C", "34F", "60", "60F", "60M", "61", "62",
    "62F", "62M", "64", "65", "86", "90C", "90D", "NS",
}  # fmt: skip
# the shape only, and short anonymised ones too: lengths and checksums are for the import to judge
IBAN_SHAPE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{4,30}$")
BLZ_ACCOUNT = re.compile(r"^(?P<blz>\d{8})/(?P<account>\d{1,10})(?P<currency>[A-Z]{3})?$")
OTHER_ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/.\-]{0,34}$")
BIC_SHAPE = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")
SUBFIELD = re.compile(r"\?(\d{2})")
SEPA_KEYWORDS = re.compile(
    r"(?<![A-Za-z0-9])(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|COAM|OAMT|IBAN|BIC|PURP|MDAT|"
    r"SQTP|ORCR|ORMR|DDAT|BREF|RREF)\+"
)
FIELD_WIDTH = 27  # a ?2x/?3x/?6x subfield holds 27 characters; longer text is cut, not wrapped
NOT_PROVIDED = "NOTPROVIDED"


@dataclass
class _Tag:
    tag: str
    value: str
    line: int  # 1-based, of the tag's first line
    lines: list[str] = field(default_factory=list)  # the value, line by line


def read_mt940(text: str) -> BankFile:
    """All statements of an MT940 file (already decoded)."""
    tags = _tags(text)
    statements: list[Statement] = []
    current: _Builder | None = None
    for tag in tags:
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
    """One statement being read, from its :20: to the next."""

    def __init__(self, header: _Tag):
        self.header = header
        self.reference = header.value.strip() or None
        self.account_iban: str | None = None
        self.account_other: str | None = None
        self.account_line: int | None = None
        self.currency: str | None = None
        self.opening: Decimal | None = None
        self.closing: Decimal | None = None
        self.closing_date: date | None = None
        self.opening_date: date | None = None
        self.lines: list[dict] = []  # one per :61:, with its :86: added
        self.raw: dict[str, str] = {}

    def add(self, tag: _Tag) -> None:
        where = f"line {tag.line}"
        if tag.tag in ("25", "25P", "28", "28C", "60", "60F", "60M") and self.lines:
            raise StatementError(
                f":{tag.tag}: after the transactions of the statement that starts at line "
                f"{self.header.line}: a new statement must start with :20:",
                where,
            )
        if tag.tag in ("25", "25P"):
            if self.account_line is not None:
                raise StatementError(
                    f"second account (:25:) in the statement that starts at line "
                    f"{self.header.line}",
                    where,
                )
            self.account_iban, self.account_other = _account(tag)
            self.account_line = tag.line
        elif tag.tag in ("60", "60F", "60M"):
            self.opening, self.opening_date = self._balance(tag)
        elif tag.tag in ("62", "62F", "62M"):
            self.closing, self.closing_date = self._balance(tag)
        elif tag.tag == "61":
            self.lines.append(_statement_line(tag))
        elif tag.tag == "86":
            if self.lines and "details" not in self.lines[-1]:
                self.lines[-1]["details"] = tag
            elif self.lines and self.closing is None:
                # a second :86: for the same line (Rabobank style): more of the same text
                prev = self.lines[-1]["details"]
                prev.value += "\n" + tag.value
                prev.lines += tag.lines
            else:
                self.raw["86"] = " ".join(tag.value.split())  # information on the statement
        else:
            self.raw[tag.tag] = " ".join(tag.value.split())

    def _balance(self, tag: _Tag) -> tuple[Decimal, date]:
        match = BALANCE.match(tag.value.replace("\n", "").strip())
        if not match:
            raise StatementError(
                f"balance :{tag.tag}: is not C/D, YYMMDD, currency, amount: {tag.value!r}",
                f"line {tag.line}",
            )
        amount = _decimal(match["amount"], tag)
        if match["currency"]:
            self.currency = self.currency or match["currency"]
        day = _yymmdd(match["date"], tag)
        return (-amount if match["mark"] == "D" else amount), day

    def finish(self) -> Statement:
        if self.account_line is None:
            raise StatementError("statement without an account (:25:)", f"line {self.header.line}")
        if self.currency is None and self.lines:
            raise StatementError(
                "statement without a currency: no :60F:/:62F: balance gives one",
                f"line {self.header.line}",
            )
        transactions = [_transaction(line, self.currency or "") for line in self.lines]
        dates = [t.booking_date for t in transactions]
        return Statement(
            kind="mt940",
            account_iban=self.account_iban,
            account_other=self.account_other,
            currency=self.currency,
            transactions=transactions,
            statement_id=self.reference,
            period_start=self.opening_date or (min(dates) if dates else None),
            period_end=self.closing_date,
            opening_balance=self.opening,
            closing_balance=self.closing,
            where=f"line {self.header.line}",
        )


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


def _statement_line(tag: _Tag) -> dict:
    value = _SPACE_AFTER_AMOUNT.sub(r"\1", tag.value)
    match = STATEMENT_LINE.match(value)
    # the library leaves the type code (1!a3!c, mandatory in SWIFT) optional and would then
    # read "1.000,00" as 1 with ".000,00" as the customer reference
    if not match or not match["id"]:
        raise StatementError(
            f":61: statement line not understood: {tag.value.splitlines()[0]!r}",
            f"line {tag.line}",
        )
    m = match.groupdict()
    value_date = _yymmdd(m["year"] + m["month"] + m["day"], tag)
    booking_date = value_date
    if m["entry_month"] and m["entry_day"]:
        booking_date = _entry_date(value_date, m["entry_month"], m["entry_day"], tag)
    status = m["status"].upper()
    return {
        "tag": tag,
        "value_date": value_date,
        "booking_date": booking_date,
        "amount": _decimal(m["amount"], tag),
        # C credit, D debit, RC reversal of a credit (money out), RD reversal of a debit (in)
        "credit": status in ("C", "RD"),
        "reversal": status.startswith("R"),
        "mark": status,
        "type": (m["id"] or "").strip() or None,
        "customer_reference": _reference(m["customer_reference"]),
        "bank_reference": _reference(m["bank_reference"]),
        "supplementary": (m["extra_details"] or "").strip() or None,
    }


def _transaction(line: dict, currency: str) -> Transaction:
    details = line.get("details")
    info = _details(details) if details else {}
    gvc = info.get("gvc")
    raw = {
        "line": line["tag"].line,
        ":61:": " ".join(line["tag"].value.split()),
        "mark": line["mark"],
    }
    if details:
        raw[":86:"] = "".join(details.lines)
    raw.update((k, v) for k, v in info.get("raw", {}).items() if v)
    end_to_end = info.get("EREF")
    if end_to_end and end_to_end.upper() == NOT_PROVIDED:
        end_to_end = None
    return Transaction(
        booking_date=line["booking_date"],
        value_date=line["value_date"],
        amount=line["amount"],
        currency=currency,
        credit=line["credit"],
        counterparty_name=info.get("name"),
        counterparty_iban=info.get("iban"),
        counterparty_bic=info.get("bic"),
        remittance=info.get("remittance", ""),
        end_to_end_id=end_to_end,
        account_servicer_ref=line["bank_reference"],
        entry_reference=line["customer_reference"] or info.get("KREF"),
        mandate_id=info.get("MREF"),
        bank_code=gvc or line["type"],
        reversal=line["reversal"] or (gvc in GVC_REVERSALS),
        raw=raw,
    )


def _details(tag: _Tag) -> dict:
    """The parts of a :86:. Structured (German, `GVC?00…`) or free text (Swiss, Dutch)."""
    # the MT line breaks (at 65 characters) are not part of the text
    text = "".join(tag.lines)
    structured = re.match(r"^(\d{3})\?", text)
    if not structured:
        return {"remittance": " ".join(text.split())}
    _check_subfields(tag)
    fields: dict[str, str] = {}
    order: list[str] = []
    parts = SUBFIELD.split(text[3:])  # ["", "00", "posting text", "10", "…", …]
    for number, content in zip(parts[1::2], parts[2::2], strict=True):
        if number in fields:
            fields[number] += content
        else:
            fields[number] = content
            order.append(number)
    remittance_fields = [n for n in order if n[0] == "2" or n in ("60", "61", "62", "63")]
    remittance_text = _join(fields[n] for n in remittance_fields)
    parts_by_keyword, free = _sepa_parts(remittance_text)
    info: dict = {"gvc": structured[1], **parts_by_keyword}
    info["remittance"] = parts_by_keyword.get("SVWZ") or free
    info["name"] = _join(fields.get(n, "") for n in ("32", "33")) or None
    account = "".join(fields.get("31", "").split()).upper()
    bank = fields.get("30", "").strip().upper()
    # an old account number with a BLZ in ?30 stays in raw: the IBAN is not computed for others
    info["iban"] = account if IBAN_SHAPE.match(account) else None
    info["bic"] = bank if BIC_SHAPE.match(bank) else None
    info["raw"] = {
        "GVC": structured[1],
        "posting text": fields.get("00", "").strip(),
        "?30": bank,
        "?31": account,
        "?34": fields.get("34", "").strip(),
        "free text": free if parts_by_keyword.get("SVWZ") else "",
        **{k: v for k, v in parts_by_keyword.items() if k not in ("SVWZ",)},
    }
    return info


def _check_subfields(tag: _Tag) -> None:
    """Every `?` of a structured :86: starts a subfield `?NN`; anything else is a broken file."""
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


def _sepa_parts(text: str) -> tuple[dict[str, str], str]:
    """{"EREF": …, "SVWZ": …} and the text before the first keyword."""
    matches = list(SEPA_KEYWORDS.finditer(text))
    if not matches:
        return {}, " ".join(text.split())
    parts: dict[str, str] = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        value = " ".join(text[match.end() : end].split())
        parts.setdefault(match[1], value)
    return parts, " ".join(text[: matches[0].start()].split())


def _join(parts) -> str:
    """Subfields are 27 characters wide and text is cut wherever the field is full: a full
    field continues in the next without a space, a shorter one ended a word."""
    out = previous = ""
    for part in parts:
        if not part:
            continue
        if out and len(previous) < FIELD_WIDTH and not previous.endswith(" "):
            out += " "
        out += part
        previous = part
    return " ".join(out.split())


def _reference(value: str | None) -> str | None:
    """None for NONREF, and for a bare keyword ("KREF+": the reference is in :86: KREF+)."""
    value = (value or "").strip()
    if not value or value.upper() == "NONREF" or re.fullmatch(r"[A-Z]{4}\+", value):
        return None
    return value


def _decimal(text: str, tag: _Tag) -> Decimal:
    """MT940 amounts: digits with a decimal comma ("1234,5", "0,")."""
    if not re.fullmatch(r"\d+(,\d*)?", text or ""):
        raise StatementError(f"amount {text!r} is not a decimal number", f"line {tag.line}")
    try:
        return Decimal(text.replace(",", ".").rstrip("."))
    except InvalidOperation as exc:  # pragma: no cover - the pattern above already refuses
        raise StatementError(
            f"amount {text!r} is not a decimal number", f"line {tag.line}"
        ) from exc


def _yymmdd(text: str, tag: _Tag) -> date:
    year, month, day = 2000 + int(text[:2]), int(text[2:4]), int(text[4:6])
    return _make_date(year, month, day, tag)


def _make_date(year: int, month: int, day: int, tag: _Tag) -> date:
    if month == 2 and day in (29, 30) and not _is_leap(year):
        day = 28  # German banks book on "30 February" (30/360 interest); the library does this too
    elif month == 2 and day == 30:
        day = 29
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise StatementError(
            f"{year:04d}-{month:02d}-{day:02d} is not a date", f"line {tag.line}"
        ) from exc


def _entry_date(value_date: date, month: str, day: str, tag: _Tag) -> date:
    """The booking date (MMDD) lies near the value date, possibly across a year end."""
    entry = _make_date(value_date.year, int(month), int(day), tag)
    if entry - value_date > timedelta(days=180):
        entry = _make_date(value_date.year - 1, int(month), int(day), tag)
    elif value_date - entry > timedelta(days=180):
        entry = _make_date(value_date.year + 1, int(month), int(day), tag)
    return entry


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
