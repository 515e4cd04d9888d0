"""A bank file, whatever it is: find out from its content, decode it, hand it to its reader.

The file name is only used in messages; the content decides. Banks and online-banking programs
write camt as UTF-8 or ISO-8859-1/Windows-1252, with or without an encoding declaration,
sometimes with a byte-order mark, and MT940 in whatever code page the bank's host uses.
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

from ledger.bank.camt import VERSIONS, message_of, read_camt
from ledger.bank.mt940 import read_mt940
from ledger.bank.statements import BankFile, StatementError

MAX_BYTES = 20 * 1024 * 1024
ISO20022 = re.compile(
    r"^urn:iso:std:iso:20022:tech:xsd:(?P<message>[a-z]{4}\.\d{3}\.\d{3}\.\d{2})$"
)
MT940_TAG = re.compile(rb"^[\x01\s]*(?:\{[^\n]*\{4:)?:(20|25|28C?|60[FM]|61|86):", re.MULTILINE)
DECLARATION = re.compile(rb"^<\?xml[^>]*\?>")
BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def read_bank_file(data: bytes, filename: str | None = None) -> BankFile:
    """The statements in `data`. StatementError says what is wrong and where."""
    name = f"{filename}: " if filename else ""
    try:
        return _read(data)
    except StatementError as exc:
        if not name:
            raise
        raise StatementError(name + exc.reason, exc.where) from exc


def _read(data: bytes) -> BankFile:
    if len(data) > MAX_BYTES:
        raise StatementError(
            f"file too large: {len(data) / 1024 / 1024:.1f} MB (at most {MAX_BYTES // 2**20} MB)"
        )
    body = data
    for bom, encoding in BOMS:
        if body.startswith(bom):
            if encoding != "utf-8":  # lxml and the MT940 reader get UTF-8 from here on
                body = body[len(bom) :].decode(encoding, errors="strict").encode("utf-8")
                body = _drop_declared_encoding(body)
            else:
                body = body[len(bom) :]
            break
    body = body.lstrip(b" \t\r\n")
    if not body:
        raise StatementError("not a bank statement: the file is empty")
    if body.startswith(b"<"):
        return _read_xml(body)
    if MT940_TAG.search(body[:4096]):
        return read_mt940(decode_text(body))
    raise StatementError(f"not a bank statement: {_looks_like(body)}")


def _read_xml(body: bytes) -> BankFile:
    root = parse_xml(body)
    qname = etree.QName(root)
    if qname.localname != "Document":
        raise StatementError(f"not a bank statement: an XML file with root <{qname.localname}>")
    namespace = qname.namespace or ""
    found = message_of(namespace)
    if found:
        message, version = found
        if version not in VERSIONS:
            raise StatementError(
                f"unsupported message version {message}.001.{version} "
                f"(read are 001.{min(VERSIONS)} to 001.{max(VERSIONS)})",
                "Document",
            )
        return read_camt(root, message, version)
    iso = ISO20022.match(namespace)
    if iso:
        raise StatementError(
            f"unsupported ISO 20022 message {iso['message']}: not a bank statement "
            "(camt.052, camt.053 or camt.054)",
            "Document",
        )
    if namespace.startswith("urn:iso:std:iso:20022:"):
        raise StatementError(
            f"unsupported ISO 20022 namespace {namespace!r}: no camt.05x message and version",
            "Document",
        )
    raise StatementError(
        f"not a bank statement: XML <Document> in namespace {namespace or '(none)'!r}", "Document"
    )


def parse_xml(body: bytes):
    """The root element, parsed without entities, network, DTDs or huge-tree allowances."""
    try:
        return _parse(body)
    except etree.XMLSyntaxError as exc:
        if not _encoding_error(exc):
            raise _syntax_error(exc) from exc
    # declared (or assumed) UTF-8 but written in Latin-1/Windows-1252: read it as the latter
    text = decode_text(body)
    try:
        return _parse(_drop_declared_encoding(text.encode("utf-8")))
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from exc


def _parse(body: bytes):
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )
    root = etree.fromstring(body, parser)
    if root.getroottree().docinfo.doctype:
        raise StatementError("XML with a DOCTYPE: bank files have none, it is not read", "line 1")
    return root


def _encoding_error(exc: etree.XMLSyntaxError) -> bool:
    message = str(exc).lower()
    return "utf-8" in message or "encoding" in message


def _syntax_error(exc: etree.XMLSyntaxError) -> StatementError:
    line = exc.lineno or (exc.position[0] if exc.position else None)
    return StatementError(f"broken XML: {exc.msg}", f"line {line}" if line else None)


def _drop_declared_encoding(body: bytes) -> bytes:
    """After re-encoding to UTF-8 the declaration must not claim another encoding."""
    match = DECLARATION.match(body)
    if not match:
        return body
    declaration = re.sub(rb"""\s+encoding\s*=\s*(["'])[^"']*\1""", b"", match.group(0))
    return declaration + body[match.end() :]


def decode_text(body: bytes) -> str:
    """UTF-8 when it is valid UTF-8, else Windows-1252 (a superset of ISO-8859-1's printable
    characters); bytes Windows-1252 leaves undefined are read as ISO-8859-1."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return body.decode("cp1252")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def _looks_like(body: bytes) -> str:
    if body.startswith(b"%PDF"):
        return "a PDF document"
    if body.startswith(b"PK\x03\x04"):
        return "a ZIP archive (unpack it and import the files inside)"
    if body[:9].upper() == b"OFXHEADER":
        return "an OFX file"
    start = decode_text(body[:40]).splitlines()[0] if body else ""
    return f"neither camt XML nor MT940 (it starts with {start!r})"
