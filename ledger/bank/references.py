"""Payment references: the ones Mahnwerk prints, and the keys that find an order in the text.

Structured references (checksummed, decisive when found):

- `creditor_reference`: an ISO 11649 RF reference for euro payment requests. Body: the merchant
  id, length-prefixed (`"2" + "42"` for merchant 42, so `4|2AK1` and `42|AK1` cannot collide),
  then the order number's letters and digits, uppercase. It stays readable: "RF40 242A K100 01"
  for merchant 42's "AK-10001".
  Limits, since the body has 21 characters and the function only sees the number: order numbers
  that differ only in case or punctuation ("AK-1001" / "ak1001") share a reference, and a number
  too long for the body keeps its last characters plus four characters of a hash of the whole
  number. Both are rare; the matcher treats two orders with one reference as ambiguous.
- `qr_reference`: a Swiss QRR, 26 digits (merchant id in 10, order id in 16) and the modulo-10
  recursive check digit. Injective; `decode_qr_reference` gives both ids back.

Fuzzy keys (`reference_keys` for an order's numbers, `text_keys` for remittance text): a payment is
a candidate for an order when the two sets intersect. A key is an uppercase alphanumeric string:

- the whole reference without separators, with leading zeros of its number dropped
  ("AK-010001", "ak.10001", "AK 10 001" -> "AK10001");
- its digits alone ("10001"), for a payer who leaves out the prefix. Digits-only keys need at least
  4 significant digits, and 1990-2099 alone is a year, not a key (a purely numeric order number
  in that range is found by its structured reference only);
- inside a number, O/o read as 0 and I/l as 1 ("AK-1OOO1", "AK-I0001"), when the number has at
  least two real digits. A glued prefix ending in such a letter is read as letters ("AKI0001" is
  prefix "AKI"); with a separator ("AK-I0001") it works.

Before `text_keys` looks for numbers it removes what is certainly not an order reference: RF and
QR references, valid IBANs, dates (12.10.2026, 2026-10-12, 12/10/2026) and amounts (49,90,
1.234,56, 49.90, "50 EUR", "CHF 120.-"). Words like "Rechnung", "Re-Nr.", "Best.-Nr.",
"Kd-Nr" are simply not keys; a short word before a number (up to 5 letters: "AK", "RE") is
also tried as its prefix, over a whole list ("RE 4711, 4712 und 4713").

Postal codes are kept: "10001 Berlin" cannot be told from "10001 Schmidt" (an order number and the
customer's name) without a list of cities, so a 5-digit postal code can make an order with the same
digits a candidate. That is a weak risk by design: for an order number with a prefix, a digits-only
match is a fuzzy match in `ledger.bank.scoring`, which needs an equal amount and the payer's name
as well before it assigns anything on its own. A purely numeric order number ("10115") is
mentioned exactly by an equal postal code; the scorer still assigns nothing when the text names
another candidate too, so what remains is a payment that names no order at all and comes from
that postal code.
"""

from __future__ import annotations

import functools
import hashlib
import re
from datetime import date

from stdnum import iban as _iban
from stdnum import iso11649
from stdnum.ch import esr
from stdnum.iso7064 import mod_97_10

RF_BODY_MAX = 21
QRR_MERCHANT_DIGITS = 10
QRR_ORDER_DIGITS = 16
MAX_ORDER_KEYS = 6
MAX_TEXT_KEYS = 40
MAX_KEY_LENGTH = 40  # a key is cut to this (both sides alike), so it fits an indexed column
MIN_DIGITS = 4  # a digits-only key has at least this many significant digits
MAX_PREFIX = 5  # a word of up to this many letters before a number is tried as its prefix
# Short words that come before numbers but are never an order number's prefix (they would only
# spend the text's key budget): "Rechnungen 4711 und 4712", "Nr. 4711".
_NOT_PREFIXES = (
    "UND AND ODER OR VOM VON DER DIE DAS DEN DEM DES ZUM ZUR FUER FOR PER BIS MIT NR NO NUM "
    "THE OF TO"
)
NOT_PREFIXES = frozenset(_NOT_PREFIXES.split())

# --- structured references -------------------------------------------------------------------


def _alnum_upper(value: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", value.upper())


def creditor_reference(order_number: str, merchant_id: int) -> str:
    """The compact RF reference ("RF18242AK10001") for one merchant's order."""
    if not isinstance(merchant_id, int) or merchant_id < 1 or merchant_id >= 10**9:
        raise ValueError("merchant id must be between 1 and 999999999")
    merchant = str(merchant_id)
    head = f"{len(merchant)}{merchant}"
    order = _alnum_upper(order_number)
    if not order:
        raise ValueError("order number has no letters or digits")
    room = RF_BODY_MAX - len(head)
    if len(order) > room:
        digest = int.from_bytes(hashlib.sha256(order_number.encode()).digest()[:8], "big")
        tail = _base36(digest)[:4].rjust(4, "0")
        order = order[-(room - 4) :] + tail
    body = head + order
    return iso11649.validate("RF" + mod_97_10.calc_check_digits(body + "RF") + body)


def _base36(number: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


def format_creditor_reference(reference: str) -> str:
    """For print: groups of four ("RF18 242A K100 01")."""
    return iso11649.format(reference)


def decode_creditor_reference(reference: str) -> tuple[int, str] | None:
    """(merchant id, the order number's characters) of a reference made by `creditor_reference`;
    None for an invalid one or one made by someone else."""
    if not iso11649.is_valid(reference):
        return None
    body = iso11649.compact(reference)[4:]
    if not body[:1].isdigit() or body[0] == "0":
        return None
    size = int(body[0])
    merchant = body[1 : 1 + size]
    if len(merchant) != size or not merchant.isdigit() or merchant[0] == "0":
        return None
    rest = body[1 + size :]
    return (int(merchant), rest) if rest else None


def qr_reference(order_id: int, merchant_id: int) -> str:
    """The 27-digit QR reference for a Swiss QR bill."""
    if not 1 <= merchant_id < 10**QRR_MERCHANT_DIGITS:
        raise ValueError("merchant id out of range for a QR reference")
    if not 1 <= order_id < 10**QRR_ORDER_DIGITS:
        raise ValueError("order id out of range for a QR reference")
    body = f"{merchant_id:0{QRR_MERCHANT_DIGITS}d}{order_id:0{QRR_ORDER_DIGITS}d}"
    return body + esr.calc_check_digit(body)


def format_qr_reference(reference: str) -> str:
    """For print: "00 00000 00042 00000 00000 10001 7"-style groups (2, then fives)."""
    return esr.format(reference)


def decode_qr_reference(reference: str) -> tuple[int, int] | None:
    """(merchant id, order id) of a valid QR reference made by `qr_reference`, else None."""
    digits = re.sub(r"\s", "", reference)
    if len(digits) != 27 or not digits.isdigit() or not esr.is_valid(digits):
        return None
    merchant = int(digits[:QRR_MERCHANT_DIGITS])
    order = int(digits[QRR_MERCHANT_DIGITS:26])
    return (merchant, order) if merchant and order else None


_RF_START = re.compile(r"(?<![A-Za-z0-9])RF\s?(\d{2})", re.IGNORECASE)
_DIGIT_RUN = re.compile(r"(?<![\dA-Za-z])\d+(?: \d+)*(?![\dA-Za-z])")


def structured_references(text: str) -> list[tuple[str, str]]:
    """Every valid RF reference and QRR in the text, in order: [("rf"|"qrr", compact)]."""
    return [(kind, value) for kind, value, _, _ in _structured_spans(text)]


def parse_structured(ref: str) -> tuple[str, str] | None:
    """The first valid RF reference or QRR in a structured reference field or in text.

    RF: "RF18 5390 0754 7034", "rf18539007547034" -> ("rf", "RF18539007547034"); the check
    digits are verified. QRR: exactly 27 digits (spaces allowed) with a valid check digit ->
    ("qrr", the 27 digits). A shorter all-digit string is not taken as a QRR: a wrong one would
    be decisive, and a random number passes the modulo-10 check one time in ten."""
    found = _structured_spans(ref or "")
    return (found[0][0], found[0][1]) if found else None


@functools.lru_cache(maxsize=4096)  # the key search and the scorer look at the same text
def _structured_spans(text: str) -> tuple[tuple[str, str, int, int], ...]:
    found: list[tuple[str, str, int, int]] = []
    for match in _RF_START.finditer(text):
        hit = _rf_at(text, match)
        if hit:
            found.append(hit)
    taken = [(start, end) for _, _, start, end in found]
    for match in _DIGIT_RUN.finditer(text):
        if any(s < match.end() and match.start() < e for s, e in taken):
            continue
        hit = _qrr_in(match.group(), match.start())
        if hit:
            found.append(hit)
    return tuple(sorted(found, key=lambda item: item[2]))


def _rf_at(text: str, match: re.Match) -> tuple[str, str, int, int] | None:
    """The longest valid RF reference starting at `match`, ending at the end of a group."""
    head = "RF" + match.group(1)
    pos = match.end()
    body = ""
    ends: list[tuple[str, int]] = []  # body so far, at each group end
    while pos < len(text) and len(body) < RF_BODY_MAX:
        if text[pos] in " -" and body and pos + 1 < len(text) and text[pos + 1].isalnum():
            pos += 1
        elif text[pos] == " " and not body:
            pos += 1
            continue
        group = re.match(r"[A-Za-z0-9]+", text[pos:])
        if not group:
            break
        chunk = group.group()
        if len(body) + len(chunk) > RF_BODY_MAX:
            break
        body += chunk.upper()
        pos += len(chunk)
        ends.append((body, pos))
    for candidate, end in reversed(ends):
        value = head + candidate
        if iso11649.is_valid(value):
            return ("rf", value, match.start(), end)
    return None


def _qrr_in(run: str, offset: int) -> tuple[str, str, int, int] | None:
    """A QRR among the space-separated digit groups of `run` (27 digits on group boundaries)."""
    groups = [(m.group(), m.start()) for m in re.finditer(r"\d+", run)]
    for i in range(len(groups)):
        digits = ""
        for j in range(i, len(groups)):
            digits += groups[j][0]
            if len(digits) == 27:
                if esr.is_valid(digits):
                    end = groups[j][1] + len(groups[j][0])
                    return ("qrr", digits, offset + groups[i][1], offset + end)
                break
            if len(digits) > 27:
                break
    return None


# --- fuzzy keys ------------------------------------------------------------------------------

_CONFUSABLE = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1"})
_READ_NUMBER = re.compile(r"[0-9OoIl]+")
_READ_PREFIXED = re.compile(r"([A-Za-z]+)([0-9][0-9OoIl]*)")
_STRICT_PREFIXED = re.compile(r"([A-Za-z]+)([0-9]+)")
_ATOM = re.compile(r"[A-Za-z0-9]+")
_TIGHT = re.compile(r"[-./_]*")  # separators inside one reference: "AK-10001", "ak.10001"
# Between a prefix word and its numbers: "AK 10001", "Nr: 4711", "RE 4711, 4712".
_LIST = re.compile(r"[\s,;:&+/#.\-_]{1,4}")


def _strip_zeros(key: str) -> str:
    """Leading zeros of every digit run that starts the key or follows a letter."""
    return re.sub(r"(?:^|(?<=[A-Z]))0+(?=\d)", "", key)


def _is_year(digits: str) -> bool:
    return len(digits) == 4 and 1990 <= int(digits) <= 2099


def _digit_key(digits: str) -> str | None:
    digits = digits.lstrip("0")
    if len(digits) < MIN_DIGITS or _is_year(digits):
        return None
    return digits[:MAX_KEY_LENGTH]


def _full_key(key: str) -> str | None:
    """A key with letters needs a digit and four characters; a digits-only one as above."""
    key = _strip_zeros(key)
    if key.isdigit():
        return _digit_key(key)
    if len(key) < 4 or not any(ch.isdigit() for ch in key):
        return None
    return key[:MAX_KEY_LENGTH]


class _Atom:
    """One run of ASCII letters/digits: its kind, canonical text and number (if any).

    With `readings`, O/o and I/l inside a number read as 0 and 1 (the number needs two real
    digits, so that words are not numbers); without, only digits are digits."""

    __slots__ = ("sep", "kind", "canon", "number", "prefix")

    def __init__(self, text: str, sep: str, readings: bool):
        self.sep = sep  # the characters between the previous atom and this one
        self.prefix = ""
        self.number = ""
        prefixed = (_READ_PREFIXED if readings else _STRICT_PREFIXED).fullmatch(text)
        if text.isdigit() or (
            readings and _READ_NUMBER.fullmatch(text) and sum(c.isdigit() for c in text) >= 2
        ):
            self.kind = "number"
            self.number = text.translate(_CONFUSABLE)
            self.canon = self.number
        elif text.isalpha():
            self.kind = "word"
            self.canon = text.upper()
        elif prefixed:
            self.kind = "prefixed"  # "AK10001", "AK1OOO1"
            self.prefix = prefixed.group(1).upper()
            self.number = prefixed.group(2).translate(_CONFUSABLE)
            self.canon = self.prefix + self.number
        else:
            self.kind = "other"  # "10001A", "A1B2"
            self.canon = text.upper()


def _atoms(text: str, readings: bool = True) -> list[_Atom]:
    out = []
    last = 0
    for match in _ATOM.finditer(text):
        out.append(_Atom(match.group(), text[last : match.start()], readings))
        last = match.end()
    return out


def reference_keys(value: str) -> set[str]:
    """The keys of one order-side reference (order number, invoice number, stored reference).

    At most 6: the whole reference ("AK10001"), its digits ("10001"), and for a number in
    several parts ("RE-2026-5000") also its longest part that is not a year ("5000") and that
    part after the first prefix ("RE5000")."""
    atoms = _atoms(value or "")
    keys: list[str | None] = [_full_key("".join(a.canon for a in atoms))]
    numbers = [a.number for a in atoms if a.number]
    keys.append(_digit_key("".join(numbers)))
    if len(numbers) > 1:
        parts = [d for d in (_digit_key(n) for n in numbers) if d]
        if parts:
            best = max(reversed(parts), key=len)  # the longest; the last of equals
            keys.append(best)
            prefix = next((a.prefix or a.canon for a in atoms if a.kind != "number"), "")
            if prefix.isalpha():
                keys.append(prefix + best)
    unique = [k for k in dict.fromkeys(keys) if k]
    return set(unique[:MAX_ORDER_KEYS])


def exact_key(value: str) -> str | None:
    """The whole-reference key without O/0 and I/1 readings, as `text_keys(..., readings=False)`
    finds it for an exact mention ("AK 10001", "ak.010001" for "AK-10001")."""
    return _full_key("".join(a.canon for a in _atoms(value or "", readings=False)))


# What `text_keys` removes before it looks for references.
_DATE = re.compile(
    r"(?<![\w./-])(?:"
    r"(?P<d1>\d{1,2})\.(?P<m1>\d{1,2})\.(?P<y1>\d{4}|\d{2})?"
    r"|(?P<y2>\d{4})-(?P<m2>\d{1,2})-(?P<d2>\d{1,2})"
    r"|(?P<d3>\d{1,2})/(?P<m3>\d{1,2})/(?P<y3>\d{4}|\d{2})"
    r")(?![\w/-]|\.\d)"
)
_NUMBER = r"(?:\d{1,3}(?:[.'’]\d{3})+|\d+)"
_CENTS = r"(?:[.,](?:\d{2}|-{1,2}|–))?"
# Currency first: "EUR 49,90", "CHF 1'234.50", "Fr. 120.–". Taken out before the amounts with
# the currency after, so that "RE 4711 EUR 49,90" keeps 4711.
_AMOUNT_LEAD = re.compile(
    rf"(?<![\w.,])(?:EUR|CHF|Euro|SFr\.?|Fr\.|€)\s?{_NUMBER}{_CENTS}(?!\d)", re.IGNORECASE
)
_AMOUNT = re.compile(
    r"(?<![\w.,])(?:"
    r"\d{1,3}(?:[.'’]\d{3})+,\d{2}"  # 1.234,56  1'234,56
    r"|\d{1,3}(?:[,'’]\d{3})+\.\d{2}"  # 1,234.56  1'234.56
    r"|\d+[.,]\d{2}"  # 49,90  49.90
    rf"|{_NUMBER}{_CENTS}\s?(?:EUR|CHF|Euro|€)(?![A-Za-z])"  # 50 EUR, 50,- €
    r")(?![\d])",
    re.IGNORECASE,
)
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}")


def _valid_date(match: re.Match) -> bool:
    for n in "123":
        if match.group(f"d{n}") is not None:
            year = match.group(f"y{n}")
            try:
                date(
                    int(year) if year and len(year) == 4 else 2000,
                    int(match.group(f"m{n}")),
                    int(match.group(f"d{n}")),
                )
            except ValueError:
                return False
            return True
    return False


def _iban_spans(text: str) -> list[tuple[int, int]]:
    """Valid IBANs, compact or in groups ("DE89 3704 0044 0532 0130 00")."""
    spans: list[tuple[int, int]] = []
    for match in _IBAN_START.finditer(text):
        if spans and match.start() < spans[-1][1]:
            continue
        ends = []
        pos, count = match.start(), 0
        while pos < len(text) and count < 34:
            if text[pos] == " " and pos + 1 < len(text) and text[pos + 1].isalnum():
                pos += 1
            if not (text[pos].isascii() and text[pos].isalnum()):
                break
            pos += 1
            count += 1
            if pos == len(text) or not text[pos].isalnum():
                ends.append(pos)  # an IBAN ends at a group end
        for end in reversed(ends):
            if _iban.is_valid(text[match.start() : end]):
                spans.append((match.start(), end))
                break
    return spans


def _blank(text: str, spans) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return text


@functools.lru_cache(maxsize=4096)  # text_keys scrubs each text twice (with and without readings)
def _scrub(text: str) -> str:
    """The text without structured references, IBANs, dates and amounts (a space instead)."""
    text = _blank(text, [(s, e) for _, _, s, e in _structured_spans(text)])
    text = _blank(text, _iban_spans(text))
    text = _DATE.sub(lambda m: " " if _valid_date(m) else m.group(), text)
    text = _AMOUNT_LEAD.sub(" ", text)
    return _AMOUNT.sub(" ", text)


# The matcher and the scorer ask for the same text: the caches hold more than a matcher batch
# (ledger.bank.matching.BATCH) of texts, else the scorer finds them evicted.
@functools.lru_cache(maxsize=4096)
def text_keys(text: str, *, readings: bool = True) -> frozenset[str]:
    """The keys a remittance text offers (at most 40, the first ones in the text).

    From every group of atoms joined by separators without spaces ("AK-10001", "2026/4711"):
    the group as a whole; every number on its own; a number with the short word before it
    ("RE 4711"); numbers split by single spaces joined ("AK-10 001"), up to three.
    `readings=False` leaves out the O/0 and I/1 readings (the scorer's exact mentions)."""
    atoms = _atoms(_scrub(text or ""), readings)
    keys: dict[str, None] = {}

    def add(key: str | None) -> None:
        if key and len(keys) < MAX_TEXT_KEYS:
            keys[key] = None

    group: list[_Atom] = []
    carry: str | None = None  # the prefix word in force: "RE 4711, 4712 und 4713"
    for i, atom in enumerate(atoms):
        if group and not _TIGHT.fullmatch(atom.sep):
            _add_group(group, add)
            group = []
        group.append(atom)
        if not _LIST.fullmatch(atom.sep):
            carry = None
        if atom.kind == "word":
            if atom.canon not in NOT_PREFIXES:  # "und", "Nr." leave it in force
                carry = atom.canon if len(atom.canon) <= MAX_PREFIX else None
            continue
        if atom.kind == "other":
            carry = None
            continue
        if atom.kind == "prefixed":
            carry = atom.prefix
            add(_full_key(atom.canon))
        add(_digit_key(atom.number))
        if carry and atom.kind == "number":
            add(_full_key(carry + atom.number))
        joined = atom.number  # "10 001", "1 000 001": a number written in groups
        for nxt in atoms[i + 1 : i + 3]:
            if nxt.kind != "number" or nxt.sep != " ":
                break
            joined += nxt.number
            add(_digit_key(joined))
            if carry:
                add(_full_key(carry + joined))
    if group:
        _add_group(group, add)
    return frozenset(keys)


def _add_group(group: list[_Atom], add) -> None:
    if len(group) > 1 or group[0].kind == "other":
        add(_full_key("".join(a.canon for a in group)))
        if sum(1 for a in group if a.number) > 1:
            add(_digit_key("".join(a.number for a in group if a.number)))
