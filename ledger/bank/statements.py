"""What a bank file says, whatever its format: statements of an account and their transactions.

The readers (ledger.bank.camt, ledger.bank.mt940) turn a file into these; the import service
stores and matches them. Pure data: no database, no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


class StatementError(ValueError):
    """A file that is refused as a whole: what is wrong and where (element path or line)."""

    def __init__(self, message: str, where: str | None = None):
        super().__init__(f"{message} (at {where})" if where else message)
        self.reason = message
        self.where = where


@dataclass(frozen=True)
class Transaction:
    """One booking, or one transaction detail of a batch booking (each is its own payment).

    `amount` is positive; `credit` says the direction (True: money in)."""

    booking_date: date
    amount: Decimal
    currency: str
    credit: bool
    value_date: date | None = None
    counterparty_name: str | None = None  # the payer of a credit, the payee of a debit
    counterparty_iban: str | None = None
    counterparty_bic: str | None = None
    remittance: str = ""  # unstructured remittance text, lines joined by a space
    structured_reference: str | None = None  # creditor reference: RF…, QRR, SCOR, ISR
    end_to_end_id: str | None = None  # NOTPROVIDED is kept out
    account_servicer_ref: str | None = None  # the bank's own reference (AcctSvcrRef)
    entry_reference: str | None = None  # NtryRef / MT940 bank reference
    mandate_id: str | None = None
    bank_code: str | None = None  # ISO domain/family/subfamily ("PMNT/RCDT/ESCT") or MT940 GVC
    return_reason: str | None = None  # ISO reason of a return or reversal (MS03, AC04, …)
    reversal: bool = False  # a return, a direct-debit reversal, a storno
    batch: bool = False  # one of several details of one booking
    # False: a camt entry with status PDNG (pending) or INFO, not (yet) booked on the account
    booked: bool = True
    raw: dict = field(default_factory=dict, compare=False)  # the fields as read, for display


@dataclass(frozen=True)
class Statement:
    """One account's statement (camt.053), report (camt.052), notification (camt.054) or MT940
    statement. `account` is an IBAN when the file names one; German MT940 may give
    `BLZ/account number` instead, kept in `account_other`."""

    kind: str  # "camt.052" | "camt.053" | "camt.054" | "mt940"
    account_iban: str | None
    currency: str | None
    transactions: list[Transaction]
    account_other: str | None = None
    statement_id: str | None = None
    created: date | None = None
    period_start: date | None = None
    period_end: date | None = None  # the end of the statement: the bank data date
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    where: str | None = None  # where in the file it starts, for messages

    @property
    def data_date(self) -> date | None:
        """How far this statement's bank data reaches."""
        dates = [t.booking_date for t in self.transactions]
        return self.period_end or self.created or (max(dates) if dates else None)


@dataclass(frozen=True)
class BankFile:
    """A whole file: its format and its statements (camt and MT940 files may hold several)."""

    format: str  # "camt.052.001.02", "mt940", …
    statements: list[Statement]

    @property
    def transactions(self) -> list[Transaction]:
        return [t for s in self.statements for t in s.transactions]
