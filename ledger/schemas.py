"""The API's request and response bodies as Pydantic models: one schema per endpoint that both
validates the input and, through `model_json_schema`, is the API's published contract
(portal/api.py assembles the OpenAPI document from these models, portal/api_docs.py shows it).

Every limit below is a constant used by the validator and by the JSON schema alike. A refusal is
a `pydantic.ValidationError`; `error_fields` turns it into {"customer.email": "message"}.
Numbers from JSON arrive as Decimal (portal/api.py parses with parse_float=Decimal) or, from
Python callers, as int/float/str."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from ledger.accounts import valid_email
from ledger.models import CUSTOMER_TYPES, LANGUAGES
from ledger.money import CENT, CURRENCIES, MAX_MONEY

# --- limits ---------------------------------------------------------------------------------

MAX_BODY_BYTES = 64 * 1024  # a whole request body; an order is about 1 KB
NUMBER_MAX = 64
NAME_MAX = 200
EMAIL_MAX = 254
REGION_MAX = 10
ADDRESS_MAX = 500
INVOICE_NUMBER_MAX = 64
REFERENCE_MAX = 200
TAG_MAX = 40
TAGS_MAX = 20
AMOUNT_INTEGER_DIGITS = 10
MAX_AMOUNT = MAX_MONEY
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)

# Order numbers go into URLs, file names, mail subjects and letters: ASCII letters and digits,
# then also '.', '_' and '-'. No '/': see README ("API input"). The first character is a letter
# or digit, so '.' and '..' can never be a number.
NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
COUNTRY_PATTERN = r"^[A-Za-z]{2}$"
# A plain decimal: ASCII digits, at most 10 before the point and 2 after it (more places only as
# trailing zeros, "49.9000", as some shop systems send); no sign, exponent or separators.
AMOUNT_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2}0*)?$"
AMOUNT_STRING_MAX = 32
# What the document promises (a day from 2000 to 2100); the validator reads any YYYY-MM-DD and
# then says which part is wrong (format, calendar or range).
DATE_PATTERN = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
# Never in any text: C0 and C1 controls and DEL, line and paragraph separators, bidirectional
# embeddings/overrides/isolates, BOM and non-characters; and no lone surrogates (which JSON
# Schema's regular expressions cannot name: the validator refuses them besides the pattern).
_NEVER = r"\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff"
TEXT_PATTERN = rf"^[^{_NEVER}\n]*$"
LINES_PATTERN = rf"^[^{_NEVER}]*$"  # the postal address keeps its LF line breaks
IDEMPOTENCY_KEY_PATTERN = r"^[\x20-\x7e]{1,200}$"

METHOD_ALIASES = {
    "prepayment": "prepayment",
    "vorkasse": "prepayment",
    "invoice": "invoice",
    "rechnung": "invoice",
    "cod": "cod",
    "nachnahme": "cod",
}

_NUMBER_RE = re.compile(NUMBER_PATTERN.replace("$", r"\Z"))
_AMOUNT_RE = re.compile(AMOUNT_PATTERN.replace("$", r"\Z"))
_DECIMAL_RE = re.compile(r"[0-9]+(\.[0-9]+)?\Z")  # plain, but too long or too precise
# RFC 5322's atom characters and dots, dots anywhere (some mail providers hand out
# "taro..y.@docomo.ne.jp"); letters of any script.
_EMAIL_LOCAL_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+\Z")
_LABEL = r"[^\W_]((?:[^\W_]|-){0,61}[^\W_])?"  # letters or digits, inner hyphens
_EMAIL_DOMAIN_RE = re.compile(rf"({_LABEL}\.)+([^\W\d_]{{2,63}}|xn--[a-z0-9-]{{1,59}})\Z")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_SURROGATES = r"\ud800-\udfff"
_BAD_TEXT = re.compile(f"[{_SURROGATES}{_NEVER}\n]")
_BAD_LINES = re.compile(f"[{_SURROGATES}{_NEVER}]")


def _fail(kind: str, message: str):
    return PydanticCustomError(kind, message)


def _clean(value: Any, pattern: re.Pattern) -> str:
    if not isinstance(value, str):
        raise _fail("string_type", "must be a string")
    bad = pattern.search(value)
    if bad:
        raise _fail(
            "control_character",
            f"must not contain control or invisible formatting characters "
            f"(U+{ord(bad.group()):04X} at position {bad.start() + 1})",
        )
    return value.strip()


def clean_text(value: Any) -> str:
    """A one-line text: no control characters or lone surrogates; surrounding spaces dropped."""
    return _clean(value, _BAD_TEXT)


def clean_lines(value: Any) -> str:
    return _clean(value, _BAD_LINES)


def _word(value: Any) -> Any:
    """A choice from a list, case-insensitive: "Vorkasse" is "vorkasse"."""
    return clean_text(value).lower() if isinstance(value, str) else value


def clean_filename(name: str) -> str:
    """An uploaded file's name as we keep and show it: its last path part, without control
    characters, at most 255 characters."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:255] or "statement"


def _upper(value: Any) -> Any:
    return clean_text(value).upper() if isinstance(value, str) else value


def _email(value: str) -> str:
    """local@domain.tld: the local part RFC 5322's atom characters and dots (letters of any
    script allowed), the domain's labels letters, digits and inner hyphens, the TLD letters (or
    xn--); no spaces, quotes, controls or invisible characters anywhere."""
    local, _, domain = value.rpartition("@")
    if (
        not valid_email(value)
        or any(unicodedata.category(c)[0] in "CZ" for c in value)
        or len(local) > 64
        or not _EMAIL_LOCAL_RE.match(local)
        or not _EMAIL_DOMAIN_RE.match(domain)
    ):
        raise _fail("email", "is not an email address")
    return value


def valid_number(number: Any) -> bool:
    return isinstance(number, str) and bool(_NUMBER_RE.match(number))


def storable_number(number: str) -> bool:
    """A number that may name an order stored before the current rules (for look-ups by URL)."""
    return 0 < len(number) <= NUMBER_MAX and not _BAD_TEXT.search(number)


_PLAIN = (
    "must be a plain decimal amount such as 49.90 "
    "(ASCII digits, no sign, exponent or thousands separators)"
)
_TOO_LONG = f"must have at most {AMOUNT_INTEGER_DIGITS} digits before the decimal point"
_PLACES = "must not have more than two decimal places"


def parse_amount(value: Any) -> Decimal:
    """A positive amount of at most 10 + 2 digits: a plain decimal string or a JSON number."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _fail("amount_type", "must be a decimal amount such as 49.90 (a string or number)")
    if isinstance(value, int):
        if value <= 0:
            raise _fail("amount_positive", "must be greater than zero")
        if value > MAX_AMOUNT:
            raise _fail("amount_digits", _TOO_LONG)
        return Decimal(value).quantize(CENT)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _fail("amount_plain", _PLAIN)
        if abs(value) >= 10**AMOUNT_INTEGER_DIGITS:
            raise _fail("amount_digits", _TOO_LONG)
        value = repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite() or value.as_tuple().exponent > 0:  # 1E+2: written with exponent
            raise _fail("amount_plain", _PLAIN)
        if value.adjusted() >= AMOUNT_INTEGER_DIGITS:
            raise _fail("amount_digits", _TOO_LONG)
        if value <= 0:
            raise _fail("amount_positive", "must be greater than zero")
        if value != value.quantize(CENT):
            raise _fail("amount_places", _PLACES)
        return value.quantize(CENT)
    text = clean_text(value)
    if len(text) > AMOUNT_STRING_MAX:
        raise _fail("amount_plain", _PLAIN)
    if text.startswith("-") and _DECIMAL_RE.match(text[1:]):
        raise _fail("amount_positive", "must be greater than zero")
    if not _AMOUNT_RE.match(text):
        if not _DECIMAL_RE.match(text):
            raise _fail("amount_plain", _PLAIN)
        if len(text.partition(".")[0]) > AMOUNT_INTEGER_DIGITS:
            raise _fail("amount_digits", _TOO_LONG)
        raise _fail("amount_places", _PLACES)
    amount = Decimal(text)
    if amount <= 0:
        raise _fail("amount_positive", "must be greater than zero")
    return amount.quantize(CENT)


def parse_day(value: Any) -> date:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise _fail("date_format", "must be a date as YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _fail("date_value", "is not a calendar date") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _fail("date_range", f"must be between {FIRST_DAY} and {LAST_DAY}")
    return day


# --- field types ----------------------------------------------------------------------------


def Text(max_length: int, description: str, lines: bool = False, **extra):  # noqa: N802
    return Annotated[
        str,
        Field(
            min_length=1,
            max_length=max_length,
            pattern=LINES_PATTERN if lines else TEXT_PATTERN,
            description=description,
            **extra,
        ),
        BeforeValidator(clean_lines if lines else clean_text),
    ]


Amount = Annotated[
    Decimal,
    PlainValidator(parse_amount),
    WithJsonSchema(
        {
            "description": "Greater than 0, at most 10 digits before and 2 after the decimal "
            "point; ASCII digits only, no sign, exponent or thousands separators. "
            "As a string (exact) or a JSON number.",
            "anyOf": [
                {"type": "string", "pattern": AMOUNT_PATTERN, "maxLength": AMOUNT_STRING_MAX},
                {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "maximum": float(MAX_AMOUNT),
                    "multipleOf": float(CENT),
                },
            ],
            "examples": ["49.90"],
        }
    ),
]


def Day(description: str):  # noqa: N802
    return Annotated[
        date,
        PlainValidator(parse_day),
        WithJsonSchema(
            {
                "type": "string",
                "format": "date",
                "pattern": DATE_PATTERN,
                "description": f"{description} YYYY-MM-DD, from {FIRST_DAY} to {LAST_DAY}.",
                "examples": ["2026-11-01"],
            }
        ),
    ]


def _choice(values, description: str):
    return Annotated[
        Literal[tuple(values)],
        BeforeValidator(_word),
        Field(description=description + " Case-insensitive."),
    ]


def _drop_nulls(data: Any) -> Any:
    """null is the same as leaving the field out: a default for optional fields, "is required"
    for the others."""
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if v is not None}
    return data


# --- request bodies -------------------------------------------------------------------------


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="ignore", title="Customer")

    name: Text(NAME_MAX, "The customer's name as on letters.", examples=["Anna Schmidt"])
    email: Annotated[
        Text(EMAIL_MAX, "Where reminders go.", examples=["anna@example.de"]),
        Field(json_schema_extra={"format": "email"}),
    ]
    country: Annotated[
        str,
        Field(
            pattern=COUNTRY_PATTERN,
            description="Two-letter ISO 3166 country code (case-insensitive).",
            examples=["DE"],
        ),
        BeforeValidator(_upper),
    ]
    language: _choice(LANGUAGES, "The language of the customer's messages.")
    type: _choice(CUSTOMER_TYPES, "Business or consumer customer (b2b decides interest).")
    region: (
        Annotated[
            Text(REGION_MAX, "State or canton for public holidays, e.g. BY, ZH.", examples=["BY"]),
            BeforeValidator(_upper),
        ]
        | None
    ) = None
    address: (
        Text(ADDRESS_MAX, "The postal address for letters, lines separated by LF.", lines=True)
        | None
    ) = None
    number: Text(INVOICE_NUMBER_MAX, "The shop's customer number, printed on letters.") | None = (
        None
    )

    @model_validator(mode="before")
    @classmethod
    def _nulls(cls, data: Any) -> Any:
        return _drop_nulls(data)

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str) -> str:
        return _email(value)


Tag = Text(TAG_MAX, "A free label for filtering in the portal.")


class DiscountIn(BaseModel):
    """Skonto: paying this amount by `until` settles the order (docs/bank.md)."""

    model_config = ConfigDict(extra="forbid", title="Discount")

    amount: Amount
    until: Day("The last day the discounted amount settles the order.")


TERMS_DAYS_MAX = 365


class PaymentTermsIn(BaseModel):
    """The order's own payment terms (else the merchant's): days net, and an optional Skonto
    — its rate for paying within its days. The Skonto becomes the order's discount (the bank
    matcher honours it) unless `discount` is sent too."""

    model_config = ConfigDict(
        extra="forbid",
        title="PaymentTerms",
        json_schema_extra={
            "examples": [{"net_days": 30, "discount_percent": "2.00", "discount_days": 14}]
        },
    )

    net_days: Annotated[
        int | None, Field(ge=0, le=TERMS_DAYS_MAX, description="Days net after the order day.")
    ] = None
    discount_percent: Annotated[
        Decimal | None,
        Field(gt=0, lt=100, max_digits=4, decimal_places=2, description="Skonto rate in %."),
    ] = None
    discount_days: Annotated[
        int | None,
        Field(ge=0, le=TERMS_DAYS_MAX, description="Days after the order day the Skonto holds."),
    ] = None

    @model_validator(mode="after")
    def _skonto_whole(self):
        if (self.discount_percent is None) != (self.discount_days is None):
            raise _fail("discount_terms", "discount_percent and discount_days go together")
        if (
            self.net_days is not None
            and self.discount_days is not None
            and self.discount_days > self.net_days
        ):
            raise _fail("discount_days", "discount_days must not be after net_days")
        return self


class OrderIn(BaseModel):
    """POST /api/v1/orders: an order, created or updated by its number."""

    model_config = ConfigDict(
        extra="ignore",
        title="Order",
        json_schema_extra={
            "examples": [
                {
                    "number": "AK-10001",
                    "customer": {
                        "name": "Anna Schmidt",
                        "email": "anna@example.de",
                        "country": "DE",
                        "language": "de",
                        "type": "b2c",
                    },
                    "amount": "49.90",
                    "currency": "EUR",
                    "payment_method": "prepayment",
                    "ordered_on": "2026-11-01",
                }
            ]
        },
    )

    number: Annotated[
        str,
        Field(
            max_length=NUMBER_MAX,
            pattern=NUMBER_PATTERN,
            description="The shop's order number, unique per merchant: ASCII letters and digits, "
            "then also '.', '_', '-'; at most 64 characters.",
            examples=["AK-10001"],
        ),
        BeforeValidator(clean_text),
    ]
    customer: Annotated[CustomerIn, Field(description="Who owes the money.")]
    amount: Amount
    currency: Annotated[
        Literal[CURRENCIES],
        BeforeValidator(_upper),
        Field(description="ISO 4217 currency code (case-insensitive)."),
    ]
    payment_method: _choice(
        METHOD_ALIASES, "prepayment/vorkasse, invoice/rechnung or cod/nachnahme."
    )
    ordered_on: Day("The order day.")
    due_on: Day("Payment due; defaults to the order day, and an update without it keeps it.") | (
        None
    ) = None
    invoice_number: Text(INVOICE_NUMBER_MAX, "The invoice number for letters.") | None = None
    tags: Annotated[
        list[Tag], Field(max_length=TAGS_MAX, description=f"At most {TAGS_MAX} tags.")
    ] = []
    discount: Annotated[DiscountIn | None, Field(description="Skonto, if the shop grants it.")] = (
        None
    )
    payment_terms: Annotated[
        PaymentTermsIn | None,
        Field(description="The order's payment terms; the merchant's when left out."),
    ] = None

    @model_validator(mode="before")
    @classmethod
    def _nulls(cls, data: Any) -> Any:
        data = _drop_nulls(data)
        if isinstance(data, dict) and "customer" not in data:
            data["customer"] = {}  # name every missing customer field
        return data

    @field_validator("discount")
    @classmethod
    def _discount_below_amount(cls, value, info: ValidationInfo):
        amount = info.data.get("amount")
        if value is not None and amount is not None and not 0 < value.amount < amount:
            raise _fail("discount_amount", "the discounted amount must be below the amount")
        return value

    @field_validator("due_on")
    @classmethod
    def _not_before_order(cls, value: date | None, info: ValidationInfo) -> date | None:
        ordered_on = info.data.get("ordered_on")
        if value and ordered_on and value < ordered_on:
            raise _fail("due_before_order", "must not be before ordered_on")
        return value


class PaymentIn(BaseModel):
    """POST /api/v1/orders/{number}/payments: a payment received."""

    model_config = ConfigDict(
        extra="ignore",
        title="Payment",
        json_schema_extra={
            "examples": [{"amount": "49.90", "paid_on": "2026-11-05", "reference": "AK-10001"}]
        },
    )

    amount: Amount
    paid_on: Day("The day the money arrived.")
    reference: (
        Text(REFERENCE_MAX, "The bank transfer's reference; the same one again is stored once.")
        | None
    ) = None

    @model_validator(mode="before")
    @classmethod
    def _nulls(cls, data: Any) -> Any:
        return _drop_nulls(data)


class BankAccountIn(BaseModel):
    """POST /api/v1/bank-accounts: a bank account customers pay to and statements come from."""

    model_config = ConfigDict(
        extra="ignore",
        title="BankAccount",
        json_schema_extra={"examples": [{"iban": "DE02120300000000202051", "currency": "EUR"}]},
    )

    iban: Text(42, "The IBAN (checksum and country format are checked; spaces allowed).")
    bic: Text(11, "The BIC; taken from the IBAN's bank when left out.") | None = None
    currency: (
        Annotated[
            Literal[CURRENCIES],
            BeforeValidator(_upper),
            Field(description="EUR or CHF; by default CHF for CH/LI IBANs, else EUR."),
        ]
        | None
    ) = None
    qr_iban: Text(42, "A Swiss QR-IBAN for QR-bills with a QR reference.") | None = None
    holder: Text(140, "The account holder; defaults to the merchant's.") | None = None
    bank_name: Text(140, "The bank's name; taken from the IBAN's bank when left out.") | None = None

    @model_validator(mode="before")
    @classmethod
    def _nulls(cls, data: Any) -> Any:
        return _drop_nulls(data)


# --- response bodies (what portal/api.py's order_json writes) -------------------------------

Money = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["49.90"])]
IsoDay = Annotated[str, Field(json_schema_extra={"format": "date"})]


class CustomerOut(BaseModel):
    model_config = ConfigDict(title="CustomerRead")

    name: str
    email: str
    country: str
    region: str | None
    language: str
    type: str
    number: str | None = None


class PaymentTermsOut(BaseModel):
    model_config = ConfigDict(title="PaymentTermsRead")

    net_days: int | None
    discount_percent: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]{2}$")] | None
    discount_days: int | None


class OrderOut(BaseModel):
    """An order as the API shows it: status, itemised money, dunning state and next step."""

    model_config = ConfigDict(title="OrderRead")

    number: str
    customer: CustomerOut
    amount: Money
    currency: str
    payment_method: Literal["prepayment", "invoice", "cod"]
    ordered_on: IsoDay
    due_on: IsoDay
    invoice_number: str | None
    status: str
    paid_after_cancellation: bool
    paid_amount: Money
    fees: Money
    interest: Money
    adjustments: Money = Field(description="Discounts and write-offs less refunds.")
    open_amount: Money
    credit: Money
    dunning_level: int
    dunning_block: bool
    next_step_on: IsoDay | None
    next_step: str | None = Field(description='The next step\'s actions, e.g. "remind".')
    payment_terms: PaymentTermsOut | None = Field(
        default=None, description="The order's own payment terms (null: the merchant's)."
    )


class PaymentResult(BaseModel):
    model_config = ConfigDict(title="PaymentResult")

    id: int
    duplicate: bool = Field(description="True when this payment was stored before.")


class PaymentOut(OrderOut):
    """The order after the payment, and the payment's id."""

    model_config = ConfigDict(title="OrderAfterPayment")

    payment: PaymentResult


class BankAccountOut(BaseModel):
    model_config = ConfigDict(title="BankAccountRead")

    iban: str
    bic: str | None
    currency: str
    country: str
    holder: str
    bank_name: str | None
    qr_iban: str | None
    data_as_of: IsoDay | None = Field(description="The newest imported statement's end.")


class ImportSummaryOut(BaseModel):
    """What an imported statement file brought: every transaction is stored once."""

    model_config = ConfigDict(title="StatementImport")

    filename: str
    format: str = Field(examples=["camt.053.001.08", "mt940"])
    statements: int
    transactions: int
    new: int
    known: int = Field(description="Stored before (the same file, or an overlapping one).")
    matched: int = Field(description="Assigned to an order (or reversing its payment).")
    suggested: int = Field(description="In the Payments inbox with suggestions.")
    unmatched: int = Field(description="In the Payments inbox without a candidate.")
    data_as_of: IsoDay | None


class InvoiceOut(BaseModel):
    """The order's stored invoice PDF (ledger/documents/invoices.py)."""

    model_config = ConfigDict(title="Invoice")

    order: str = Field(description="The order's number.")
    filename: str
    pages: int
    size: int = Field(description="Bytes.")
    sha256: str
    uploaded_at: str = Field(
        description="UTC, ISO 8601.", json_schema_extra={"format": "date-time"}
    )


class FieldError(BaseModel):
    field: str = Field(description='The bad field, dotted: "customer.email", "tags.3", "body".')
    message: str


class Problem(BaseModel):
    """Every refusal: a title, and for invalid input one entry per bad field."""

    model_config = ConfigDict(title="Error")

    error: str
    errors: list[FieldError] = []


# --- errors ---------------------------------------------------------------------------------

_MESSAGES = {
    "missing": "is required",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
}
_PATTERN_MESSAGES = {
    NUMBER_PATTERN: "must be 1 to 64 ASCII letters, digits, '.', '_' or '-', starting with a "
    "letter or digit",
    COUNTRY_PATTERN: "must be a two-letter ISO country code such as DE",
    TEXT_PATTERN: "must not contain control or invisible formatting characters",
    LINES_PATTERN: "must not contain control or invisible formatting characters",
}


def _message(error: dict) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if kind == "too_long":
        return f"must have at most {ctx['max_length']} items"
    if kind == "string_pattern_mismatch":
        return _PATTERN_MESSAGES.get(ctx.get("pattern"), "has an invalid format")
    if kind == "literal_error":
        return "must be one of " + ctx["expected"].replace("'", "")
    return error["msg"]


def error_fields(exc: PydanticValidationError) -> dict[str, str]:
    """{dotted field: message}, the first message per field; "body" for the body as a whole."""
    fields: dict[str, str] = {}
    for error in exc.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        fields.setdefault(field, _message(error))
    return fields


__all__ = ["OrderIn", "PaymentIn", "PydanticValidationError", "error_fields"]
