"""Write camt.053.001.08 statements for benches and tests: a real ISO 20022 document with the
fields the readers take (not a product feature: Mahnwerk reads statements, it writes none)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


@dataclass
class Booking:
    amount: Decimal
    booked: date
    credit: bool = True
    name: str | None = None
    iban: str | None = None
    remittance: str = ""
    reference: str | None = None  # structured creditor reference (RF…, QRR)
    end_to_end: str | None = None
    servicer_ref: str | None = None
    return_reason: str | None = None  # a return: RtrInf/Rsn/Cd and the RRTN family


def _detail(b: Booking, currency: str) -> str:
    party = "Dbtr" if b.credit else "Cdtr"
    parts = ["<TxDtls><Refs>"]
    if b.servicer_ref:
        parts.append(f"<AcctSvcrRef>{escape(b.servicer_ref)}</AcctSvcrRef>")
    parts.append(f"<EndToEndId>{escape(b.end_to_end or 'NOTPROVIDED')}</EndToEndId></Refs>")
    parts.append(f'<Amt Ccy="{currency}">{b.amount:.2f}</Amt>')
    parts.append(f"<CdtDbtInd>{'CRDT' if b.credit else 'DBIT'}</CdtDbtInd>")
    if b.name or b.iban:
        parts.append("<RltdPties>")
        if b.name:
            parts.append(f"<{party}><Pty><Nm>{escape(b.name)}</Nm></Pty></{party}>")
        if b.iban:
            parts.append(f"<{party}Acct><Id><IBAN>{b.iban}</IBAN></Id></{party}Acct>")
        parts.append("</RltdPties>")
    if b.remittance or b.reference:
        parts.append("<RmtInf>")
        if b.remittance:
            parts.append(f"<Ustrd>{escape(b.remittance)}</Ustrd>")
        if b.reference:
            parts.append(f"<Strd><CdtrRefInf><Ref>{escape(b.reference)}</Ref></CdtrRefInf></Strd>")
        parts.append("</RmtInf>")
    if b.return_reason:
        parts.append(f"<RtrInf><Rsn><Cd>{b.return_reason}</Cd></Rsn></RtrInf>")
    parts.append("</TxDtls>")
    return "".join(parts)


def _entry(b: Booking, currency: str) -> str:
    family = (
        "<Fmly><Cd>RRCT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly>"
        if b.return_reason
        else f"<Fmly><Cd>{'RCDT' if b.credit else 'ICDT'}</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly>"
    )
    return (
        f'<Ntry><Amt Ccy="{currency}">{b.amount:.2f}</Amt>'
        f"<CdtDbtInd>{'CRDT' if b.credit else 'DBIT'}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
        f"<BookgDt><Dt>{b.booked.isoformat()}</Dt></BookgDt>"
        f"<ValDt><Dt>{b.booked.isoformat()}</Dt></ValDt>"
        f"<BkTxCd><Domn><Cd>PMNT</Cd>{family}</Domn></BkTxCd>"
        f"<NtryDtls>{_detail(b, currency)}</NtryDtls></Ntry>"
    )


def camt053(
    iban: str,
    bookings: list[Booking],
    currency: str = "EUR",
    statement_id: str = "STMT-1",
    period: tuple[date, date] | None = None,
) -> bytes:
    """One statement of `iban` with one entry per booking."""
    days = [b.booked for b in bookings] or [date(2026, 1, 1)]
    start, end = period or (min(days), max(days))
    entries = "".join(_entry(b, currency) for b in bookings)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Document xmlns="{NAMESPACE}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>{statement_id}</MsgId><CreDtTm>{end.isoformat()}T18:00:00</CreDtTm>"
        "</GrpHdr>"
        f"<Stmt><Id>{statement_id}</Id><CreDtTm>{end.isoformat()}T18:00:00</CreDtTm>"
        f"<FrToDt><FrDtTm>{start.isoformat()}T00:00:00</FrDtTm>"
        f"<ToDtTm>{end.isoformat()}T23:59:59</ToDtTm></FrToDt>"
        f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{currency}</Ccy></Acct>"
        f"{entries}</Stmt></BkToCstmrStmt></Document>"
    ).encode()
