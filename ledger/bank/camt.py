"""ISO 20022 bank-to-customer cash management: camt.052 (report), camt.053 (statement) and
camt.054 (debit/credit notification), message versions 001.02 to 001.08.

Read with lxml and no camt library: the ones on PyPI either refuse camt.054 or drop the
remittance information, and the matching needs exactly those. Elements are looked up in the
document's own namespace, so every message version goes through the same code; the few places
where versions differ (v08 puts party names under `Pty`, v04+ give each detail its own `Amt`
and `CdtDbtInd`, v08 says `BICFI` where v02 says `BIC`) are tried one after the other.

Every `TxDtls` of an entry becomes its own Transaction: a batch booking ("Sammelgutschrift")
is many payments, and each is matched to its own invoice.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from ledger.bank.mt940 import GVC_REVERSALS
from ledger.bank.statements import BankFile, Statement, StatementError, Transaction

NAMESPACE = re.compile(
    r"^urn:iso:std:iso:20022:tech:xsd:(?P<message>camt\.05[234])\.001\.(?P<version>\d{2})$"
)
VERSIONS = {f"{n:02d}" for n in range(2, 9)}  # 001.02 … 001.08
# message → (the element under Document, the element of one statement in it)
MESSAGES = {
    "camt.052": ("BkToCstmrAcctRpt", "Rpt"),
    "camt.053": ("BkToCstmrStmt", "Stmt"),
    "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
}
OPENING = ("OPBD", "PRCD")  # opening booked; closing booked of the previous report
CLOSING = ("CLBD",)
# ISO external bank transaction sub-family codes of returns and reversals: RRTN reversal due to
# payment return, RPCR … due to a cancellation request, UPDD … due to a return/unpaid direct
# debit, PRDD … due to a payment reversal, RCDD … due to a cancellation request (direct debit).
REVERSAL_SUBFAMILIES = {"RRTN", "RPCR", "UPDD", "PRDD", "RCDD", "RVSL"}
# German banks give the DK "proprietary" code as N<SWIFT code>+<GVC>+<Textschlüssel>+…
DK_PROPRIETARY = re.compile(r"^N?[A-Z]{3,4}\+(?P<gvc>\d{3})(\+|$)")
NOT_PROVIDED = "NOTPROVIDED"


def message_of(namespace: str) -> tuple[str, str] | None:
    """("camt.053", "04") for a camt.05x namespace, None for anything else."""
    match = NAMESPACE.match(namespace or "")
    return (match["message"], match["version"]) if match else None


@functools.cache
def _qualified(ns: str, path: str) -> str:
    """ "Acct/Id" in the namespace: "{ns}Acct/{ns}Id" (asked ~30 times a transaction)."""
    return "/".join(f"{{{ns}}}{part}" for part in path.split("/"))


# The elements whose texts are asked by ~15 paths each (an entry, a transaction's details): one
# walk of the element reads them all, instead of a search per path (the parse's largest part).
# An entry's walk leaves out its details (walked on their own); a path into them is searched.
_WALKED = {"Ntry": "NtryDtls", "TxDtls": None}


@dataclass(frozen=True)
class _Doc:
    """Element lookups in the document's namespace, by local-name paths ("Acct/Id/IBAN")."""

    ns: str
    _walked: dict = field(default_factory=dict, compare=False)  # kind -> (element, its texts)

    def q(self, path: str) -> str:
        return _qualified(self.ns, path)

    def find(self, el, path: str):
        return el.find(self.q(path))

    def findall(self, el, path: str) -> list:
        return el.findall(self.q(path))

    def text(self, el, *paths: str) -> str | None:
        """The stripped text of the first of `paths` that has some (of a path found more than
        once, its first element's, as `find` gives it)."""
        texts = self._texts(el)
        for path in paths:
            if texts is not None and path.partition("/")[0] != texts[""]:
                value = texts.get(path)
            else:
                found = el.find(self.q(path))
                value = found is not None and found.text and found.text.strip()
            if value:
                return value
        return None

    def _texts(self, el) -> dict[str, str] | None:
        """path -> stripped text of the first element at that path below `el`, for the kinds of
        element in _WALKED (the last one of each kind is kept), else None."""
        for walked, texts in self._walked.values():  # asked ~25 times in a row: seen first
            if walked is el:
                return texts
        prefix = f"{{{self.ns}}}"
        kind = el.tag[len(prefix) :] if el.tag.startswith(prefix) else None
        if kind not in _WALKED:
            return None
        texts = {"": _WALKED[kind]}  # "": the child left out
        _walk(el, "", prefix, texts, prefix + (_WALKED[kind] or ""))
        self._walked[kind] = (el, texts)
        return texts


def _walk(el, path: str, prefix: str, texts: dict[str, str], skip: str = "") -> None:
    cut = len(prefix)
    for child in el:
        tag = child.tag
        if not isinstance(tag, str) or not tag.startswith(prefix) or tag == skip:
            continue  # comments, processing instructions, another namespace's elements
        here = path + tag[cut:]
        if here not in texts:
            texts[here] = (child.text or "").strip()
        if len(child):  # most are leaves: no call for them
            _walk(child, here + "/", prefix, texts)


def read_camt(root, message: str, version: str) -> BankFile:
    """The statements of a parsed camt.05x document (`root` is its `Document` element)."""
    doc = _Doc(etree.QName(root).namespace)
    container_tag, statement_tag = MESSAGES[message]
    container = doc.find(root, container_tag)
    if container is None:
        found = [etree.QName(c).localname for c in root if isinstance(c.tag, str)]
        raise StatementError(
            f"{message} without {container_tag} (found {', '.join(found) or 'nothing'})",
            "Document",
        )
    where = f"Document/{container_tag}"
    statements = doc.findall(container, statement_tag)
    if not statements:
        raise StatementError(f"no {statement_tag} in the {message} message", where)
    group_created = _datetime_date(doc.text(container, "GrpHdr/CreDtTm"))
    return BankFile(
        format=f"{message}.001.{version}",
        statements=[
            _statement(doc, el, message, f"{where}/{statement_tag}[{i}]", group_created)
            for i, el in enumerate(statements, 1)
        ],
    )


def _statement(doc: _Doc, el, message: str, where: str, group_created) -> Statement:
    iban = doc.text(el, "Acct/Id/IBAN")
    other = doc.text(el, "Acct/Id/Othr/Id")
    if not iban and not other:
        raise StatementError("statement without an account (Acct/Id/IBAN or Othr/Id)", where)
    opening = closing = closing_date = None
    balance_currency = None
    for i, bal in enumerate(doc.findall(el, "Bal"), 1):
        code = doc.text(bal, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry")
        bal_where = f"{where}/Bal[{i}]"
        amount, currency = _amount(doc, bal, "Amt", bal_where, required=True)
        if doc.text(bal, "CdtDbtInd") == "DBIT":
            amount = -amount
        day = _date(doc, bal, "Dt", bal_where, f"balance {code or ''} without a date".strip())
        if code in OPENING and opening is None:
            opening, balance_currency = amount, currency
        elif code in CLOSING:
            closing, closing_date = amount, day
            balance_currency = balance_currency or currency
    period_start = _datetime_date(doc.text(el, "FrToDt/FrDtTm"))
    period_end = _datetime_date(doc.text(el, "FrToDt/ToDtTm")) or closing_date
    account = _iban(iban)
    transactions: list[Transaction] = []
    for i, entry in enumerate(doc.findall(el, "Ntry"), 1):
        transactions.extend(_entry(doc, entry, f"{where}/Ntry[{i}]", account))
    return Statement(
        kind=message,
        account_iban=account,
        account_other=other if not iban else None,
        currency=doc.text(el, "Acct/Ccy") or balance_currency,
        transactions=transactions,
        statement_id=doc.text(el, "Id"),
        created=_datetime_date(doc.text(el, "CreDtTm")) or group_created,
        period_start=period_start,
        period_end=period_end,
        opening_balance=opening,
        closing_balance=closing,
        where=where,
    )


def _entry(doc: _Doc, entry, where: str, account: str | None) -> list[Transaction]:
    amount, currency = _amount(doc, entry, "Amt", where, required=True)
    credit = _credit(doc, entry, where)
    booking_date = _date(doc, entry, "BookgDt", where, "entry without a booking date")
    status = doc.text(entry, "Sts/Cd", "Sts")
    code = _bank_code(doc, entry)
    reversal = doc.text(entry, "RvslInd") in ("true", "1") or _is_reversal_code(doc, entry)
    entry_info = doc.text(entry, "AddtlNtryInf")
    base = {
        "booking_date": booking_date,
        "value_date": _date(doc, entry, "ValDt", where, None),
        "currency": currency,
        "account_servicer_ref": doc.text(entry, "AcctSvcrRef"),
        "entry_reference": doc.text(entry, "NtryRef"),
        "bank_code": code,
        "booked": status in (None, "BOOK"),
    }
    raw = {"entry": where, "Amt": f"{amount} {currency}", "CdtDbtInd": "CRDT" if credit else "DBIT"}
    raw.update(
        (k, v)
        for k, v in (
            ("Sts", status),
            ("BkTxCd", code),
            ("AcctSvcrRef", base["account_servicer_ref"]),
            ("NtryRef", base["entry_reference"]),
            ("AddtlNtryInf", entry_info),
        )
        if v
    )
    details = doc.findall(entry, "NtryDtls/TxDtls")
    if not details:
        return [
            Transaction(
                amount=amount,
                credit=credit,
                remittance=entry_info or "",
                reversal=reversal,
                raw=raw,
                **base,
            )
        ]
    batch = len(details) > 1
    out = []
    for i, detail in enumerate(details, 1):
        detail_where = f"{where}/NtryDtls/TxDtls[{i}]"
        detail_amount, detail_currency = _amount(
            doc, detail, "Amt", detail_where, required=False, fallback="AmtDtls/TxAmt/Amt"
        )
        if batch:
            # each detail of a batch is its own payment and must say how much it was
            if detail_amount is None:
                raise StatementError(
                    "batch detail without an amount (Amt or AmtDtls/TxAmt/Amt)", detail_where
                )
            this_amount, this_currency = detail_amount, detail_currency
            this_credit = _credit(doc, detail, detail_where, default=credit)
        else:
            # one detail: the entry is what was booked on the account (the detail may give the
            # instructed amount in another currency, or before charges)
            this_amount, this_currency, this_credit = amount, currency, credit
        out.append(
            _detail(
                doc,
                detail,
                detail_where,
                amount=this_amount,
                currency=this_currency,
                credit=this_credit,
                batch=batch,
                reversal=reversal,
                entry_info=entry_info,
                account=account,
                base=base,
                raw={**raw, "detail": detail_where}
                | ({"detail Amt": f"{detail_amount} {detail_currency}"} if detail_amount else {}),
            )
        )
    return out


def _detail(
    doc: _Doc,
    detail,
    where,
    *,
    amount,
    currency,
    credit,
    batch,
    reversal,
    entry_info,
    account,
    base,
    raw,
) -> Transaction:
    return_reason = doc.text(detail, "RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry")
    reversal = reversal or bool(return_reason) or _is_reversal_code(doc, detail)
    # The counterparty is the other side of the original payment: the debtor of a credit, the
    # creditor of a debit; a return turns the direction round but keeps the original parties.
    payer_side = credit != reversal
    name, iban, bic = _party(doc, detail, "Dbtr" if payer_side else "Cdtr")
    # some banks name the parties of the return itself instead (ABN AMRO), or name us there
    if (not name and not iban) or (account and iban == account):
        name, iban, bic = _party(doc, detail, "Cdtr" if payer_side else "Dbtr")
    lines = [" ".join(el.text.split()) for el in doc.findall(detail, "RmtInf/Ustrd") if el.text]
    remittance = " ".join(line for line in lines if line)
    if not remittance:
        remittance = doc.text(detail, "AddtlTxInf") or entry_info or ""
    end_to_end = doc.text(detail, "Refs/EndToEndId")
    if end_to_end and end_to_end.upper() == NOT_PROVIDED:
        end_to_end = None
    reference = doc.text(detail, "RmtInf/Strd/CdtrRefInf/Ref")
    detail_code = _bank_code(doc, detail)
    return Transaction(
        booking_date=base["booking_date"],
        value_date=base["value_date"],
        amount=amount,
        currency=currency,
        credit=credit,
        counterparty_name=name,
        counterparty_iban=iban,
        counterparty_bic=bic,
        remittance=remittance,
        structured_reference=reference.replace(" ", "") if reference else None,
        end_to_end_id=end_to_end,
        account_servicer_ref=doc.text(detail, "Refs/AcctSvcrRef") or base["account_servicer_ref"],
        entry_reference=base["entry_reference"],
        mandate_id=doc.text(detail, "Refs/MndtId"),
        bank_code=detail_code or base["bank_code"],
        return_reason=return_reason,
        reversal=reversal,
        batch=batch,
        booked=base["booked"],
        raw={
            **raw,
            **{
                k: v
                for k, v in (
                    ("EndToEndId", end_to_end),
                    ("Name", name),
                    ("IBAN", iban),
                    ("Ustrd", remittance if lines else None),
                    ("CdtrRefInf", reference),
                    ("RtrInf", return_reason),
                )
                if v
            },
        },
    )


def _party(doc: _Doc, detail, role: str) -> tuple[str | None, str | None, str | None]:
    """Name, IBAN and BIC of the debtor ("Dbtr") or creditor ("Cdtr") of a detail."""
    name = doc.text(detail, f"RltdPties/{role}/Nm", f"RltdPties/{role}/Pty/Nm")
    iban = _iban(doc.text(detail, f"RltdPties/{role}Acct/Id/IBAN"))
    agent = f"RltdAgts/{role}Agt/FinInstnId"
    bic = doc.text(detail, f"{agent}/BIC", f"{agent}/BICFI")
    return (" ".join(name.split()) if name else None), iban, bic


def _bank_code(doc: _Doc, el) -> str | None:
    """ "PMNT/RCDT/ESCT" from the ISO domain, else the proprietary code ("NMSC+201+…")."""
    domain = doc.text(el, "BkTxCd/Domn/Cd")
    if domain:
        parts = [
            domain,
            doc.text(el, "BkTxCd/Domn/Fmly/Cd"),
            doc.text(el, "BkTxCd/Domn/Fmly/SubFmlyCd"),
        ]
        return "/".join(p for p in parts if p)
    return doc.text(el, "BkTxCd/Prtry/Cd")


def _is_reversal_code(doc: _Doc, el) -> bool:
    if doc.text(el, "BkTxCd/Domn/Fmly/SubFmlyCd") in REVERSAL_SUBFAMILIES:
        return True
    match = DK_PROPRIETARY.match(doc.text(el, "BkTxCd/Prtry/Cd") or "")
    return bool(match and match["gvc"] in GVC_REVERSALS)


def _credit(doc: _Doc, el, where: str, default: bool | None = None) -> bool:
    indicator = doc.text(el, "CdtDbtInd")
    if indicator is None and default is not None:
        return default
    if indicator not in ("CRDT", "DBIT"):
        raise StatementError(
            f"credit/debit indicator is {indicator!r}, not CRDT or DBIT", f"{where}/CdtDbtInd"
        )
    return indicator == "CRDT"


def _amount(doc: _Doc, el, path: str, where: str, *, required: bool, fallback: str | None = None):
    """(Decimal, currency) of an `Amt Ccy="…"` element; (None, None) when absent and optional."""
    found = doc.find(el, path)
    if found is None and fallback:
        found, path = doc.find(el, fallback), fallback
    if found is None:
        if required:
            raise StatementError("amount missing", f"{where}/{path}")
        return None, None
    text = (found.text or "").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or not re.fullmatch(r"\d+(\.\d+)?", text):
        raise StatementError(f"amount {text!r} is not a decimal number", f"{where}/{path}")
    currency = (found.get("Ccy") or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise StatementError(f"amount without a currency (Ccy={currency!r})", f"{where}/{path}")
    return amount, currency


def _date(doc: _Doc, el, path: str, where: str, missing: str | None) -> date | None:
    """The `Dt` or `DtTm` under `path`; StatementError `missing` when absent (None: optional)."""
    text = doc.text(el, f"{path}/Dt", f"{path}/DtTm")
    if text is None:
        if missing:
            raise StatementError(missing, f"{where}/{path}")
        return None
    day = _datetime_date(text)
    if day is None:
        raise StatementError(f"{text!r} is not a date", f"{where}/{path}")
    return day


def _datetime_date(text: str | None) -> date | None:
    """The date of an ISO date or date-time ("2020-06-18T23:41:07+02:00"), as the bank wrote it."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return date.fromisoformat(text.strip()[:10])
        except ValueError:
            return None


def _iban(text: str | None) -> str | None:
    """As written, without spaces, upper case; the checksum is for the import to judge."""
    return "".join(text.split()).upper() if text else None
