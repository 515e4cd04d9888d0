"""References and scoring for matching bank payments to open orders (pure functions)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from stdnum import iso11649
from stdnum.ch import esr

from ledger.bank import scoring
from ledger.bank.references import (
    MAX_KEY_LENGTH,
    MAX_ORDER_KEYS,
    MAX_TEXT_KEYS,
    creditor_reference,
    decode_creditor_reference,
    decode_qr_reference,
    exact_key,
    format_creditor_reference,
    format_qr_reference,
    parse_structured,
    qr_reference,
    reference_keys,
    text_keys,
)
from ledger.bank.scoring import Candidate, name_match, rank, split
from ledger.bank.statements import Transaction

# --- keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_value", "text"),
    [
        ("AK-10001", "AK-10001"),
        ("AK-10001", "ak-10001"),  # case
        ("AK-10001", "AK 10001"),  # space
        ("AK-10001", "AK-10 001"),  # thousands space
        ("AK-10001", "ak.10001"),  # dot
        ("AK-10001", "AK/10001"),
        ("AK-10001", "AK10001"),
        ("AK-10001", "10001"),  # prefix missing
        ("AK-10001", "AK-010001"),  # leading zero
        ("AK-10001", "0010001"),
        ("AK-10001", "AK-1OOO1"),  # O for 0
        ("AK-10001", "AK-I0001"),  # I for 1
        ("AK-10001", "AK-l0001"),  # l for 1
        ("AK-10001", "Rechnung AK-10001 vom 12.10.2026"),
        ("AK-10001", "Bestellung 10001"),
        ("AK-10001", "Best.-Nr. 10001"),
        ("AK-10001", "Order: AK10001"),
        ("AK-10001", "Auftrag Nr. 10001 Anna Schmidt"),
        ("AK-10001", "SVWZ+AK10001 EREF+NOTPROVIDED"),
        ("RE-4711", "RE 4711"),
        ("RE-4711", "Re-Nr. 4711"),
        ("4711", "RE 4711 4712"),  # several references
        ("4712", "RE 4711 4712"),
        ("4711", "Rechnungen 4711, 4712 und 4713"),
        ("4712", "Rechnungen 4711, 4712 und 4713"),
        ("4713", "Rechnungen 4711, 4712 und 4713"),
        ("4711", "Kd-Nr 55123 Re 4711 49,90 EUR"),
        ("RE-2026-5000", "Rechnung RE-2026-5000"),
        ("RE-2026-5000", "Rechnung 2026-5000"),
        ("RE-2026-5000", "Rechnung 5000"),
        ("RE-2026-5000", "RE 5000"),
        ("RE-2026-0042", "RE20260042"),
        ("AK-123", "AK 123"),  # short number, with its prefix
    ],
)
def test_keys_meet(order_value, text):
    assert reference_keys(order_value) & text_keys(text), (
        reference_keys(order_value),
        text_keys(text),
    )


@pytest.mark.parametrize(
    ("order_value", "text"),
    [
        ("AK-10001", "AK-10010"),
        ("AK-10001", "AK-1001"),
        ("AK-10001", "100010"),
        ("4711", "47110"),
        ("4711", "14711"),
        ("AK-10001", "AK-10002"),
        ("1210", "Rechnung vom 12.10.2026"),  # a date
        ("2026", "Zahlung 2026"),  # a year is not a key
        ("121020", "12.10.2026"),
        ("20261012", "2026-10-12"),
        ("4990", "Betrag 49,90"),  # an amount
        ("4990", "49.90 EUR"),
        ("123456", "EUR 1.234,56"),
        ("1500", "1500 EUR"),
        ("1500", "EUR 1500"),
        ("37040044", "IBAN DE89 3704 0044 0532 0130 00"),  # an IBAN
        ("532013000", "DE89370400440532013000"),
        ("123", "Rechnung 123"),  # digits-only under 4 digits
        ("AK-123", "123"),
        ("RE-0042", "Rechnung 42"),
    ],
)
def test_keys_do_not_meet(order_value, text):
    assert not reference_keys(order_value) & text_keys(text), (
        reference_keys(order_value),
        text_keys(text),
    )


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("12.10.2026", {"12102026", "2026", "1210"}),
        ("2026-10-12", {"20261012", "1012"}),
        ("12/10/2026", {"12102026"}),
        ("49,90", {"4990"}),
        ("1.234,56", {"123456", "1234"}),
        ("CHF 1'234.50", {"123450", "1234"}),
        ("IBAN CH93 0076 2011 6238 5295 7", {"0076", "2011", "6238", "5295", "62385295"}),
        ("999", {"999"}),
    ],
)
def test_text_keys_leave_out_dates_amounts_ibans(text, absent):
    assert not text_keys(text) & absent


def test_postal_code_is_a_key_by_design():
    # "10115 Berlin" cannot be told from "10115 Schmidt"; scoring handles it as a fuzzy match.
    assert "10115" in text_keys("Anna Schmidt, 10115 Berlin")


def test_key_counts_are_bounded():
    assert len(reference_keys("RE-2026-5000-7777-8888")) <= MAX_ORDER_KEYS
    long_number = "SHOP-" + "7" * 59
    assert max(map(len, reference_keys(long_number))) <= MAX_KEY_LENGTH
    assert reference_keys(long_number) & text_keys(f"Bestellung {long_number}")
    text = " ".join(f"AK-{n} RE {n + 1}" for n in range(10000, 10100))
    assert len(text_keys(text)) == MAX_TEXT_KEYS


def test_exact_key_leaves_out_readings():
    assert exact_key("AK-10001") in text_keys("ak 010001", readings=False)
    assert exact_key("AK-10001") not in text_keys("AK-1OOO1", readings=False)
    assert exact_key("AK-10001") not in text_keys("10001", readings=False)


# --- structured references -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "merchant"),
    [("AK-10001", 1), ("AK-10001", 42), ("ak.10001", 999999999), ("4711", 7), ("X" * 64, 3)],
)
def test_creditor_reference_round_trip(number, merchant):
    ref = creditor_reference(number, merchant)
    assert iso11649.is_valid(ref)
    assert ref.startswith("RF") and len(ref) <= 25
    assert parse_structured(ref) == ("rf", ref)
    printed = format_creditor_reference(ref)
    assert all(len(g) == 4 for g in printed.split()[:-1])
    assert parse_structured(f"Rechnung {printed} danke") == ("rf", ref)
    assert decode_creditor_reference(ref)[0] == merchant


def test_creditor_reference_unique_per_merchant_and_order():
    refs = {
        creditor_reference(n, m)
        for m in (1, 2, 12, 123)
        for n in ("AK-10001", "AK-10002", "23-10001", "3-10001", "A" * 40, "A" * 39 + "B")
    }
    assert len(refs) == 24
    # merchant 1 + "23..." and merchant 12 + "3..." do not collide
    assert creditor_reference("23-1", 1) != creditor_reference("3-1", 12)


@pytest.mark.parametrize(("order_id", "merchant"), [(1, 1), (10001, 42), (10**16 - 1, 10**10 - 1)])
def test_qr_reference_round_trip(order_id, merchant):
    ref = qr_reference(order_id, merchant)
    assert len(ref) == 27 and ref.isdigit()
    assert esr.is_valid(ref)
    assert ref[-1] == esr.calc_check_digit(ref[:-1])
    assert parse_structured(ref) == ("qrr", ref)
    assert parse_structured(format_qr_reference(ref)) == ("qrr", ref)
    assert decode_qr_reference(ref) == (merchant, order_id)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("RF18 5390 0754 7034", ("rf", "RF18539007547034")),
        ("rf18539007547034", ("rf", "RF18539007547034")),
        ("Zahlung RF18 5390 0754 7034 Rechnung 4711", ("rf", "RF18539007547034")),
        ("RF17 5390 0754 7034", None),  # checksum
        ("21 00000 00003 13947 14300 09017", ("qrr", "210000000003139471430009017")),
        ("210000000003139471430009016", None),  # checksum
        ("3139471430009017", None),  # too short for a QRR
        ("Rechnung 4711", None),
        ("", None),
    ],
)
def test_parse_structured(value, parsed):
    assert parse_structured(value) == parsed


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payer", "name", "level"),
    [
        ("ANNA SCHMIDT", "Anna Schmidt", scoring.NAME_MATCH),
        ("Schmidt, Anna", "Anna Schmidt", scoring.NAME_MATCH),
        ("Frau Anna Schmidt", "Anna Schmidt", scoring.NAME_MATCH),
        ("A. Schmidt", "Anna Schmidt", scoring.NAME_MATCH),
        ("Juergen Mueller", "Jürgen Müller", scoring.NAME_MATCH),
        ("Strasse Bau GmbH", "Straße Bau", scoring.NAME_MATCH),
        ("Thomas und Anna Schmidt", "Anna Schmidt", scoring.NAME_MATCH),
        ("Thomas Schmidt", "Anna Schmidt", scoring.NAME_PARTIAL),
        ("Schmidt", "Anna Schmidt", scoring.NAME_PARTIAL),
        ("Peter Meier", "Anna Schmidt", scoring.NAME_DIFFERS),
        (None, "Anna Schmidt", None),
    ],
)
def test_name_match(payer, name, level):
    assert name_match(payer, name) == level


# --- ranking ---------------------------------------------------------------------------------

BOOKED = date(2026, 11, 10)


def tx(amount, text="", name="Anna Schmidt", credit=True, ref=None, iban=None, currency="EUR"):
    return Transaction(
        booking_date=BOOKED,
        amount=Decimal(amount),
        currency=currency,
        credit=credit,
        counterparty_name=name,
        counterparty_iban=iban,
        remittance=text,
        structured_reference=ref,
    )


def order(order_id=1, number="AK-10001", open_amount="49.90", name="Anna Schmidt", **kw):
    kw.setdefault("amount", Decimal(open_amount))
    return Candidate(
        order_id=order_id,
        number=number,
        customer_name=name,
        open_amount=Decimal(open_amount),
        currency=kw.pop("currency", "EUR"),
        merchant_id=kw.pop("merchant_id", 42),
        **kw,
    )


SKONTO = {"discount_amount": Decimal("48.90"), "discount_until": date(2026, 11, 12)}
SKONTO_LATE = {"discount_amount": Decimal("48.90"), "discount_until": date(2026, 11, 5)}
RF = creditor_reference("AK-10001", 42)
QRR = qr_reference(1, 42)

RANK_CASES = [
    # (id, transaction, candidates, auto, amount_fit of order 1, decision reason)
    ("rf + equal", tx("49.90", ref=RF), [order()], 1, "equal", scoring.D_STRUCTURED),
    (
        "rf in text",
        tx("49.90", f"Zahlung {format_creditor_reference(RF)}"),
        [order()],
        1,
        "equal",
        scoring.D_STRUCTURED,
    ),
    (
        "qrr + over",
        tx("60.00", ref=QRR, currency="EUR"),
        [order()],
        1,
        "over",
        scoring.D_STRUCTURED,
    ),
    ("rf + partial", tx("20.00", ref=RF), [order()], 1, "partial", scoring.D_STRUCTURED),
    (
        "rf wins over text refs",
        tx("49.90", "AK-10002", ref=RF),
        [order(), order(2, "AK-10002")],
        1,
        "equal",
        scoring.D_STRUCTURED,
    ),
    (
        "rf + other currency",
        tx("49.90", ref=RF, currency="CHF"),
        [order()],
        None,
        "currency",
        scoring.D_AMOUNT,
    ),
    ("number + equal", tx("49.90", "Rechnung AK-10001"), [order()], 1, "equal", scoring.D_EXACT),
    (
        "invoice, spaced",
        tx("49.90", "RE 2026 5000", name="Someone Else"),
        [order(invoice_number="RE-2026-5000")],
        1,
        "equal",
        scoring.D_EXACT,
    ),
    (
        "invoice, its last part",
        tx("49.90", "Rechnung 5000", name="Someone Else"),
        [order(invoice_number="RE-2026-5000")],
        None,
        "equal",
        scoring.D_FUZZY_WEAK,
    ),
    (
        "invoice exact",
        tx("49.90", "Rechnung RE-2026-5000", name="Someone Else"),
        [order(invoice_number="RE-2026-5000")],
        1,
        "equal",
        scoring.D_EXACT,
    ),
    (
        "extra reference",
        tx("49.90", "Kundenref KX-777"),
        [order(extra_references=("KX-777",))],
        1,
        "equal",
        scoring.D_EXACT,
    ),
    (
        "short by 0.80",
        tx("49.10", "AK-10001"),
        [order()],
        1,
        "short_within_tolerance",
        scoring.D_EXACT,
    ),
    (
        "short by 1.00",
        tx("48.90", "AK-10001"),
        [order()],
        1,
        "short_within_tolerance",
        scoring.D_EXACT,
    ),
    (
        "short by 1.50: partial",
        tx("48.40", "AK-10001"),
        [order()],
        1,
        "partial",
        scoring.D_EXACT_PARTIAL,
    ),
    (
        "over with number: review",
        tx("59.90", "AK-10001"),
        [order()],
        None,
        "over",
        scoring.D_AMOUNT,
    ),
    (
        "skonto in time",
        tx("48.90", "AK-10001"),
        [order(open_amount="50.90", **SKONTO)],
        1,
        "discount",
        scoring.D_EXACT,
    ),
    (
        "skonto late",
        tx("48.90", "AK-10001"),
        [order(open_amount="50.90", **SKONTO_LATE)],
        1,
        "partial",
        scoring.D_EXACT_PARTIAL,
    ),
    (
        "same number key, two prefixes",
        tx("49.90", "10001"),
        [order(1, "AK-10001"), order(2, "BK-10001")],
        None,
        "equal",
        scoring.D_SEVERAL_REFERENCED,
    ),
    (
        "exact beside a fuzzy one",
        tx("49.90", "AK-10001"),
        [order(1, "AK-10001"), order(2, "BK-10001")],
        None,
        "equal",
        scoring.D_SEVERAL_REFERENCED,
    ),
    (
        "name only",
        tx("49.90", "Danke"),
        [order(open_amount="30.00")],
        None,
        "over",
        scoring.D_NO_REFERENCE,
    ),
    (
        "amount only",
        tx("49.90", "Danke", name="Peter Meier"),
        [order()],
        None,
        "equal",
        scoring.D_NO_REFERENCE,
    ),
    (
        "fuzzy + equal + name",
        tx("49.90", "Bestellung 1OOO1"),
        [order()],
        1,
        "equal",
        scoring.D_FUZZY,
    ),
    ("missing prefix + equal + name", tx("49.90", "10001"), [order()], 1, "equal", scoring.D_FUZZY),
    (
        "fuzzy + equal + other name",
        tx("49.90", "10001", name="Peter Meier"),
        [order()],
        None,
        "equal",
        scoring.D_FUZZY_WEAK,
    ),
    (
        "fuzzy + equal + known iban",
        tx("49.90", "10001", name="P. Meier", iban="DE89 3704 0044 0532 0130 00"),
        [order(customer_iban="DE89370400440532013000")],
        1,
        "equal",
        scoring.D_FUZZY,
    ),
    (
        "fuzzy + short + name",
        tx("49.10", "10001"),
        [order()],
        None,
        "short_within_tolerance",
        scoring.D_FUZZY_WEAK,
    ),
    (
        "spouse's name",
        tx("49.90", "10001", name="Thomas Schmidt"),
        [order(extra_names=("Thomas Schmidt",))],
        1,
        "equal",
        scoring.D_FUZZY,
    ),
    (
        "not open",
        tx("49.90", "AK-10001"),
        [order(status="paid")],
        None,
        "equal",
        scoring.D_NOT_OPEN,
    ),
    (
        "debit",
        tx("49.90", "AK-10001", credit=False, ref=RF),
        [order()],
        None,
        None,
        scoring.D_DEBIT,
    ),
]


@pytest.mark.parametrize(
    ("transaction", "candidates", "auto", "fit", "reason"),
    [case[1:] for case in RANK_CASES],
    ids=[case[0] for case in RANK_CASES],
)
def test_rank(transaction, candidates, auto, fit, reason):
    decision = rank(transaction, candidates)
    assert decision.reason == reason
    assert decision.auto == auto
    assert decision.split is None
    fits = {s.order_id: s.amount_fit for s in decision.suggestions}
    assert fits.get(1) == fit
    if auto is not None:
        assert decision.suggestions[0].order_id == auto
        assert decision.amount_fit == fit
    for suggestion in decision.suggestions:
        assert set(suggestion.reasons) <= set(scoring.REASONS)
    assert decision.reason in scoring.DECISION_REASONS


def test_pending_entry_is_not_assigned():
    pending = replace(tx("49.90", "AK-10001"), booked=False)
    decision = rank(pending, [order()])
    assert decision.auto is None and decision.reason == scoring.D_PENDING
    assert [s.order_id for s in decision.suggestions] == [1]


def test_two_candidates_same_key_are_both_suggested():
    decision = rank(tx("49.90", "10001"), [order(1, "AK-10001"), order(2, "BK-10001")])
    assert decision.auto is None
    assert {s.order_id for s in decision.suggestions} == {1, 2}


def test_name_only_is_a_suggestion():
    decision = rank(tx("12.00", "Danke"), [order(open_amount="30.00")])
    assert decision.auto is None
    assert [s.order_id for s in decision.suggestions] == [1]
    assert scoring.R_NAME_MATCH in decision.suggestions[0].reasons


def test_partial_without_reference_is_no_suggestion():
    decision = rank(tx("12.00", "Danke", name="Peter Meier"), [order(open_amount="30.00")])
    assert decision.suggestions == ()


THREE = [
    order(1, "RE-4711", "49.90", customer_id=7),
    order(2, "RE-4712", "20.00", customer_id=7),
    order(3, "RE-4713", "30.10", customer_id=7),
]


@pytest.mark.parametrize(
    ("transaction", "candidates", "parts", "auto_split", "reason"),
    [
        (
            tx("100.00", "Rechnungen RE-4711, RE-4712 und RE-4713"),
            THREE,
            ((1, Decimal("49.90")), (2, Decimal("20.00")), (3, Decimal("30.10"))),
            True,
            scoring.D_SPLIT,
        ),
        (  # short by bank fees: the largest part takes it
            tx("99.50", "RE 4711 4712 4713"),
            THREE,
            ((1, Decimal("49.40")), (2, Decimal("20.00")), (3, Decimal("30.10"))),
            True,
            scoring.D_SPLIT,
        ),
        (  # only the digits: a split to review
            tx("100.00", "4711 4712 4713"),
            THREE,
            ((1, Decimal("49.90")), (2, Decimal("20.00")), (3, Decimal("30.10"))),
            False,
            scoring.D_SPLIT_REVIEW,
        ),
        (  # another customer's order referenced too: to review
            tx("69.90", "RE-4711 RE-4712 AK-4711"),
            THREE[:2] + [order(4, "AK-4711", "5.00", name="Peter Meier", customer_id=8)],
            ((1, Decimal("49.90")), (2, Decimal("20.00"))),
            False,
            scoring.D_SPLIT_REVIEW,
        ),
    ],
)
def test_split(transaction, candidates, parts, auto_split, reason):
    decision = rank(transaction, candidates)
    assert decision.auto == (parts[0][0] if auto_split else None)
    assert decision.split == parts
    assert decision.auto_split is auto_split
    assert decision.reason == reason
    assert sum(amount for _, amount in parts) == transaction.amount
    assert split(transaction, candidates) == list(parts)
    assert {s.order_id for s in decision.suggestions if s.amount_fit == "sum"} == {
        i for i, _ in parts
    }


def test_no_split_when_the_sum_does_not_fit():
    transaction = tx("90.00", "RE-4711 RE-4712 RE-4713")
    assert split(transaction, THREE) is None
    assert rank(transaction, THREE).reason == scoring.D_SEVERAL_REFERENCED


def test_no_split_across_customers():
    candidates = [order(1, "RE-4711", "49.90"), order(2, "RE-4712", "50.10", name="Peter Meier")]
    assert split(tx("100.00", "RE-4711 RE-4712"), candidates) is None


def test_debit_is_not_split():
    assert split(tx("100.00", "RE-4711 RE-4712 RE-4713", credit=False), THREE) is None
