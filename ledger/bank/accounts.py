"""A merchant's bank accounts: added with a validated IBAN, and chosen per order for the
payment request (the Swiss account for CHF and customers in CH/LI, the euro account for EUR)."""

from __future__ import annotations

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import select

from ledger.db import db
from ledger.models import BankAccount, Merchant, Order

CURRENCIES = ("EUR", "CHF")
SWISS = ("CH", "LI")


class AccountError(ValueError):
    """A bank account that cannot be added, with the reason."""


def _iban(value: str, what: str = "IBAN") -> IBAN:
    try:
        return IBAN(value)
    except SchwiftyException as exc:
        raise AccountError(f"{what} {value!r} is not valid: {exc}") from exc


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
        raise AccountError(f"the account {number.formatted} exists already")
    country = number.country_code
    currency = (currency or ("CHF" if country in SWISS else "EUR")).upper()
    if currency not in CURRENCIES:
        raise AccountError(f"currency {currency!r} is not supported (EUR or CHF)")
    if bic:
        try:
            bic = BIC(bic).compact
        except SchwiftyException as exc:
            raise AccountError(f"BIC {bic!r} is not valid: {exc}") from exc
    else:
        bic = number.bic.compact if number.bic else None
    if qr_iban:
        qr = _iban(qr_iban, "QR-IBAN")
        if not is_qr_iban(qr):
            raise AccountError(f"{qr.formatted} is not a QR-IBAN (IID 30000-31999 in CH/LI)")
        qr_iban = qr.compact
    holder = (holder or merchant.bank_account_holder or merchant.name).strip()
    if not holder or len(holder) > 140:
        raise AccountError("the account holder must have 1 to 140 characters")
    if bank_name is None and number.bic:
        bank_name = number.bank_name
    account = BankAccount(
        merchant_id=merchant.id,
        holder=holder,
        iban=number.compact,
        bic=bic,
        bank_name=(bank_name or None) and bank_name[:140],
        currency=currency,
        country=country,
        qr_iban=qr_iban,
    )
    db.session.add(account)
    db.session.flush()
    return account


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
