"""The bank file readers against real samples from open-source banking projects.

The samples live outside the repository (/work/shared/bank-samples, see its README) and are
read from there, never copied. Transaction counts were taken by reading each file: a camt
entry gives one transaction per TxDtls (one when it has none), an MT940 file one per :61:.
"""

from __future__ import annotations

import codecs
import re
from datetime import date
from decimal import Decimal

import pytest

from ledger.bank.read import read_bank_file
from ledger.bank.statements import StatementError
from tests.conftest import BANK_SAMPLES

SAMPLES = BANK_SAMPLES
QRR_FILE = "200519_camt.054_P_CH2909000000250094239_1111091335_0_2020061900081727_v2019.xml"


def sample(folder: str, name: str) -> bytes:
    return (SAMPLES / folder / name).read_bytes()


def read(folder: str, name: str):
    return read_bank_file(sample(folder, name), name)


def test_samples_are_where_the_readme_says():
    assert SAMPLES.parts[-2:] == ("shared", "bank-samples")  # /work/shared/… next to the repo
    assert (SAMPLES / "README.md").is_file()


# file → (format, transactions per statement)
CAMT = {
    QRR_FILE: ("camt.054.001.08", [2]),  # one batch entry, two QR-bill details
    "camt052.xml": ("camt.052.001.02", [5]),
    "camt053.v2.minimal.xml": ("camt.053.001.02", [1]),
    "camt053.v2.multi.statement.xml": ("camt.053.001.02", [1, 1]),
    "camt053.v4.xml": ("camt.053.001.04", [1]),
    "camt053.v8.xml": ("camt.053.001.08", [1]),
    "camt054.v4.xml": ("camt.054.001.04", [3]),  # one entry, three details
    "camt054.v8.xml": ("camt.054.001.08", [3]),
    "camt_054_Beispiel_SammelbuchungEs.xml": ("camt.054.001.04", [2]),
    "camt_054_Beispiel_ZA1_ESR_ZE.xml": ("camt.054.001.04", [1]),
    "gcamp6.xml": ("camt.053.001.02", [5]),
    "test-camt-parse-05200102.xml": ("camt.052.001.02", [2]),
    "test-camt-ruecklastschrift.xml": ("camt.052.001.02", [1]),
    "test-camt053-txdtls.xml": ("camt.053.001.04", [2]),  # one entry, two details
    "test-camt053.xml": ("camt.053.001.02", [4]),  # three entries, the second has two details
    "test-camt054.xml": ("camt.054.001.04", [1]),
}
MT940 = {
    "commerzbank.sta": [1],
    "deutschebank.sta": [1],
    "lbbw.sta": [2],
    "postfinance.sta": [2, 2],  # two SWIFT envelopes, one statement each
    "self-provided__gv_codes.sta": [2],
    "self-provided__raphaelm.sta": [6, 2, 1],
    "sparkasse.sta": [1, 1],
}


def test_every_sample_is_in_the_tables():
    assert {p.name for p in (SAMPLES / "camt").iterdir()} == set(CAMT)
    # self-provided__sparkassen.sta is a fragment without :20:/:25: (test_mt940_fragment_…)
    assert {p.name for p in (SAMPLES / "mt940").iterdir()} == set(MT940) | {
        "self-provided__sparkassen.sta"
    }


@pytest.mark.parametrize("name", sorted(CAMT))
def test_camt_counts(name):
    fmt, counts = CAMT[name]
    bank_file = read("camt", name)
    assert bank_file.format == fmt
    assert [len(s.transactions) for s in bank_file.statements] == counts
    for statement in bank_file.statements:
        assert statement.kind == fmt[:8]
        assert statement.account_iban or statement.account_other
        for t in statement.transactions:
            assert isinstance(t.amount, Decimal) and t.amount >= 0
            assert isinstance(t.booking_date, date)
            assert re.fullmatch(r"[A-Z]{3}", t.currency)
            if t.counterparty_name and t.counterparty_iban:  # never glued together
                assert t.counterparty_iban not in t.counterparty_name


@pytest.mark.parametrize("name", sorted(MT940))
def test_mt940_counts(name):
    bank_file = read("mt940", name)
    assert bank_file.format == "mt940"
    assert [len(s.transactions) for s in bank_file.statements] == MT940[name]
    for t in bank_file.transactions:
        assert isinstance(t.amount, Decimal) and t.amount >= 0
        if t.counterparty_name and t.counterparty_iban:
            assert t.counterparty_iban not in t.counterparty_name
            assert not re.search(r"[A-Z]{2}\d{2}[A-Z0-9]{12,}", t.counterparty_name)


# --- camt spot checks ---------------------------------------------------------------------


def test_camt053_abn_amro_entries_returns_and_period():
    (statement,) = read("camt", "test-camt053.xml").statements
    assert statement.account_iban == "NL77ABNA0574908765"
    assert statement.currency == "EUR"
    assert statement.period_end == date(2014, 1, 5)
    assert statement.opening_balance == Decimal("15568.27")
    assert statement.closing_balance == Decimal("15121.12")
    debit, ret1, ret2, credit = statement.transactions
    assert (debit.amount, debit.credit) == (Decimal("754.25"), False)
    assert debit.counterparty_name == "INSURANCE COMPANY TESTX"
    assert debit.counterparty_iban == "NL46ABNA0499998748"
    assert debit.mandate_id == "1880000341866"
    assert debit.bank_code == "PMNT/RDDT/ESDD"
    assert not debit.reversal
    # a returned direct-debit batch (RvslInd, IDDT/UPDD, AC06): two details, own amounts
    assert [ret1.amount, ret2.amount] == [Decimal("564.05"), Decimal("100.00")]
    assert all(t.batch and t.reversal and t.return_reason == "AC06" for t in (ret1, ret2))
    assert ret1.end_to_end_id == "TESTBANK/NL/20141229/01206408"
    assert ret1.counterparty_name == "Test Customer"
    assert credit.credit and credit.amount == Decimal("1405.31")
    assert credit.counterparty_name == "3rd party Media"
    assert credit.remittance == "#RD PARTY MEDIA CUSNO 90782 4210773"
    assert credit.end_to_end_id == "115"


def test_camt053_batch_details_are_split():
    (statement,) = read("camt", "test-camt053-txdtls.xml").statements
    assert statement.account_iban == "CH1111000000123456789"
    assert statement.period_start == statement.period_end == date(2017, 3, 23)
    first, second = statement.transactions
    assert [first.amount, second.amount] == [Decimal("2187.00"), Decimal("1296.00")]
    assert first.amount + second.amount == Decimal("3483.00")  # the entry's amount
    assert first.batch and second.batch
    assert first.booking_date == date(2017, 3, 22) and first.value_date == date(2017, 3, 23)
    assert first.counterparty_name == "Banque Cantonale Vaudoise"
    assert first.counterparty_iban == "CH2222000000123456789"
    assert second.counterparty_iban == "CH3333000000123456789"
    assert first.structured_reference == "302388292000011111111111111"
    assert second.structured_reference == "302388292000022222222222222"
    assert first.entry_reference == "012345678"
    assert first.account_servicer_ref == "123456CHCAFEBABE"
    assert "CRÉDIT GROUPÉ" in first.remittance  # AddtlNtryInf: no Ustrd, UTF-8 read right


def test_camt054_sammelbuchung_details():
    (statement,) = read("camt", "camt_054_Beispiel_SammelbuchungEs.xml").statements
    assert statement.kind == "camt.054"
    assert statement.account_iban == "CH160077401231234567"
    ada, byron = statement.transactions
    assert (ada.amount, ada.counterparty_name) == (Decimal("111.00"), "Ada Lovelace")
    assert (byron.amount, byron.counterparty_name) == (Decimal("2.00"), "Lord Bayron")
    assert ada.remittance == "TEST MITTEILUNG"
    assert ada.batch and ada.credit and ada.currency == "CHF"
    assert ada.account_servicer_ref == "170727CH00A1ABCD"


def test_camt054_v08_qr_bill_references():
    (statement,) = read("camt", QRR_FILE).statements
    assert statement.account_iban == "CH2909000000250094239"
    assert statement.currency == "CHF"
    assert statement.statement_id == "20200618375204295372465"
    assert statement.period_end == date(2020, 6, 18)
    first, second = statement.transactions
    assert first.structured_reference == "539115429773825311971477453"
    assert second.structured_reference == "662437765447746478179744715"
    assert [first.amount, second.amount] == [Decimal("778.29"), Decimal("913.93")]
    assert first.counterparty_name == "Bernasconi Maria"  # v08: Dbtr/Pty/Nm
    assert first.counterparty_iban == "CH5109000000250092291"
    assert first.counterparty_bic == "POFICHBEXXX"  # v08: BICFI
    assert first.end_to_end_id == "1006265-aic5dL-75dzf3jk9-cf2d5e9"
    assert second.end_to_end_id is None
    assert first.bank_code == "PMNT/RCDT/AUTT"
    assert first.entry_reference == "CH7730000001250094239"


def test_camt052_return_of_a_direct_debit():
    (statement,) = read("camt", "test-camt-ruecklastschrift.xml").statements
    assert statement.kind == "camt.052"
    assert statement.account_iban == "DE1234567890"  # anonymised: read as it is
    (t,) = statement.transactions
    assert t.reversal and t.return_reason == "MS03"
    assert not t.credit and t.amount == Decimal("53.00")  # the booked entry, charges included
    assert t.booking_date == date(2021, 3, 26)
    assert t.counterparty_name == "Sven Schuldner"  # the payer of the returned debit
    assert t.counterparty_iban == "DES1234567890"
    assert t.mandate_id == "TEST1234"
    assert t.remittance == "RUECKLASTSCHRIFT Sonstige Gruende"
    assert not t.batch


def test_camt052_sparkasse():
    (statement,) = read("camt", "camt052.xml").statements
    assert statement.account_iban == "DE00000000000000000000"
    assert statement.closing_balance == Decimal("16.95")
    t = statement.transactions[2]
    assert (t.amount, t.credit) == (Decimal("34.52"), False)
    assert t.counterparty_name == "Something else"
    assert t.counterparty_iban == "DE22222222222222222222"
    assert t.remittance.startswith("Kunde 5555555 Rechnung 12345 vom 2021-01-31")
    assert t.bank_code == "NTRF+118+9310+997"
    assert statement.transactions[1].end_to_end_id == "12345678"
    assert all(t.end_to_end_id != "NOTPROVIDED" for t in statement.transactions)


def test_camt053_versions_and_multi_statement():
    v8 = read("camt", "camt053.v8.xml").statements[0]
    assert v8.account_iban is None and v8.account_other == "NL26VAYB8060476890"
    (t,) = v8.transactions
    assert t.booking_date == date(2014, 12, 31)  # BookgDt/DtTm
    assert t.amount == Decimal("8.85") and t.currency == "EUR"
    assert t.structured_reference == "4654654654654654"  # SCOR
    assert t.counterparty_name == "NAME NAME"
    assert v8.closing_balance == Decimal("-27.00")  # CLBD DBIT
    first, second = read("camt", "camt053.v2.multi.statement.xml").statements
    assert [first.statement_id, second.statement_id] == [
        "253EURNL26VAYB8060476890",
        "254EURNL26VAYB8060476890",
    ]
    assert first.transactions[0].remittance == "Transaction Description 1"
    assert second.transactions[0].end_to_end_id == "000000002"
    assert (second.transactions[0].amount, second.transactions[0].credit) == (
        Decimal("7.00"),
        False,
    )


def test_camt054_multiline_ustrd_is_joined_with_a_space():
    t = read("camt", "camt054.v4.xml").transactions[2]
    assert t.remittance == (
        "Unstructured Remittance Information V3 block 1 "
        "Unstructured Remittance Information V3 block 2"
    )


# --- MT940 spot checks --------------------------------------------------------------------


def test_mt940_sparkasse_two_statements():
    first, second = read("mt940", "sparkasse.sta").statements
    assert first.account_other == "87052000/123456789"
    assert first.account_iban == "DE95870520000123456789"  # computed from BLZ and account
    assert first.period_end == date(2019, 2, 18) and second.period_end == date(2019, 2, 19)
    assert first.opening_balance == Decimal("194.57")
    assert first.closing_balance == Decimal("174.57")
    (card,) = first.transactions
    assert (card.amount, card.credit, card.currency) == (Decimal("20.00"), False, "EUR")
    assert card.counterparty_name == "ARAL AG"
    assert card.counterparty_iban == "DE95430800830802029200"
    assert card.counterparty_bic == "DRESDEFF430"
    assert card.bank_code == "106"
    assert "Straße" in card.raw["ABWA"]
    (transfer,) = second.transactions
    assert transfer.counterparty_name == "Max Mustermann"
    assert transfer.booking_date == date(2019, 2, 19)
    assert transfer.remittance.startswith("Apple Pay DATUM 19.02.2019")


def test_mt940_commerzbank_return_with_sepa_fields():
    (statement,) = read("mt940", "commerzbank.sta").statements
    assert statement.account_other == "25040066/0123456789"
    assert statement.account_iban == "DE85250400660123456789"
    assert statement.period_end == date(2020, 6, 8)
    (t,) = statement.transactions
    assert t.reversal  # GVC 109: SEPA-Lastschrift Rückbelastung
    assert (t.amount, t.credit) == (Decimal("12.35"), False)
    assert t.bank_code == "109"
    assert t.end_to_end_id == "A1.200080779.400143254.4961336"
    assert t.mandate_id == "20852HW2723821"
    assert t.entry_reference == "SEPA-DA20200601221740-34972000-P1"  # KREF, :61: said "KREF+"
    assert t.account_servicer_ref == "2016021783252833"
    assert t.counterparty_iban == "DE50712345600200691329"  # ?31, not in the name
    assert t.counterparty_name == "TESTER EL"
    assert t.counterparty_bic == "CSDBDE71XXX"
    assert t.remittance.startswith("SONSTIGE GRUENDE ENDABRECHNUNG NR. 500106875")
    assert "EREF" not in t.remittance and "MREF" not in t.remittance


def test_mt940_lbbw_and_gv_codes():
    (statement,) = read("mt940", "lbbw.sta").statements
    assert statement.account_other == "12345678/1324357"
    assert statement.account_iban is None  # 12345678 is no bank's BLZ
    debit, credit = statement.transactions
    assert debit.bank_code == "834" and not debit.credit
    assert credit.credit and credit.amount == Decimal("0.01")
    assert credit.counterparty_name == "NIC RICHTER"  # ?32 + ?33
    assert credit.counterparty_iban == "DE59600501010007907986"
    assert credit.remittance == "E-MOBILITY ABRECHNUNG NR. 28 ZU VERTRAG 9433, KUNDENNUMMER 11111"
    (statement,) = read("mt940", "self-provided__gv_codes.sta").statements
    paypal, bare = statement.transactions
    assert paypal.counterparty_name == "PayPal (Europe) S.a.r.l. et"
    assert paypal.mandate_id == "12AB234CD6E7F"
    assert paypal.bank_code == "835"
    assert bare.booking_date == date(2019, 10, 25) and bare.remittance == ""


def test_mt940_postfinance_envelopes_and_free_text():
    first, second = read("mt940", "postfinance.sta").statements
    assert first.account_other == "123456789" and first.account_iban is None
    assert first.currency == "CHF"
    assert first.closing_balance == Decimal("229.2")  # :62M:
    assert second.period_end == date(2014, 4, 7)
    jane = first.transactions[0]
    assert jane.amount == Decimal("79.7") and jane.credit
    assert "AUFTRAGGEBER: JANE DOE EXAMPLESTRASSE 10" in jane.remittance
    assert "MITTEILUNGEN: RECHNUNG" in jane.remittance
    assert not second.transactions[0].credit


def test_mt940_raphaelm_three_statements():
    statements = read("mt940", "self-provided__raphaelm.sta").statements
    assert [s.account_other for s in statements] == ["1222333444", "1222333444", "3346780111"]
    assert [s.currency for s in statements] == ["DEM", "DEM", "DEM"]
    assert statements[2].closing_balance == Decimal("95000.00")  # :62F: without a currency
    first = statements[0].transactions[0]
    assert first.value_date == date(2002, 3, 17) and first.booking_date == date(2002, 3, 20)
    assert first.amount == Decimal("5000.00") and first.credit
    assert statements[2].transactions[0].credit is False


def test_mt940_reversal_marks():
    text = (
        ":20:REV\n:25:DE89370400440532013000\n:60F:C240101EUR100,00\n"
        ":61:2401020102RC10,00NTRFNONREF\n:86:166?00GUTSCHRIFT STORNO?20SVWZ+Rechnung 4711\n"
        ":61:2401020102RD5,00NMSCNONREF\n:62F:C240102EUR95,00\n"
    )
    (statement,) = read_bank_file(text.encode()).statements
    assert statement.account_iban == "DE89370400440532013000"
    reversed_credit, reversed_debit = statement.transactions
    assert reversed_credit.reversal and not reversed_credit.credit  # RC: money goes out
    assert reversed_debit.reversal and reversed_debit.credit  # RD: money comes back
    assert reversed_credit.remittance == "Rechnung 4711"


# The mt-940 options our reader switches on (ledger.bank.mt940.OPTIONS): the tests marked with
# an option fail when it is off.
MT940_HEAD = ":20:OPT\n:25:DE89370400440532013000\n:60F:C240101EUR100,00\n"


def _mt940(lines: str):
    (statement,) = read_bank_file(
        (MT940_HEAD + lines + ":62F:C240102EUR100,00\n").encode()
    ).statements
    return statement.transactions


def test_mt940_payer_iban_is_not_glued_onto_the_name():  # applicant_iban
    (t,) = _mt940(
        ":61:2401020102C25,00NTRFNONREF\n"
        ":86:166?00GUTSCHR. UEBERWEISUNG?20SVWZ+Rechnung 4711?30COBADEFFXXX\n"
        "?31DE44500105175407324931?32Erika Mustermann\n"
    )
    assert t.counterparty_name == "Erika Mustermann"
    assert t.counterparty_iban == "DE44500105175407324931"
    assert t.counterparty_bic == "COBADEFFXXX"
    assert t.remittance == "Rechnung 4711"


@pytest.mark.parametrize("mark", ["RC", "rc"])
def test_mt940_reversed_credit_is_money_out(mark):  # reversal_sign (case_insensitive_marks)
    (t,) = _mt940(f":61:2401020102{mark}10,00NTRFNONREF\n")
    assert (t.amount, t.credit, t.reversal) == (Decimal("10.00"), False, True)
    assert t.raw["mark"] == "RC"


def test_mt940_statement_line_reference_survives_details_without_kref():  # merge_keeps_values
    kref, no_kref = _mt940(
        ":61:2401020102C10,00NTRFINV-4711//BANKREF1\n"
        ":86:166?00GUTSCHRIFT?20KREF+KUNDE-77?21SVWZ+Rechnung 4711\n"
        ":61:2401020102C10,00NTRFINV-4712//BANKREF2\n"
        ":86:166?00GUTSCHRIFT?20SVWZ+Rechnung 4712\n"
    )
    assert (kref.entry_reference, kref.account_servicer_ref) == ("INV-4711", "BANKREF1")
    assert (no_kref.entry_reference, no_kref.account_servicer_ref) == ("INV-4712", "BANKREF2")
    assert no_kref.remittance == "Rechnung 4712"


def test_mt940_text_in_front_of_sepa_keywords_is_kept():
    (t,) = _mt940(
        ":61:2401020102C10,00NTRFNONREF\n"
        ":86:166?00GUTSCHRIFT?20Rechnung 4711 EREF+E2E-1?21?32Erika Mustermann\n"
    )
    assert (t.remittance, t.end_to_end_id) == ("Rechnung 4711", "E2E-1")


def test_mt940_long_details_are_not_cut():  # unbounded_details
    words = [f"POSITION{n:02d} " + "X" * 50 for n in range(12)]
    (t,) = _mt940(":61:2401020102C10,00NTRFNONREF\n:86:" + "\n ".join(words) + "\n")
    assert t.remittance == " ".join(words)


# --- encodings ----------------------------------------------------------------------------

CAMT_UTF8 = sample("camt", "test-camt053-txdtls.xml")


def _latin1(text: str, declaration: str | None) -> bytes:
    body = re.sub(r"^<\?xml[^>]*\?>\s*", "", text)
    if declaration:
        body = f'<?xml version="1.0" encoding="{declaration}"?>\n' + body
    return body.encode("iso-8859-1")


def _remittance(data: bytes) -> str:
    return read_bank_file(data).transactions[0].remittance


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_latin1(CAMT_UTF8.decode(), "ISO-8859-1"), id="latin1-declared"),
        pytest.param(_latin1(CAMT_UTF8.decode(), None), id="latin1-undeclared"),
        pytest.param(_latin1(CAMT_UTF8.decode(), "UTF-8"), id="latin1-declared-as-utf8"),
        pytest.param(_latin1(CAMT_UTF8.decode(), "windows-1252"), id="cp1252-declared"),
        pytest.param(codecs.BOM_UTF8 + CAMT_UTF8, id="utf8-bom"),
        pytest.param(CAMT_UTF8.decode().encode("utf-16"), id="utf16-bom"),
        pytest.param(CAMT_UTF8.replace(b"\n", b"\r\n"), id="crlf"),
        pytest.param(b"\r\n  " + CAMT_UTF8, id="leading-blank-lines"),
    ],
)
def test_camt_encodings(data):
    assert "CRÉDIT GROUPÉ BVR" in _remittance(data)
    assert len(read_bank_file(data).transactions) == 2


SPARKASSE = sample("mt940", "sparkasse.sta").decode("utf-8").replace("Max Mustermann", "Jörg Müß")


@pytest.mark.parametrize("separators", [True, False])
def test_mt940_windows_1252_with_umlauts(separators):
    text = SPARKASSE if separators else re.sub(r"(?m)^-\r?\n", "", SPARKASSE)
    assert ("\n-" in text) is separators
    bank_file = read_bank_file(text.encode("cp1252"), "umsaetze.sta")
    assert [len(s.transactions) for s in bank_file.statements] == [1, 1]
    card, transfer = bank_file.transactions
    assert "Leipziger Straße 257" in card.raw["ABWA"]
    assert transfer.counterparty_name == "Jörg Müß"


def test_mt940_lf_and_crlf_read_alike():
    crlf = read("mt940", "sparkasse.sta")
    lf = read_bank_file(sample("mt940", "sparkasse.sta").replace(b"\r\n", b"\n"))
    assert crlf.transactions == lf.transactions


# --- refused files ------------------------------------------------------------------------

BROKEN = {
    "betterplace__sepa_snippet_broken.sta": (
        r":25: after the transactions .* must start with :20: \(at line 6\)"
    ),
    "camt053.v2.wrong.xml": r"no Stmt in the camt\.053 message \(at Document/BkToCstmrStmt\)",
    "self-provided__malformed_details.sta": (
        r":86: '\?' without a two-digit subfield number after it \(at line 14\)"
    ),
    "test-camt-parse-5200108-missing-date.xml": (
        r"balance OPBD without a date \(at Document/BkToCstmrAcctRpt/Rpt\[1\]/Bal\[1\]/Dt\)"
    ),
    "test-camt-parse-invalid.xml": (
        r"unsupported ISO 20022 namespace 'urn:iso:std:iso:20022:tech:xsd:camt'"
    ),
    "unsupported.xml": r"not a bank statement: XML <Document> in namespace 'urn:weird-namespace'",
}


def test_every_broken_sample_is_in_the_table():
    assert {p.name for p in (SAMPLES / "broken").iterdir()} == set(BROKEN)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_samples_are_refused(name):
    with pytest.raises(StatementError, match=BROKEN[name]) as info:
        read("broken", name)
    assert str(info.value).startswith(name + ": ")


def test_mt940_fragment_without_header_is_refused():
    # wolph/mt940 keeps this :61:/:86: snippet to test a ":" + newline + "86:" line break;
    # without :20: and :25: there is no account to book it on
    with pytest.raises(StatementError, match=r":61: before the statement header.*line 1"):
        read("mt940", "self-provided__sparkassen.sta")


def _camt_without(pattern: str, replacement: str = "", count: int = 1) -> bytes:
    text = sample("camt", "test-camt053.xml").decode()
    changed = re.sub(pattern, replacement, text, count=count, flags=re.S)
    assert changed != text
    return changed.encode()


@pytest.mark.parametrize(
    "data, message",
    [
        (
            _camt_without(r"<Acct>.*?</Acct>"),
            r"statement without an account .*at Document/BkToCstmrStmt/Stmt\[1\]\)",
        ),
        (
            # the third entry's amount (the first two <Amt> are the balances')
            _camt_without(r"(<Ntry>.*?<Ntry>.*?<Ntry>\s*)<Amt Ccy=\"EUR\">[^<]*</Amt>", r"\1"),
            r"amount missing \(at Document/BkToCstmrStmt/Stmt\[1\]/Ntry\[3\]/Amt\)",
        ),
        (
            _camt_without(r"(<Ntry>\s*<Amt Ccy=\"EUR\">)754\.25", r"\g<1>754,25"),
            r"amount '754,25' is not a decimal number \(at .*/Stmt\[1\]/Ntry\[1\]/Amt\)",
        ),
        (
            _camt_without(r"(<Ntry>.*?)<BookgDt>.*?</BookgDt>", r"\1"),
            r"entry without a booking date \(at .*/Ntry\[1\]/BookgDt\)",
        ),
        (
            _camt_without(r"camt\.053\.001\.02", "camt.056.001.01", count=0),
            r"unsupported ISO 20022 message camt\.056\.001\.01",
        ),
        (
            _camt_without(r"camt\.053\.001\.02", "pain.001.001.03", count=0),
            r"unsupported ISO 20022 message pain\.001\.001\.03",
        ),
        (
            _camt_without(r"camt\.053\.001\.02", "camt.053.001.10", count=0),
            r"unsupported message version camt\.053\.001\.10",
        ),
        (_camt_without(r"</Ntry>"), r"broken XML: .*\(at line \d+\)"),
        (b"Buchungstag;Betrag;Verwendungszweck\n", r"not a bank statement: neither camt"),
        (b"%PDF-1.7\n", r"not a bank statement: a PDF document"),
        (b"", r"not a bank statement: the file is empty"),
        (
            b":20:X\n:25:DE89370400440532013000\n:60F:C240101EUR1,00\n:61:2401020102C1.000,00N\n",
            r":61: statement line not understood.*\(at line 4\)",
        ),
        (
            b":20:X\n:25:DE89370400440532013000\n:60F:C240101EUR1,00\n:62F:C24013XEUR1,00\n",
            r"balance :62F: is not .*\(at line 4\)",
        ),
        (b":20:X\n:60F:C240101EUR1,00\n:62F:C240101EUR1,00\n", r"without an account \(:25:\)"),
    ],
)
def test_refused_with_what_and_where(data, message):
    with pytest.raises(StatementError, match=message):
        read_bank_file(data)


def test_size_guard():
    with pytest.raises(StatementError, match=r"file too large: 20\.0 MB \(at most 20 MB\)"):
        read_bank_file(b" " * (20 * 1024 * 1024 + 1))


def test_entities_and_doctypes_are_not_followed():
    text = sample("camt", "test-camt054.xml").decode()
    evil = text.replace(
        "<Document",
        '<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<Document',
        1,
    ).replace("Additional entry info", "&xxe;")
    with pytest.raises(StatementError, match="DOCTYPE"):
        read_bank_file(evil.encode())


@pytest.mark.parametrize(
    "account, iban, other",
    [
        ("DE89370400440532013000", "DE89370400440532013000", None),
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000", None),
        ("NL69INGB0123456789EUR", "NL69INGB0123456789", "NL69INGB0123456789EUR"),
        ("DE1234567890", "DE1234567890", None),  # anonymised: the shape is enough
        ("50010517/0123456789", "DE41500105170123456789", "50010517/0123456789"),
        ("12345678/1324357", None, "12345678/1324357"),  # no bank has BLZ 12345678
        ("123456789", None, "123456789"),
    ],
)
def test_mt940_account_forms(account, iban, other):
    data = f":20:X\n:25:{account}\n:60F:C240101EUR1,00\n:62F:C240101EUR1,00\n".encode()
    (statement,) = read_bank_file(data).statements
    assert (statement.account_iban, statement.account_other) == (iban, other)


def test_camt_pending_entries_are_marked_not_booked():
    data = _camt_without(r"<Sts>BOOK</Sts>", "<Sts>PDNG</Sts>")
    first, *rest = read_bank_file(data).transactions
    assert not first.booked and first.raw["Sts"] == "PDNG"
    assert all(t.booked for t in rest)
