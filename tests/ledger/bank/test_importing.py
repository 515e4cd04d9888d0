"""The import service: every shared sample imports once (or is refused, storing nothing), the
bank data date moves, and what the matcher decides reaches the orders through the lifecycle."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from schwifty import IBAN
from sqlalchemy import func, select

from bench.camt_file import Booking, camt053
from ledger.bank import importing
from ledger.bank.read import read_bank_file
from ledger.db import db
from ledger.models import (
    BankAccount,
    BankImport,
    BankTransaction,
    EntryKind,
    LedgerEntry,
    Order,
    PaymentAssignment,
)
from tests.conftest import BANK_SAMPLES

SAMPLES = BANK_SAMPLES
TODAY = date(2026, 10, 20)
OWN_IBAN = "DE02120300000000202051"  # tests.conftest's merchant's account

# file → transactions it brings (each TxDtls of a batch booking is one)
IMPORTS = {
    "camt/200519_camt.054_P_CH2909000000250094239_1111091335_0_2020061900081727_v2019.xml": 2,
    "camt/camt052.xml": 5,
    "camt/camt053.v2.minimal.xml": 1,
    "camt/camt053.v2.multi.statement.xml": 2,
    "camt/camt053.v4.xml": 1,
    "camt/camt053.v8.xml": 1,
    "camt/camt054.v4.xml": 3,
    "camt/camt054.v8.xml": 3,
    "camt/camt_054_Beispiel_SammelbuchungEs.xml": 2,
    "camt/camt_054_Beispiel_ZA1_ESR_ZE.xml": 1,
    "camt/gcamp6.xml": 5,
    "camt/test-camt-parse-05200102.xml": 2,
    "camt/test-camt-ruecklastschrift.xml": 1,
    "camt/test-camt053-txdtls.xml": 2,
    "camt/test-camt053.xml": 4,
    "camt/test-camt054.xml": 1,
    "mt940/commerzbank.sta": 1,
    "mt940/deutschebank.sta": 1,
    "mt940/lbbw.sta": 2,
    "mt940/postfinance.sta": 4,
    "mt940/self-provided__gv_codes.sta": 2,
    "mt940/self-provided__raphaelm.sta": 9,
    "mt940/sparkasse.sta": 2,
}


def _register_accounts(merchant, data: bytes, name: str) -> None:
    """The samples carry anonymised or checksum-invalid accounts: a test registers them as rows
    (the product's own `add_account` refuses such an IBAN). German `BLZ/account` and bare
    account numbers become a generated IBAN with that bank code and account number."""
    for statement in read_bank_file(data, name).statements:
        if statement.account_iban:
            iban = statement.account_iban
        elif statement.account_other[:2].isalpha():  # an IBAN given as the bank's own id
            iban = statement.account_other
        else:
            bank_code, _, number = statement.account_other.rpartition("/")
            iban = IBAN.generate("DE", bank_code=bank_code or "12030000", account_code=number)
            iban = iban.compact
        if db.session.scalar(select(BankAccount).where(BankAccount.iban == iban)):
            continue
        currencies = {t.currency for t in statement.transactions} | {statement.currency}
        # As the bank says (DEM in a 1990s MT940); "XXX" (no currency) fits any account.
        currency = next((c for c in currencies if c and c != "XXX"), "EUR")
        db.session.add(
            BankAccount(
                merchant_id=merchant.id,
                holder=merchant.name,
                iban=iban,
                currency=currency,
                country=iban[:2],
            )
        )
    db.session.flush()


def _counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count(BankImport.id))),
        db.session.scalar(select(func.count(BankTransaction.id))),
    )


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_every_sample_imports_once(card_merchant, name):
    data = (SAMPLES / name).read_bytes()
    _register_accounts(card_merchant, data, name)
    first = importing.import_file(card_merchant, data, name, "cli", "test", TODAY)
    assert (first.transactions, first.new, first.known) == (IMPORTS[name], IMPORTS[name], 0)
    assert first.matched + first.suggested + first.unmatched <= first.new  # debits: ignored
    again = importing.import_file(card_merchant, data, name, "cli", "test", TODAY)
    assert (again.new, again.known) == (0, IMPORTS[name])  # a second import adds nothing
    assert _counts() == (2, IMPORTS[name])


@pytest.mark.parametrize("name", sorted(p.name for p in (SAMPLES / "broken").iterdir()))
def test_every_broken_sample_is_refused_and_stores_nothing(card_merchant, name):
    with pytest.raises(importing.ImportRefused) as refused:
        importing.import_file(
            card_merchant, (SAMPLES / "broken" / name).read_bytes(), name, "api", "test", TODAY
        )
    assert "(at " in str(refused.value)  # says where
    db.session.rollback()
    assert _counts() == (0, 0)


def test_a_statement_of_an_unknown_account_or_currency_is_refused(card_merchant):
    unknown = camt053("DE89370400440532013000", [Booking(Decimal("1.00"), TODAY)])
    with pytest.raises(importing.ImportRefused, match="not one of Alpenkiste GmbH's bank acc"):
        importing.import_file(card_merchant, unknown, "x.xml", "upload", "test", TODAY)
    francs = camt053(OWN_IBAN, [Booking(Decimal("1.00"), TODAY)], currency="CHF")
    with pytest.raises(importing.ImportRefused, match="is in CHF, but the account"):
        importing.import_file(card_merchant, francs, "y.xml", "upload", "test", TODAY)
    db.session.rollback()
    assert _counts() == (0, 0)


def test_camt052_then_camt053_of_the_same_day_store_each_booking_once(card_merchant):
    day = [Booking(Decimal("80.00"), TODAY, name="Anna", remittance="x", servicer_ref="S1")]
    intraday = camt053(OWN_IBAN, day).replace(b"camt.053", b"camt.052")
    intraday = intraday.replace(b"BkToCstmrStmt", b"BkToCstmrAcctRpt").replace(b"Stmt>", b"Rpt>")
    statement = camt053(OWN_IBAN, [*day, Booking(Decimal("5.00"), TODAY, servicer_ref="S2")])
    first = importing.import_file(card_merchant, intraday, "052.xml", "inbox", "test", TODAY)
    second = importing.import_file(card_merchant, statement, "053.xml", "inbox", "test", TODAY)
    assert (first.format, first.new) == ("camt.052.001.08", 1)
    assert (second.new, second.known) == (1, 1)


def test_two_equal_transfers_in_one_statement_are_two(card_merchant):
    twice = [Booking(Decimal("10.00"), TODAY, name="Max", remittance="Spende")] * 2
    summary = importing.import_file(
        card_merchant, camt053(OWN_IBAN, twice), "s.xml", "cli", "t", TODAY
    )
    assert summary.new == 2


def test_the_bank_data_date_is_the_statement_end(card_merchant):
    end = TODAY - timedelta(days=1)
    data = camt053(OWN_IBAN, [Booking(Decimal("1.00"), end)], period=(end, end))
    importing.import_file(card_merchant, data, "s.xml", "cli", "t", TODAY)
    account = db.session.scalar(select(BankAccount))
    assert account.data_as_of == end == card_merchant.bank_data_as_of


# --- what a match does to the order ------------------------------------------------------


def _import(merchant, *bookings: Booking):
    data = camt053(OWN_IBAN, list(bookings))
    return importing.import_file(merchant, data, "s.xml", "upload", "user:a@b.de", TODAY)


def _tx(remittance: str) -> BankTransaction:
    return db.session.scalar(
        select(BankTransaction).where(BankTransaction.remittance == remittance)
    )


def _kinds(order: Order) -> dict[str, Decimal]:
    rows = db.session.execute(
        select(LedgerEntry.kind, LedgerEntry.amount).where(LedgerEntry.order_id == order.id)
    ).all()
    return {kind: amount for kind, amount in rows}


def test_exact_reference_and_amount_pays_the_order(card_merchant, add_order):
    order = add_order(card_merchant, "AK-10001")
    summary = _import(
        card_merchant,
        Booking(Decimal("80.00"), TODAY, name="Kunde AK-10001", remittance="AK-10001"),
    )
    assert summary.matched == 1
    db.session.refresh(order)
    assert order.status == "paid" and order.open_amount == 0
    assignment = db.session.scalar(select(PaymentAssignment))
    assert assignment.actor == "matcher" and assignment.order_id == order.id
    entry = db.session.get(LedgerEntry, assignment.entry_id)
    assert (entry.source, entry.reference) == ("bank", f"bank:{assignment.transaction_id}")


def test_the_printed_creditor_reference_matches_even_a_partial_payment(card_merchant, add_order):
    order = add_order(card_merchant, "AK-10002")
    assert order.payment_reference.startswith("RF")
    _import(card_merchant, Booking(Decimal("30.00"), TODAY, reference=order.payment_reference))
    db.session.refresh(order)
    assert order.status == "partially_paid" and order.open_amount == Decimal("50.00")


def test_short_within_tolerance_is_paid_and_the_rest_written_off(card_merchant, add_order):
    order = add_order(card_merchant, "AK-10003")
    _import(
        card_merchant,
        Booking(Decimal("79.50"), TODAY, name="Kunde AK-10003", remittance="AK-10003"),
    )
    db.session.refresh(order)
    assert order.status == "paid"
    assert _kinds(order)[EntryKind.WRITE_OFF] == Decimal("0.50")


def test_short_beyond_tolerance_stays_partially_paid(card_merchant, add_order):
    order = add_order(card_merchant, "AK-10004")
    _import(
        card_merchant,
        Booking(Decimal("78.00"), TODAY, name="Kunde AK-10004", remittance="AK-10004"),
    )
    db.session.refresh(order)
    assert order.status == "partially_paid" and order.open_amount == Decimal("2.00")


def test_the_merchant_may_keep_small_shortfalls_open(card_merchant, add_order):
    card_merchant.short_payment_write_off = False
    order = add_order(card_merchant, "AK-10005")
    _import(
        card_merchant,
        Booking(Decimal("79.50"), TODAY, name="Kunde AK-10005", remittance="AK-10005"),
    )
    db.session.refresh(order)
    assert order.status == "partially_paid" and order.open_amount == Decimal("0.50")


def test_an_overpayment_leaves_a_credit_to_refund(card_merchant, add_order):
    order = add_order(card_merchant, "AK-10006")
    _import(card_merchant, Booking(Decimal("90.00"), TODAY, reference=order.payment_reference))
    db.session.refresh(order)
    assert order.status == "paid" and order.statement.credit == Decimal("10.00")


def test_skonto_paid_in_time_settles_with_a_discount(card_merchant, add_order):
    order = add_order(card_merchant, "AK-10007")
    order.discount_amount, order.discount_until = Decimal("78.40"), TODAY
    db.session.commit()
    _import(
        card_merchant,
        Booking(Decimal("78.40"), TODAY, name="Kunde AK-10007", remittance="AK-10007"),
    )
    db.session.refresh(order)
    assert order.status == "paid" and _kinds(order)[EntryKind.DISCOUNT] == Decimal("1.60")


def test_a_payment_for_a_cancelled_order_flags_it(card_merchant, add_order):
    from ledger import lifecycle

    order = add_order(card_merchant, "AK-10008")
    lifecycle.cancel(order, lifecycle.Cause("test", "manual", TODAY))
    db.session.commit()
    _import(
        card_merchant,
        Booking(Decimal("80.00"), TODAY, name="Kunde AK-10008", remittance="AK-10008"),
    )
    db.session.refresh(order)
    assert order.status == "cancelled" and order.paid_after_cancellation


def test_a_returned_transfer_puts_the_order_back_into_dunning(card_merchant, add_order):
    order = add_order(card_merchant, "AK-10009")
    paid = Booking(
        Decimal("80.00"), TODAY, name="Kunde AK-10009", remittance="AK-10009", end_to_end="E2E-9"
    )
    _import(card_merchant, paid)
    back = Booking(Decimal("80.00"), TODAY, credit=False, remittance="Retoure AK-10009",
                   end_to_end="E2E-9", return_reason="AC04")  # fmt: skip
    summary = _import(card_merchant, back)
    assert summary.matched == 1
    db.session.refresh(order)
    assert order.status == "unpaid" and order.paid_total == 0
    assert _tx("Retoure AK-10009").state == "reversed"


def test_a_transfer_and_its_return_in_one_file(card_merchant, add_order):
    """The matcher books a batch's payments together (lifecycle.PaymentBatch); a return later
    in the same batch still finds the payment it takes back."""
    order = add_order(card_merchant, "AK-10011")
    summary = _import(
        card_merchant,
        Booking(Decimal("80.00"), TODAY, name="Kunde AK-10011", remittance="AK-10011",
                end_to_end="E2E-11"),
        Booking(Decimal("80.00"), TODAY, credit=False, remittance="Retoure AK-10011",
                end_to_end="E2E-11", return_reason="MS03"),
    )  # fmt: skip
    assert summary.matched == 2
    db.session.refresh(order)
    assert order.status == "unpaid" and order.paid_total == 0
    assert (_tx("AK-10011").state, _tx("Retoure AK-10011").state) == ("matched", "reversed")
    payment = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.PAYMENT))
    reversal = db.session.scalar(
        select(LedgerEntry).where(LedgerEntry.kind == EntryKind.PAYMENT_REVERSAL)
    )
    assert reversal.reverses_id == payment.id


def test_a_batch_of_payments_does_what_each_payment_does(card_merchant, add_order):
    """Booked together, each payment still withdraws the paid order's waiting reminders, moves
    the next due date as a payment on its own would, is audited, and its assignment points at
    its ledger entry."""
    from ledger import outbox, scheduling
    from ledger.models import AuditEntry, OutboxMessage

    paid = add_order(card_merchant, "AK-10021")
    partly = add_order(card_merchant, "AK-10022")
    untouched = add_order(card_merchant, "AK-10023")
    waiting = [
        outbox.add(card_merchant.id, "email", "reminder", "k@example.de", order_id=order.id)
        for order in (paid, untouched)
    ]
    partly.next_due_on = None  # stale: the payment's refresh must set it
    db.session.commit()
    summary = _import(
        card_merchant,
        Booking(Decimal("80.00"), TODAY, name="Kunde AK-10021", remittance="AK-10021"),
        Booking(Decimal("30.00"), TODAY, reference=partly.payment_reference),
    )
    assert summary.matched == 2
    for message in waiting:
        db.session.refresh(message)
    assert [m.state for m in waiting] == ["cancelled", "pending"]
    assert waiting[0].last_error == "the order was paid"
    db.session.refresh(partly)
    computed = partly.next_due_on
    assert partly.status == "partially_paid" and computed is not None
    scheduling.refresh_next_due(partly)  # what a payment on its own leaves behind
    assert partly.next_due_on == computed
    audited = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "payment.recorded").order_by(AuditEntry.id)
    ).all()
    assert [(a.order_id, a.detail["amount"], a.detail["source"]) for a in audited] == [
        (paid.id, "80.00", "bank"),
        (partly.id, "30.00", "bank"),
    ]
    for assignment in db.session.scalars(select(PaymentAssignment)):
        entry = db.session.get(LedgerEntry, assignment.entry_id)
        assert (entry.order_id, entry.amount, entry.reference) == (
            assignment.order_id,
            assignment.amount,
            f"bank:{assignment.transaction_id}",
        )
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 2


def test_what_is_not_clear_waits_in_the_inbox(card_merchant, add_order):
    add_order(card_merchant, "AK-10010")
    add_order(card_merchant, "BK-10010")
    card_merchant.ignore_keywords = ["SOFORT"]
    db.session.commit()
    summary = _import(
        card_merchant,
        Booking(Decimal("80.00"), TODAY, name="Jemand", remittance="Bestellung 10010"),
        Booking(Decimal("12.34"), TODAY, name="Niemand", remittance="Danke"),
        Booking(Decimal("80.00"), TODAY, name="Klarna", remittance="SOFORT AK-10010"),
    )
    assert (summary.matched, summary.suggested, summary.unmatched) == (0, 1, 1)
    suggested = _tx("Bestellung 10010")
    assert suggested.state == "suggested" and len(suggested.suggestions) == 2
    assert _tx("SOFORT AK-10010").state == "ignored"
    assert db.session.scalar(select(func.count(PaymentAssignment.id))) == 0


def test_the_inbox_search_takes_what_was_typed_literally(card_merchant):
    from ledger.bank import inbox

    _import(
        card_merchant,
        Booking(Decimal("1.00"), TODAY, name="A", remittance="100% Spende"),
        Booking(Decimal("2.00"), TODAY, name="B", remittance="Spende"),
    )
    rows, total = inbox.waiting(card_merchant.id, query="100%")
    assert total == 1 and rows[0].remittance == "100% Spende"
    assert inbox.waiting(card_merchant.id, query="%")[1] == 1
    assert inbox.waiting(card_merchant.id, query="_")[1] == 0


def test_the_same_file_imported_twice_at_the_same_moment_stores_each_booking_once(
    app, card_merchant
):
    """A double click, or the inbox and an upload at once: both imports answer, one stores."""
    import threading

    from ledger.models import Merchant

    data = camt053(OWN_IBAN, [Booking(Decimal(n), TODAY, remittance=f"r{n}") for n in range(1, 40)])
    merchant_id = card_merchant.id
    db.session.commit()
    barrier, results, errors = threading.Barrier(2), [], []

    def run():
        with app.app_context():
            try:
                merchant = db.session.get(Merchant, merchant_id)
                barrier.wait()
                results.append(importing.import_file(merchant, data, "s.xml", "api", "t", TODAY))
            except Exception as exc:  # noqa: BLE001 - the test reports it
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted((r.new, r.known) for r in results) == [(0, 39), (39, 0)]
    assert db.session.scalar(select(func.count(BankTransaction.id))) == 39
