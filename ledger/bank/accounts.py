"""A merchant's bank accounts: added with a validated IBAN, changed, removed (only while no
statement was imported for them), and chosen per order for the payment request (the Swiss
account for CHF and customers in CH/LI, the euro account for EUR)."""

from __future__ import annotations

from schwifty import BIC, IBAN
from schwifty import exceptions as schwifty_errors
from schwifty.exceptions import SchwiftyException
from sqlalchemy import func, select

from ledger.db import db
from ledger.models import BankAccount, BankTransaction, Merchant, Order
from ledger.refusals import N_

CURRENCIES = ("EUR", "CHF")
SWISS = ("CH", "LI")


class AccountError(ValueError):
    """A bank account that cannot be added, changed or removed, with the reason: `message` is
    an English msgid with %(name)s placeholders, `params` fill them, `field` is the form field."""

    def __init__(self, message: str, field: str | None = None, **params):
        self.message, self.params, self.field = message, params, field
        super().__init__(message % params if params else message)


# schwifty's reasons, in words a person can act on (its own texts are English only)
_IBAN_REASONS = (
    (schwifty_errors.InvalidChecksumDigits, N_("the check digits do not fit (a typing error?)")),
    (schwifty_errors.InvalidBBANChecksum, N_("the account number's check digit is wrong")),
    (schwifty_errors.InvalidLength, N_("it has the wrong length for its country")),
    (schwifty_errors.InvalidCountryCode, N_("it does not start with a known country code")),
    (schwifty_errors.InvalidStructure, N_("its characters do not fit its country's format")),
)


def _reason(exc: SchwiftyException) -> str:
    return next((reason for kind, reason in _IBAN_REASONS if isinstance(exc, kind)), str(exc))


def _iban(value: str, what: str = "IBAN", field: str = "iban") -> IBAN:
    try:
        return IBAN(value)
    except SchwiftyException as exc:
        raise AccountError(
            N_("%(what)s %(value)s is not valid: %(reason)s"),
            field,
            what=what,
            value=repr(value),
            reason=_reason(exc),
        ) from exc


def add_account(
    merchant: Merchant,
    iban: str,
    *,
    holder: str | None = None,
    bic: str | None = None,
    bank_name: str | None = None,
    currency: str | None = None,
    qr_iban: str | None = None,
) -> BankAccount:
    """Add an account (IBAN and QR-IBAN checked, BIC checked or taken from the IBAN)."""
    number = _iban(iban)
    if find_account(merchant.id, number.compact):
        raise AccountError(N_("the account %(iban)s exists already"), "iban", iban=number.formatted)
    country = number.country_code
    if bank_name is None and number.bic:
        bank_name = number.bank_name
    account = BankAccount(merchant_id=merchant.id, iban=number.compact, country=country)
    _set_details(
        account,
        holder=holder or merchant.bank_account_holder or merchant.name,
        bic=bic or (number.bic.compact if number.bic else None),
        bank_name=bank_name,
        currency=currency or ("CHF" if country in SWISS else "EUR"),
        qr_iban=qr_iban,
    )
    db.session.add(account)
    db.session.flush()
    return account


def update_account(
    account: BankAccount,
    *,
    holder: str,
    bic: str | None,
    bank_name: str | None,
    currency: str,
    qr_iban: str | None,
) -> dict[str, tuple]:
    """Change an account's details (its IBAN stays: another IBAN is another account). Returns
    the fields changed, old and new; nothing is changed when any is refused."""
    before = {field: getattr(account, field) for field in DETAILS}
    probe = BankAccount(iban=account.iban, country=account.country)
    _set_details(
        probe, holder=holder, bic=bic, bank_name=bank_name, currency=currency, qr_iban=qr_iban
    )
    changes = {}
    for field in DETAILS:
        if getattr(probe, field) != before[field]:
            changes[field] = (before[field], getattr(probe, field))
            setattr(account, field, getattr(probe, field))
    db.session.flush()
    return changes


DETAILS = ("holder", "bic", "bank_name", "currency", "qr_iban")


def _set_details(
    account: BankAccount,
    *,
    holder: str | None,
    bic: str | None,
    bank_name: str | None,
    currency: str | None,
    qr_iban: str | None,
) -> None:
    """Check and set what may be changed of an account (all checked before any is set)."""
    currency = (currency or "").strip().upper()
    if currency not in CURRENCIES:
        raise AccountError(
            N_("currency %(currency)s is not supported (EUR or CHF)"),
            "currency",
            currency=repr(currency),
        )
    bic = (bic or "").strip() or None
    if bic:
        try:
            bic = BIC(bic).compact
        except SchwiftyException as exc:
            raise AccountError(
                N_("BIC %(value)s is not valid: %(reason)s"),
                "bic",
                value=repr(bic),
                reason=N_("a BIC has 8 or 11 letters and digits, e.g. COBADEFFXXX"),
            ) from exc
    qr_iban = (qr_iban or "").strip() or None
    if qr_iban:
        if account.country not in SWISS:
            raise AccountError(
                N_("a QR-IBAN is for Swiss or Liechtenstein accounts, not for a %(country)s one"),
                "qr_iban",
                country=account.country,
            )
        qr = _iban(qr_iban, "QR-IBAN", "qr_iban")
        if not is_qr_iban(qr):
            raise AccountError(
                N_("%(iban)s is not a QR-IBAN (IID 30000-31999 in CH/LI)"),
                "qr_iban",
                iban=qr.formatted,
            )
        qr_iban = qr.compact
    holder = (holder or "").strip()
    if not holder or len(holder) > 140:
        raise AccountError(N_("the account holder must have 1 to 140 characters"), "holder")
    bank_name = (bank_name or "").strip()[:140] or None
    account.holder, account.bic, account.bank_name = holder, bic, bank_name
    account.currency, account.qr_iban = currency, qr_iban


def remove_account(account: BankAccount) -> None:
    """Remove an account no statement was imported for. One with imported transactions stays:
    they name it (bank_transactions.account_id), and the payments booked from them too."""
    imported = transactions_of(account)
    if imported:
        raise AccountError(
            N_(
                "%(iban)s stays: imported bank transactions belong to it (%(count)s), and "
                "they keep their account"
            ),
            "iban",
            iban=account.iban,
            count=imported,
        )
    db.session.delete(account)
    db.session.flush()


def transactions_of(account: BankAccount) -> int:
    return db.session.scalar(
        select(func.count(BankTransaction.id)).where(BankTransaction.account_id == account.id)
    )


def is_qr_iban(number: IBAN) -> bool:
    """A Swiss QR-IBAN: its bank's institution id (IID) is 30000-31999 (SIX, QR-bill 2.3)."""
    return number.country_code in SWISS and 30000 <= int(number.compact[4:9]) <= 31999


def accounts_of(merchant_id: int) -> list[BankAccount]:
    query = select(BankAccount).where(BankAccount.merchant_id == merchant_id)
    return list(db.session.scalars(query.order_by(BankAccount.id)))


def find_account(merchant_id: int, iban: str) -> BankAccount | None:
    compact = iban.replace(" ", "").upper()
    query = select(BankAccount).where(BankAccount.merchant_id == merchant_id)
    return db.session.scalar(query.where(BankAccount.iban == compact))


def for_order(order: Order, accounts: list[BankAccount] | None = None) -> BankAccount | None:
    """The account a customer is asked to pay this order to: the order's currency first, then
    for Swiss and Liechtenstein customers a Swiss account, else the first account."""
    accounts = accounts if accounts is not None else accounts_of(order.merchant_id)
    if not accounts:
        return None
    swiss_customer = order.country in SWISS

    def fit(account: BankAccount) -> tuple[bool, bool]:
        return (
            account.currency == order.currency,
            (account.country in SWISS) == swiss_customer,
        )

    return max(accounts, key=fit)  # max keeps the first of equals: the oldest account
