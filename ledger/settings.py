"""The merchant's settings: each field checked, applied together or not at all, audited with
what changed (old → new; secrets only as "changed"), and the orders a change reaches counted.
The settings page (portal/settings.py) and `mahnwerk merchant update` both go through here.

Messages are English msgids with %(name)s placeholders (marked N_ for the portal's catalog,
babel.cfg); the portal translates them, the command line prints them as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from babel import Locale
from sqlalchemy import func, select
from stdnum.ch import vat as ch_vat
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from ledger import accounts, audit, webhooks
from ledger.bank import accounts as bank_accounts
from ledger.db import db
from ledger.interest import INTEREST_BASES
from ledger.models import LANGUAGES, ApiToken, BankAccount, Merchant, Order, Status, utcnow
from ledger.refusals import N_


@dataclass(frozen=True)
class Problem:
    """Why a field's value is refused: an English msgid, the values for its placeholders."""

    field: str
    message: str
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message % self.params if self.params else self.message


class SettingsRefused(ValueError):
    """Some values were refused; nothing was stored."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p}" for p in problems))

    @property
    def by_field(self) -> dict[str, Problem]:
        found: dict[str, Problem] = {}
        for problem in self.problems:
            found.setdefault(problem.field, problem)
        return found


class _Refused(Exception):
    def __init__(self, message: str, **params):
        self.message, self.params = message, params


@dataclass
class Saved:
    """What a save changed: field → (old, new) as shown and audited."""

    section: str
    changes: dict[str, tuple[str, str]]
    counts: dict[str, int] = field(default_factory=dict)


# --- the fields ----------------------------------------------------------------------------

FIRST_COUNTRIES = ("DE", "AT", "CH", "LI")
FIRST_TIMEZONES = ("Europe/Berlin", "Europe/Vienna", "Europe/Zurich")
SWISS_VAT_SUFFIX = {"fr": "TVA", "it": "IVA"}  # else MWST
# Orders still waiting for their money: the ones a change of terms or accounts would reach.
WAITING = (Status.UNPAID, Status.PARTIALLY_PAID, Status.OVERDUE)
MAX_ADDRESS_LINES = 6
MAX_LINE = 70
MAX_KEYWORDS = 50
MAX_KEYWORD = 100
MAX_PAYMENT_DAYS = 365
MAX_TOLERANCE = Decimal("1000.00")
LOGO_BYTES = 512 * 1024
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def _text(limit: int, required: bool = False):
    def parse(raw: str, _values: dict):
        text = " ".join(raw.split())
        if not text:
            if required:
                raise _Refused(N_("This field is required."))
            return None
        if len(text) > limit:
            raise _Refused(N_("At most %(limit)s characters, please."), limit=limit)
        return text

    return parse


def _address(raw: str, _values: dict) -> str | None:
    lines = [" ".join(line.split()) for line in raw.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) > MAX_ADDRESS_LINES:
        raise _Refused(N_("At most %(count)s lines, please."), count=MAX_ADDRESS_LINES)
    if any(len(line) > MAX_LINE for line in lines):
        raise _Refused(N_("A line may have at most %(limit)s characters."), limit=MAX_LINE)
    return "\n".join(lines) or None


def countries() -> list[str]:
    """Every ISO 3166 country code, DE, AT, CH and LI first."""
    codes = sorted(c for c in Locale("en").territories if len(c) == 2 and c.isalpha())
    return list(FIRST_COUNTRIES) + [c for c in codes if c not in FIRST_COUNTRIES]


def _country(raw: str, _values: dict) -> str:
    code = raw.strip().upper()
    if code not in countries():
        raise _Refused(N_("Not a country code: %(value)s"), value=repr(raw.strip()))
    return code


def _vat_id(raw: str, values: dict) -> str | None:
    """An EU VAT id (DE…, ATU…) by stdnum.eu.vat, or a Swiss UID with its VAT suffix
    (CHE-123.456.789 MWST) by stdnum.ch.vat; stored in its standard form."""
    text = raw.strip().upper()
    if not text:
        return None
    try:
        if text.startswith("CHE"):
            if not re.search(r"(MWST|TVA|IVA)$", text):
                text += " " + SWISS_VAT_SUFFIX.get(values.get("language") or "", "MWST")
            return ch_vat.format(ch_vat.validate(text))
        return eu_vat.validate(text)
    except ValidationError as exc:
        raise _Refused(
            N_(
                "%(value)s is not a valid VAT id (%(reason)s). Enter it with its country "
                "prefix, e.g. DE123456789, ATU12345678 or CHE-123.456.789 MWST."
            ),
            value=raw.strip(),
            reason=_vat_reason(exc),
        ) from exc


def _vat_reason(exc: ValidationError) -> str:
    name = type(exc).__name__
    if name == "InvalidChecksum":
        return N_("its check digit is wrong")
    if name == "InvalidLength":
        return N_("it has the wrong length")
    if name == "InvalidComponent":
        return N_("its country prefix is not known")
    return N_("its format is wrong")


def _language(raw: str, _values: dict) -> str:
    code = raw.strip().lower()
    if code not in LANGUAGES:
        raise _Refused(N_("Choose one of the languages offered."))
    return code


def _email(required: bool = False):
    def parse(raw: str, _values: dict):
        address = raw.strip()
        if not address:
            if required:
                raise _Refused(N_("This field is required."))
            return None
        if not accounts.valid_email(address):
            raise _Refused(N_("Not an email address: %(value)s"), value=address)
        return address

    return parse


DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def _domain(raw: str, _values: dict) -> str | None:
    """The bounce domain (ledger/bounces.py): a plain host name, no address, no URL."""
    domain = raw.strip().lower().rstrip(".")
    if not domain:
        return None
    if not DOMAIN.fullmatch(domain):
        raise _Refused(N_("Not a domain name: %(value)s"), value=raw.strip())
    return domain


def _whole(low: int, high: int, empty_ok: bool = True):
    def parse(raw: str, _values: dict):
        text = raw.strip()
        if not text:
            if empty_ok:
                return None
            raise _Refused(N_("This field is required."))
        if not re.fullmatch(r"\d{1,4}", text) or not low <= int(text) <= high:
            raise _Refused(
                N_("A whole number from %(low)s to %(high)s, please."), low=low, high=high
            )
        return int(text)

    return parse


def parse_decimal(raw: str) -> Decimal | None:
    """12,50 or 12.50 (one decimal separator, no thousands); None when it is no number."""
    text = raw.strip().replace(" ", "")
    if not re.fullmatch(r"\d{1,7}([.,]\d{1,2})?", text):
        return None
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None


def _percent(raw: str, _values: dict) -> Decimal | None:
    if not raw.strip():
        return None
    value = parse_decimal(raw)
    if value is None or not Decimal(0) < value < Decimal(100):
        raise _Refused(N_("A percentage greater than 0 and less than 100, e.g. 2 or 2,5."))
    return value


def _tolerance(raw: str, _values: dict) -> Decimal:
    value = parse_decimal(raw) if raw.strip() else Decimal("0.00")
    if value is None or value > MAX_TOLERANCE:
        raise _Refused(N_("An amount from 0 to %(limit)s, e.g. 1,50."), limit=str(MAX_TOLERANCE))
    return value.quantize(Decimal("0.01"))


def _flag(raw: str, _values: dict) -> bool:
    return raw.strip().lower() in ("1", "on", "true", "yes", "y")


def _keywords(raw: str, _values: dict) -> list[str]:
    found: list[str] = []
    for line in raw.splitlines():
        word = " ".join(line.split())
        if word and word.lower() not in {w.lower() for w in found}:
            found.append(word)
    if len(found) > MAX_KEYWORDS:
        raise _Refused(N_("At most %(count)s keywords, please."), count=MAX_KEYWORDS)
    if any(len(word) > MAX_KEYWORD for word in found):
        raise _Refused(N_("A keyword may have at most %(limit)s characters."), limit=MAX_KEYWORD)
    return found


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def _webhook_url(raw: str, _values: dict) -> str | None:
    url = raw.strip()
    if not url:
        return None
    parts = _url_parts(url)
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise _Refused(
            N_("The webhook needs https:// (plain http only for localhost or 127.0.0.1).")
        )
    return url


def _shop_url(raw: str, _values: dict) -> str | None:
    """Where the order page re-reads an order (ledger/shop_sync.py): the webhook's policy
    (https, plain http only for this machine; internal addresses are refused when fetching
    on an installation for many merchants), no credentials, query or fragment (the path gets
    /orders/<number> appended, and the GET is signed with the webhook secret instead)."""
    url = raw.strip()
    if not url:
        return None
    parts = _url_parts(url)
    if parts.username is not None or parts.password is not None:
        raise _Refused(N_("The shop URL must not contain a user name or password."))
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise _Refused(N_("The shop URL must not have a query (?…) or a fragment (#…)."))
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise _Refused(
            N_("The shop URL needs https:// (plain http only for localhost or 127.0.0.1).")
        )
    return url


def _url_parts(url: str):
    if len(url) > 500 or any(c.isspace() for c in url):
        raise _Refused(N_("Not a web address: %(value)s"), value=url[:80])
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise _Refused(N_("Not a web address: %(value)s"), value=url[:80]) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Refused(N_("Not a web address: %(value)s (it starts with https://)"), value=url[:80])
    return parts


def _timezone(raw: str, _values: dict) -> str:
    name = raw.strip()
    if name not in available_timezones():
        raise _Refused(N_("Not a time zone: %(value)s (e.g. Europe/Berlin)"), value=name[:64])
    return name


def timezones() -> list[str]:
    """The time zones offered: Berlin, Vienna and Zurich first, then all the others."""
    return list(FIRST_TIMEZONES) + sorted(available_timezones() - set(FIRST_TIMEZONES))


def _interest_base(raw: str, _values: dict) -> str:
    value = raw.strip()
    if value not in INTEREST_BASES:
        raise _Refused(N_("Choose one of the options offered."))
    return value


CANCELLATION_NOTICES = ("none", "email", "letter")  # ledger.notices.HOWS


def _cancellation_notice(raw: str, _values: dict) -> str:
    value = raw.strip().lower()
    if value not in CANCELLATION_NOTICES:
        raise _Refused(N_("Choose one of the options offered."))
    return value


PARSERS = {
    "company_name": _text(200),
    "company_address": _address,
    "country": _country,
    "register_number": _text(120),
    "vat_id": _vat_id,
    "managing_directors": _text(300),
    "language": _language,
    "sender_email": _email(),
    "reply_to_email": _email(),
    "accounting_email": _email(required=True),
    "team_email": _email(),
    "attach_reminder_pdf": _flag,
    "bounce_domain": _domain,  # VERP return addresses (ledger/bounces.py)
    "payment_days": _whole(0, MAX_PAYMENT_DAYS),
    "discount_percent": _percent,
    "discount_days": _whole(0, MAX_PAYMENT_DAYS),
    "collection_partner": _text(120),  # ledger.collection: whom orders are handed over to
    "payment_tolerance": _tolerance,
    "short_payment_write_off": _flag,
    "ignore_keywords": _keywords,
    "webhook_url": _webhook_url,
    "shop_url": _shop_url,
    "timezone": _timezone,
    "run_hour": _whole(0, 23),
    "interest_base": _interest_base,
    "payment_received_mail": _flag,  # ledger.notices: the customer's confirmation
    "cancellation_notice": _cancellation_notice,  # the cancel form's default
}

SECTIONS = {
    "company": (
        "company_name",
        "company_address",
        "country",
        "register_number",
        "vat_id",
        "managing_directors",
        "language",
    ),
    "mail": (
        "sender_email",
        "reply_to_email",
        "accounting_email",
        "team_email",
        "attach_reminder_pdf",
        "bounce_domain",
    ),
    "terms": ("payment_days", "discount_percent", "discount_days", "collection_partner"),
    "matching": ("payment_tolerance", "short_payment_write_off", "ignore_keywords"),
    "webhook": ("webhook_url",),
    "shop": ("shop_url",),
    "time": ("timezone", "run_hour", "interest_base"),
    "notices": ("payment_received_mail", "cancellation_notice"),
}
SECRETS = {"webhook_secret", "logo"}  # audited as "changed", never their value


def _cross_checks(values: dict) -> list[Problem]:
    """Rules between fields, on the values as they would be after the save."""
    found = []
    percent, days, net = (
        values.get("discount_percent"),
        values.get("discount_days"),
        values.get("payment_days"),
    )
    if (percent is None) != (days is None):
        missing = "discount_days" if days is None else "discount_percent"
        found.append(Problem(missing, N_("Skonto needs both its percentage and its days.")))
    elif days is not None:
        if net is None:
            found.append(
                Problem("payment_days", N_("Skonto needs the net days it is counted against."))
            )
        elif days >= net:
            found.append(
                Problem(
                    "discount_days",
                    N_("The Skonto days must be fewer than the net days (%(net)s)."),
                    {"net": net},
                )
            )
    return found


def update(merchant: Merchant, raw: dict[str, str], actor: str, section: str = "") -> Saved:
    """Check `raw` (field → text as typed) and store it, all or nothing; audited. Only the
    fields given change (a form sends its section's fields; the command line the options
    given). Raises SettingsRefused with every problem found."""
    problems: list[Problem] = []
    parsed: dict = {}
    current = {name: getattr(merchant, name) for name in PARSERS}
    context = dict(current)
    if (raw.get("language") or "").strip().lower() in LANGUAGES:  # the VAT id's Swiss suffix
        context["language"] = raw["language"].strip().lower()
    for name, text in raw.items():
        if name not in PARSERS:
            problems.append(Problem(name, N_("Not a setting: %(value)s"), {"value": name}))
            continue
        try:
            parsed[name] = PARSERS[name](text or "", context)
        except _Refused as refused:
            problems.append(Problem(name, refused.message, refused.params))
    if not problems and set(parsed) & set(SECTIONS["terms"]):
        problems = _cross_checks(current | parsed)
    if problems:
        raise SettingsRefused(problems)
    changes = {}
    for name, value in parsed.items():
        if value != current[name]:
            changes[name] = (shown(name, current[name]), shown(name, value))
            setattr(merchant, name, value)
    saved = Saved(section or _section_of(parsed), changes)
    if changes:
        audit.record(
            merchant.id, actor, "settings.changed", section=saved.section, **_detail(changes)
        )
    if "payment_days" in changes or "discount_percent" in changes or "discount_days" in changes:
        saved.counts["waiting"] = waiting_orders(merchant.id)
    db.session.flush()
    return saved


def _section_of(parsed: dict) -> str:
    names = {section for section, fields in SECTIONS.items() if set(parsed) & set(fields)}
    return ",".join(sorted(names))


def shown(name: str, value) -> str:
    """A setting's value as the audit log and the notice show it."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(value)
    if name in URLS:
        return _without_credentials(value)
    return str(value).replace("\n", ", ")


URLS = {"webhook_url", "shop_url"}


def _without_credentials(url: str) -> str:
    """A URL as the audit log keeps it: a shop's webhook often carries a token in its query or
    a user:password, which the accountants reading the log must not see."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    hidden = "?…" if parts.query else ""
    return f"{parts.scheme}://{'…@' if parts.username else ''}{host}{parts.path}{hidden}"


def _detail(changes: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {
        name: "changed" if name in SECRETS else f"{old} → {new}"
        for name, (old, new) in changes.items()
    }


def waiting_orders(merchant_id: int, currency: str | None = None) -> int:
    """Orders waiting for their money (unpaid, partly paid, overdue), in `currency` if given:
    those a change of payment terms leaves on their own, or a change of accounts reaches."""
    query = select(func.count(Order.id)).where(
        Order.merchant_id == merchant_id, Order.status.in_(WAITING)
    )
    if currency:
        query = query.where(Order.currency == currency)
    return db.session.scalar(query)


# --- the logo ------------------------------------------------------------------------------


def logo_type(data: bytes) -> str | None:
    """The media type by the file's first bytes (PNG or JPEG); None for anything else."""
    return next((kind for magic, kind in LOGO_TYPES.items() if data.startswith(magic)), None)


def set_logo(merchant: Merchant, data: bytes, actor: str) -> Saved:
    """A PNG or JPEG of at most LOGO_BYTES, told by its bytes, not its name. SVG is refused:
    it may carry scripts."""
    if not data:
        raise SettingsRefused([Problem("logo", N_("Choose a PNG or JPEG file."))])
    if len(data) > LOGO_BYTES:
        raise SettingsRefused(
            [
                Problem(
                    "logo",
                    N_("The logo may have at most %(size)s kB."),
                    {"size": LOGO_BYTES // 1024},
                )
            ]
        )
    kind = logo_type(data)
    if kind is None:
        raise SettingsRefused(
            [Problem("logo", N_("The file is not a PNG or JPEG image (SVG is not accepted)."))]
        )
    merchant.logo, merchant.logo_type = data, kind
    audit.record(merchant.id, actor, "settings.changed", section="company", logo="changed")
    db.session.flush()
    return Saved("company", {"logo": ("", "changed")})


def remove_logo(merchant: Merchant, actor: str) -> Saved:
    if merchant.logo is None:
        return Saved("company", {})
    merchant.logo = merchant.logo_type = None
    audit.record(merchant.id, actor, "settings.changed", section="company", logo="removed")
    db.session.flush()
    return Saved("company", {"logo": ("", "removed")})


# --- the webhook secret --------------------------------------------------------------------


def new_webhook_secret(merchant: Merchant, actor: str) -> str:
    """A new signing secret, returned once (the page shows it once, then masked)."""
    secret = webhooks.new_secret()
    merchant.webhook_secret = secret
    audit.record(
        merchant.id, actor, "settings.changed", section="webhook", webhook_secret="changed"
    )
    db.session.flush()
    return secret


def masked(secret: str | None) -> str:
    return f"{secret[:6]}…{secret[-4:]}" if secret else "—"


# --- bank accounts -------------------------------------------------------------------------


def _account_problem(exc: bank_accounts.AccountError, default: str) -> SettingsRefused:
    return SettingsRefused([Problem(exc.field or default, exc.message, exc.params)])


def add_account(merchant: Merchant, raw: dict[str, str], actor: str) -> tuple[BankAccount, int]:
    """Add an account; returns it and how many waiting orders are in its currency."""
    try:
        account = bank_accounts.add_account(
            merchant,
            (raw.get("iban") or "").strip(),
            holder=(raw.get("holder") or "").strip() or None,
            bic=(raw.get("bic") or "").strip() or None,
            bank_name=(raw.get("bank_name") or "").strip() or None,
            currency=(raw.get("currency") or "").strip() or None,
            qr_iban=(raw.get("qr_iban") or "").strip() or None,
        )
    except bank_accounts.AccountError as exc:
        raise _account_problem(exc, "iban") from exc
    audit.record(
        merchant.id,
        actor,
        "bank_account.added",
        iban=account.iban,
        currency=account.currency,
        holder=account.holder,
        **({"qr_iban": account.qr_iban} if account.qr_iban else {}),
    )
    return account, waiting_orders(merchant.id, account.currency)


def update_account(
    merchant: Merchant, account: BankAccount, raw: dict[str, str], actor: str
) -> tuple[dict, int]:
    """Change an account's details; returns the changes and the waiting orders it reaches."""
    try:
        changes = bank_accounts.update_account(
            account,
            holder=raw.get("holder") or "",
            bic=raw.get("bic"),
            bank_name=raw.get("bank_name"),
            currency=raw.get("currency") or "",
            qr_iban=raw.get("qr_iban"),
        )
    except bank_accounts.AccountError as exc:
        raise _account_problem(exc, "holder") from exc
    if changes:
        detail = {
            name: f"{shown(name, old)} → {shown(name, new)}" for name, (old, new) in changes.items()
        }
        audit.record(merchant.id, actor, "bank_account.changed", iban=account.iban, **detail)
    return changes, waiting_orders(merchant.id, account.currency)


def remove_account(merchant: Merchant, account: BankAccount, actor: str) -> int:
    """Remove an account without imported statements; returns the waiting orders in its
    currency (their payment requests name another account from now on, or none)."""
    try:
        bank_accounts.remove_account(account)
    except bank_accounts.AccountError as exc:
        raise _account_problem(exc, "iban") from exc
    audit.record(
        merchant.id, actor, "bank_account.removed", iban=account.iban, currency=account.currency
    )
    return waiting_orders(merchant.id, account.currency)


def own_account(merchant: Merchant, account_id: int) -> BankAccount | None:
    account = db.session.get(BankAccount, account_id)
    return account if account is not None and account.merchant_id == merchant.id else None


# --- API tokens ----------------------------------------------------------------------------


def create_token(merchant: Merchant, label: str, actor: str) -> tuple[str, ApiToken]:
    """A new bearer token for the shop (ledger.accounts.create_token): returned once."""
    label = " ".join((label or "").split())
    if not label or len(label) > 120:
        raise SettingsRefused(
            [Problem("label", N_("A label of 1 to 120 characters, e.g. the shop's name."))]
        )
    token = accounts.create_token(merchant, label)
    # the row by the token's hash, as the API finds it (ledger.accounts keeps only the hash)
    row = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == accounts.token_hash(token))
    )
    audit.record(merchant.id, actor, "api_token.created", prefix=row.prefix, label=label)
    return token, row


def tokens(merchant: Merchant) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.merchant_id == merchant.id)
    return list(
        db.session.scalars(query.order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc()))
    )


def revoke_token(merchant: Merchant, token_id: int, actor: str) -> ApiToken | None:
    """Revoke one of the merchant's tokens: the API refuses it from the next request on."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.merchant_id != merchant.id:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            merchant.id, actor, "api_token.revoked", prefix=row.prefix, label=row.label or ""
        )
        db.session.flush()
    return row
