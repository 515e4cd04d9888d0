"""The one import service behind the upload page, `mahnwerk bank import`, the API and the inbox
folder: read the file, check it as a whole (refused: nothing stored), store each transaction
once (its fingerprint), then match the new ones (ledger.bank.matching)."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ledger import bulk, refunds, refusals
from ledger.bank import accounts, matching
from ledger.bank.read import read_bank_file
from ledger.bank.statements import Statement, StatementError, Transaction
from ledger.db import db
from ledger.models import (
    BankAccount,
    BankImport,
    BankTransaction,
    Merchant,
    TransactionState,
)

log = logging.getLogger(__name__)
MAX_BYTES = 20 * 1024 * 1024
WAYS = ("upload", "cli", "api", "inbox")
LOOKUP_CHUNK = 500  # fingerprints per IN (...) look-up


class ImportRefused(refusals.Refused):
    """The file is refused as a whole; nothing was stored. The message says what and where (a
    code of ledger.refusals.TEXTS and its values)."""


@dataclass
class Summary:
    filename: str
    format: str = ""
    statements: int = 0
    transactions: int = 0
    new: int = 0
    known: int = 0
    matched: int = 0
    suggested: int = 0
    unmatched: int = 0
    data_as_of: date | None = None
    import_id: int | None = None

    def line(self) -> str:
        return (
            f"{self.filename}: {self.transactions} transactions, {self.new} new, "
            f"{self.known} known, {self.matched} matched, {self.suggested} suggested, "
            f"{self.unmatched} unmatched"
        )

    def as_dict(self) -> dict:
        found = asdict(self)
        found["data_as_of"] = self.data_as_of.isoformat() if self.data_as_of else None
        return found


def fingerprint(account: BankAccount, tx: Transaction, occurrence: int) -> str:
    """The same booking gives the same fingerprint in every file that carries it (a camt.052
    and the day's camt.053, overlapping MT940 exports): the account, booking date, amount and
    direction, with the bank's own reference when there is one, else the payer's fields.
    `occurrence` tells apart identical bookings of one file (two equal transfers)."""
    if tx.account_servicer_ref:
        identity = ["ref", tx.account_servicer_ref, tx.end_to_end_id or ""]
    else:
        text = "".join(ch for ch in tx.remittance.upper() if ch.isalnum())[:140]
        identity = ["fields", tx.end_to_end_id or "", tx.counterparty_iban or "", text]
    parts = [
        account.iban,
        tx.booking_date.isoformat(),
        f"{tx.amount:.2f}",
        "C" if tx.credit else "D",
        *identity,
        str(occurrence),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _account_for(merchant: Merchant, statement: Statement, own: dict[str, BankAccount]):
    """The merchant's account a statement is of; refused when it names none of them. A German
    MT940 names it as `BLZ/account number`, some banks by their own account number alone: those
    are matched to the bank code and account number inside the merchant's IBANs."""
    for named in (statement.account_iban, statement.account_other):  # some put an IBAN in Othr
        if named and named.replace(" ", "").upper() in own:
            return own[named.replace(" ", "").upper()]
    if statement.account_other:
        bank_code, _, number = statement.account_other.rpartition("/")
        found = [
            account
            for account in own.values()
            if _same_account(account.iban, bank_code.strip(), number.strip())
        ]
        if len(found) == 1:
            return found[0]
    named = " / ".join(n for n in (statement.account_iban, statement.account_other) if n)
    raise ImportRefused(
        "foreign_account",
        at=_at(statement),
        named=named or "no account",
        merchant=merchant.name,
        own=", ".join(own) or "none yet",
    )


def _same_account(iban: str, bank_code: str, number: str) -> bool:
    try:
        parsed = IBAN(iban)
    except SchwiftyException:
        return False
    if bank_code and parsed.bank_code.lstrip("0") != bank_code.lstrip("0"):
        return False
    digits = "".join(ch for ch in number if ch.isalnum())
    return bool(digits) and parsed.account_code.lstrip("0") == digits.lstrip("0")


def _at(statement: Statement) -> str:
    return f" at {statement.where}" if statement.where else ""


# ISO 4217's "no currency": some anonymised samples and test exports carry it; it names none.
NO_CURRENCY = ("", "XXX")


def _currency(tx: Transaction, account: BankAccount) -> str:
    return account.currency if (tx.currency or "") in NO_CURRENCY else tx.currency


def _check_currency(statement: Statement, account: BankAccount) -> None:
    currencies = {statement.currency or ""} | {tx.currency or "" for tx in statement.transactions}
    wrong = sorted(c for c in currencies if c not in NO_CURRENCY and c != account.currency)
    if wrong:
        raise ImportRefused(
            "foreign_currency",
            at=_at(statement),
            currencies=", ".join(wrong),
            iban=account.iban,
            currency=account.currency,
        )


def _known(merchant_id: int, fingerprints: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(fingerprints), LOOKUP_CHUNK):
        chunk = fingerprints[start : start + LOOKUP_CHUNK]
        found.update(
            db.session.scalars(
                select(BankTransaction.fingerprint).where(
                    BankTransaction.merchant_id == merchant_id,
                    bulk.among(BankTransaction.fingerprint, chunk),
                )
            )
        )
    return found


def _row(merchant: Merchant, account, record, tx: Transaction, fp: str) -> dict:
    """A BankTransaction's columns (stored by one INSERT for the whole file)."""
    return dict(  # noqa: C408 - the columns, as keywords
        merchant_id=merchant.id,
        account_id=account.id,
        import_id=record.id,
        fingerprint=fp,
        booking_date=tx.booking_date,
        value_date=tx.value_date,
        amount=tx.amount,
        currency=_currency(tx, account),
        credit=tx.credit,
        counterparty_name=(tx.counterparty_name or None) and tx.counterparty_name[:200],
        counterparty_iban=tx.counterparty_iban,
        remittance=tx.remittance or "",
        structured_reference=(tx.structured_reference or None) and tx.structured_reference[:40],
        end_to_end_id=(tx.end_to_end_id or None) and tx.end_to_end_id[:64],
        account_servicer_ref=(tx.account_servicer_ref or None) and tx.account_servicer_ref[:64],
        bank_code=(tx.bank_code or None) and tx.bank_code[:40],
        return_reason=(tx.return_reason or None) and tx.return_reason[:10],
        reversal=tx.reversal,
        state=TransactionState.NEW,
        raw=dict(tx.raw or {}),
    )


def import_file(
    merchant: Merchant, data: bytes, filename: str, way: str, actor: str, today: date
) -> Summary:
    """Import one file; commits. Raises ImportRefused (nothing stored) for a refused file."""
    with bulk.fewer_gc_passes():
        return _import_file(merchant, data, filename, way, actor, today)


def _import_file(
    merchant: Merchant, data: bytes, filename: str, way: str, actor: str, today: date
) -> Summary:
    if way not in WAYS:
        raise ValueError(f"unknown way in: {way}")
    if len(data) > MAX_BYTES:
        raise ImportRefused("file_too_big", size=len(data), limit=MAX_BYTES)
    try:
        bank_file = read_bank_file(data, filename)
    except StatementError as exc:
        raise ImportRefused("unreadable", detail=str(exc)) from exc
    own = {account.iban: account for account in accounts.accounts_of(merchant.id)}
    plan = []
    for statement in bank_file.statements:
        account = _account_for(merchant, statement, own)
        _check_currency(statement, account)
        plan.append((statement, account))

    for attempt in (1, 2):
        try:
            summary, record_id, new_ids = _store(
                merchant, data, filename, way, actor, bank_file.format, plan, list(own.values())
            )
            break
        except IntegrityError:
            # The same bookings stored at this moment by another import of the same file (a
            # double click, the inbox and an upload): once more, and they are known now.
            db.session.rollback()
            if attempt == 2:
                raise

    refunds.mark_executed(merchant, new_ids)  # a refund's own debit: it is executed
    try:
        counts = matching.match_new(new_ids, actor, today)
    except Exception:  # noqa: BLE001 - stored and safe: the next dispatch matches them
        db.session.rollback()
        log.exception("matching the payments of import %s failed", record_id)
        counts = Counter()
    summary.matched = counts[TransactionState.MATCHED] + counts[TransactionState.REVERSED]
    summary.suggested = counts[TransactionState.SUGGESTED]
    summary.unmatched = counts[TransactionState.UNMATCHED]
    record = db.session.get(BankImport, record_id)
    record.matched, record.suggested, record.unmatched = (
        summary.matched,
        summary.suggested,
        summary.unmatched,
    )
    db.session.commit()
    return summary


def _store(
    merchant: Merchant,
    data: bytes,
    filename: str,
    way: str,
    actor: str,
    file_format: str,
    plan: list[tuple[Statement, BankAccount]],
    account_list: list[BankAccount],
) -> tuple[Summary, int, list[int]]:
    """Store the file's bookings that are new, with the import record and the bank data
    dates, in one transaction. Returns the summary so far, the import id, the new rows' ids."""
    summary = Summary(filename=filename, format=file_format, statements=len(plan))
    record = BankImport(
        merchant_id=merchant.id,
        filename=filename[:255],
        format=file_format[:40],
        sha256=hashlib.sha256(data).hexdigest(),
        way=way,
        actor=actor[:254],
        statements=len(plan),
    )
    db.session.add(record)
    db.session.flush()

    staged: list[tuple[BankAccount, Transaction, str]] = []
    # Counted over the whole file: an MT940 statement continued on a second page (:62M:/:60M:)
    # may hold more of the same identical bookings, and they are more bookings, not repeats.
    seen: Counter = Counter()
    for statement, account in plan:
        for tx in statement.transactions:
            if not tx.booked:
                continue  # pending (camt.052 PDNG): it comes again once booked
            base = fingerprint(account, tx, 0)
            repeat = seen[base]
            staged.append((account, tx, fingerprint(account, tx, repeat) if repeat else base))
            seen[base] += 1
    known = _known(merchant.id, [fp for _, _, fp in staged])
    rows = []
    for account, tx, fp in staged:
        if fp in known:
            summary.known += 1
            continue
        known.add(fp)  # the same booking twice in one file (a 052 and 053 glued together)
        rows.append(_row(merchant, account, record, tx, fp))
    # all in one go (COPY on PostgreSQL); their ids read after: RETURNING would bring the rows
    # back one by one on SQLite
    bulk.insert_rows(BankTransaction.__table__, rows, ids=False)
    new_ids = list(
        db.session.scalars(
            select(BankTransaction.id)
            .where(BankTransaction.import_id == record.id)
            .order_by(BankTransaction.id)
        )
    )
    summary.transactions = len(staged)
    summary.new = len(rows)

    for statement, account in plan:
        day = statement.data_date
        if day and (account.data_as_of is None or day > account.data_as_of):
            account.data_as_of = day
    merchant.bank_data_as_of = bank_data_date(account_list)
    summary.data_as_of = max((s.data_date for s, _ in plan if s.data_date), default=None)
    record.data_as_of = summary.data_as_of
    record.transactions, record.new, record.known = summary.transactions, summary.new, summary.known
    summary.import_id = record.id
    db.session.commit()
    return summary, summary.import_id, new_ids


def bank_data_date(account_list: list[BankAccount]) -> date | None:
    """How far the merchant's bank data reaches: the oldest of its accounts' latest statements
    (a payment may be missing from any account that is behind). Accounts never imported do not
    count; with none imported there is no bank data."""
    dates = [a.data_as_of for a in account_list if a.data_as_of is not None]
    return min(dates) if dates else None
