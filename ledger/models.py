"""The domain model. Money is Numeric(12, 2) in the database and Decimal in Python."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    case,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.db import db
from ledger.money import Statement

Money = Numeric(12, 2, asdecimal=True)


class Method(StrEnum):
    PREPAYMENT = "prepayment"
    INVOICE = "invoice"
    COD = "cod"


class Status(StrEnum):
    """An order's status. Only ledger/lifecycle.py changes it (its transition table)."""

    UNPAID = "unpaid"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CANCELLED = "cancelled"
    OVERDUE = "overdue"
    IN_COLLECTION = "in_collection"
    WRITTEN_OFF = "written_off"


class MessageState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # it died; a run of the same day was started again


class EntryKind(StrEnum):
    """The kinds of entry in an order's money ledger (see ledger/entries.py for their sign)."""

    CHARGE = "charge"
    PAYMENT = "payment"
    PAYMENT_REVERSAL = "payment_reversal"
    FEE = "fee"
    INTEREST = "interest"
    DISCOUNT = "discount"
    WRITE_OFF = "write_off"
    REFUND = "refund"


class Source(StrEnum):
    """Where a money entry or a lifecycle command came from."""

    API = "api"
    BANK = "bank"
    MANUAL = "manual"
    RULE = "rule"
    COLLECTION = "collection"
    SHOP = "shop"
    MIGRATION = "migration"


PAYMENT_METHODS = tuple(Method)
CUSTOMER_TYPES = ("b2b", "b2c")
LANGUAGES = ("de", "en", "fr", "it")
ORDER_STATUSES = tuple(Status)
# Statuses in which an order still owes money and can get dunning steps.
OPEN_STATUSES = (Status.UNPAID, Status.PARTIALLY_PAID, Status.OVERDUE, Status.IN_COLLECTION)
MESSAGE_KINDS = ("email", "webhook", "letter")
MESSAGE_STATES = tuple(MessageState)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Merchant(db.Model):
    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    accounting_email: Mapped[str] = mapped_column(String(254))
    team_email: Mapped[str | None] = mapped_column(String(254))
    sender_email: Mapped[str | None] = mapped_column(String(254))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    language: Mapped[str] = mapped_column(String(2), default="de")
    bank_account_holder: Mapped[str | None] = mapped_column(String(140))
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    bank_name: Mapped[str | None] = mapped_column(String(140))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(128))
    # Date of the newest bank statement imported; rules can hold steps while it is stale.
    bank_data_as_of: Mapped[date | None] = mapped_column(Date)
    # Matching bank payments (docs/bank.md): how short a payment may be and still settle the
    # order (bank fees), whether the rest is written off or stays open, and transfers to skip.
    payment_tolerance: Mapped[Decimal] = mapped_column(
        Money, default=Decimal("1.00"), server_default="1.00"
    )
    short_payment_write_off: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=sql_text("true")
    )
    ignore_keywords: Mapped[list] = mapped_column(JSON, default=list)
    # The letterhead, set on the settings page, for the PDF letters to come (today's HTML
    # letters and mails still show only `name`).
    company_name: Mapped[str | None] = mapped_column(String(200))  # legal name; else `name`
    company_address: Mapped[str | None] = mapped_column(Text)  # lines: street, postcode town
    country: Mapped[str] = mapped_column(String(2), default="DE", server_default="DE")
    register_number: Mapped[str | None] = mapped_column(String(120))  # "HRB 12345, AG München"
    vat_id: Mapped[str | None] = mapped_column(String(20))
    managing_directors: Mapped[str | None] = mapped_column(String(300))
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)  # PNG or JPEG, ≤ 512 kB
    logo_type: Mapped[str | None] = mapped_column(String(40))  # its media type
    reply_to_email: Mapped[str | None] = mapped_column(String(254))
    # Payment terms for invoice orders that bring no due date: days net (None: the order is
    # due as the shop sends it, on its order day), and an optional Skonto (shown, stored; the
    # per-order terms come later).
    payment_days: Mapped[int | None] = mapped_column(Integer)
    discount_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    discount_days: Mapped[int | None] = mapped_column(Integer)
    shop_url: Mapped[str | None] = mapped_column(String(500))  # re-reading orders from the shop
    # Returned mail comes back to bounces+<message id>@<bounce_domain> (VERP).
    bounce_domain: Mapped[str | None] = mapped_column(String(253))
    # A changed email or amount sends the customer fresh payment information.
    payment_info_on_change: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=sql_text("true")
    )
    # A confirmation to the customer when a payment settles the order (optional: the customer
    # may unsubscribe from it, ledger.order_messages.OPTIONAL_PURPOSES).
    payment_received_mail: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_text("false")
    )
    # What a manual cancellation tells the customer by default: none | email | letter.
    cancellation_notice: Mapped[str] = mapped_column(
        String(10), default="none", server_default="none"
    )
    # The local hour of the daily run; None: the installation's MAHNWERK_DAILY_RUN_HOUR.
    run_hour: Mapped[int | None] = mapped_column(Integer)
    # Whose statutory base rate interest follows: "law" (the country whose law governs the
    # claim, ledger/interest.py), or "DE"/"AT" for one table always.
    interest_base: Mapped[str] = mapped_column(String(10), default="law", server_default="law")
    # Owners must log in with a second factor (TOTP) when this is on.
    owners_need_totp: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_text("false")
    )
    # Debt collection: the partner cases are handed to (by hand or by rule).
    collection_partner: Mapped[str | None] = mapped_column(String(120))
    # The customer page asks for the customer's bank details when a refund has none.
    ask_refund_details: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=sql_text("true")
    )
    # Customer reminder emails carry the reminder letter's PDF as an attachment.
    attach_reminder_pdf: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_text("false")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def sender(self) -> str | None:
        return f"{self.name} <{self.sender_email}>" if self.sender_email else None


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="owner")  # ledger.permissions.Role
    # The portal's language the user picked ("de", "en"); None: the browser's Accept-Language.
    language: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Kept in the session at login; logout and a password change bump it, ending every session.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A deactivated user cannot log in; its history stays (audit entries name it).
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sql_text("true"))
    # Invited, no password set yet: the invitation link sets it.
    invited_at: Mapped[datetime | None] = mapped_column(DateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # TOTP (RFC 6238): the base32 secret while enrolling, in force once `totp_enabled_at` is set.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)  # a code counts once

    merchant: Mapped[Merchant] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated user's sessions end
        return bool(self.active)


class UserToken(db.Model):
    """A one-time link sent by mail: an invitation or a password reset. Only its SHA-256 is
    kept; it expires, and using it (or a newer one of the same purpose) ends it."""

    __tablename__ = "user_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))  # invite | reset
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class ApiToken(db.Model):
    """A shop's bearer token. Only its SHA-256 is kept; the prefix tells tokens apart."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    label: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    merchant: Mapped[Merchant] = relationship()


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("merchant_id", "number", name="uq_orders_merchant_number"),
        # The daily run reads only orders whose next step is due: (merchant, next_due_on).
        Index("ix_orders_merchant_next_due", "merchant_id", "next_due_on"),
        Index("ix_orders_merchant_status", "merchant_id", "status"),
        # The order list's sort (newest order date first) as an index range, not a sort.
        Index("ix_orders_merchant_ordered", "merchant_id", "ordered_on", "id"),
        Index("ix_orders_merchant_amount", "merchant_id", "amount"),  # the search by amount
        Index(  # the few orders with a credit to pay back (the payments page lists them)
            "ix_orders_refund_requested",
            "merchant_id",
            "refund_requested_on",
            "id",
            sqlite_where=sql_text("refund_requested_on IS NOT NULL"),
            postgresql_where=sql_text("refund_requested_on IS NOT NULL"),
        ),
        # A bank import first indexes the orders whose reference keys are missing or stale.
        Index("ix_orders_merchant_references_version", "merchant_id", "references_version"),
        # The dashboard's live count of "already paid" claims: only the claimed orders (with
        # their status, or the planner takes the status index and reads every open order).
        Index(
            "ix_orders_merchant_claimed",
            "merchant_id",
            "status",
            sqlite_where=sql_text("payment_claimed_on IS NOT NULL"),
            postgresql_where=sql_text("payment_claimed_on IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    number: Mapped[str] = mapped_column(String(64))
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_email: Mapped[str] = mapped_column(String(254))
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(10))
    postal_address: Mapped[str | None] = mapped_column(Text)  # lines for letters, without the name
    language: Mapped[str] = mapped_column(String(2), default="de")
    customer_type: Mapped[str] = mapped_column(String(3), default="b2c")
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    payment_method: Mapped[str] = mapped_column(String(20))
    ordered_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    invoice_number: Mapped[str | None] = mapped_column(String(64))
    customer_number: Mapped[str | None] = mapped_column(String(64))  # the shop's, for letters
    # References a customer may pay with (the RF creditor reference or the Swiss QR reference
    # printed on every payment request), other names and references a user stored for it.
    payment_reference: Mapped[str | None] = mapped_column(String(27))
    extra_references: Mapped[list] = mapped_column(JSON, default=list)
    payer_names: Mapped[list] = mapped_column(JSON, default=list)
    # Skonto: this amount settles the order when paid by discount_until.
    discount_amount: Mapped[Decimal | None] = mapped_column(Money)
    discount_until: Mapped[date | None] = mapped_column(Date)
    references_version: Mapped[int | None] = mapped_column(Integer)  # of its OrderReference keys
    refund_requested_on: Mapped[date | None] = mapped_column(Date)  # a credit to pay back
    tags: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=Status.UNPAID)
    # Cached sums of the order's money ledger (ledger/entries.py), written in the transaction
    # that writes the entry; `mahnwerk ledger verify` recomputes them from the entries.
    paid_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    fees_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    interest_total: Mapped[Decimal] = mapped_column(
        Money, default=Decimal("0.00"), server_default="0"
    )
    # Discounts and write-offs less refunds: what settles the order without a payment.
    adjustments_total: Mapped[Decimal] = mapped_column(
        Money, default=Decimal("0.00"), server_default="0"
    )
    # A payment came in after the order was cancelled: someone must reactivate or refund.
    paid_after_cancellation: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_text("false")
    )
    # Optimistic lock: every UPDATE of the row checks and bumps it (works on SQLite too).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    dunning_level: Mapped[int] = mapped_column(Integer, default=0)
    dunning_block: Mapped[bool] = mapped_column(Boolean, default=False)
    dunning_block_reason: Mapped[str | None] = mapped_column(String(500))
    dunning_block_until: Mapped[date | None] = mapped_column(Date)  # dunning resumes after it
    # Fields a user edited by hand: the shop's later values for them are kept aside in
    # `shop_changes` ({field: value}) until someone accepts them.
    manual_fields: Mapped[list | None] = mapped_column(JSON, default=list)  # None: none
    shop_changes: Mapped[dict | None] = mapped_column(JSON, default=dict)  # None: none
    # The order's own payment terms (else the merchant's): net days, Skonto rate and days.
    payment_days: Mapped[int | None] = mapped_column(Integer)
    discount_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    discount_days: Mapped[int | None] = mapped_column(Integer)
    # The customer unsubscribed from optional notifications (never payment requests).
    notifications_off: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_text("false")
    )
    payment_claimed_on: Mapped[date | None] = mapped_column(Date)
    # Bumped to end every customer-page link of the order (erasure, a forged-link report).
    customer_link_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    next_due_on: Mapped[date | None] = mapped_column(Date)
    # The rules version active when the order came in: a later version that says
    # `apply to orders from DATE` leaves older orders to it.
    rules_version_id: Mapped[int | None] = mapped_column(ForeignKey("ruleset_versions.id"))
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}

    merchant: Mapped[Merchant] = relationship()
    entries: Mapped[list[LedgerEntry]] = relationship(
        back_populates="order", order_by="LedgerEntry.id", viewonly=True
    )
    events: Mapped[list[DunningEvent]] = relationship(
        back_populates="order", order_by="DunningEvent.id"
    )

    @property
    def statement(self) -> Statement:
        """The order's money, itemised, from the cached sums of its ledger."""
        return Statement(
            self.currency,
            self.amount,
            self.fees_total,
            self.interest_total,
            self.paid_total,
            self.adjustments_total,
            self.status == Status.CANCELLED,
        )

    @property
    def open_amount(self) -> Decimal:
        return self.statement.open

    @classmethod
    def open_amount_sql(cls):
        """`open_amount` (money.Statement.open) as an SQL expression, for sums over many orders
        (tests/ledger/test_money_ledger.py holds the two equal)."""
        owed = case(
            (cls.status == Status.CANCELLED, 0),
            else_=cls.amount + cls.fees_total + cls.interest_total,
        )
        balance = owed - cls.paid_total - cls.adjustments_total
        return case((balance > 0, balance), else_=0)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class LedgerEntry(db.Model):
    """One line of an order's money ledger. Append-only: a mistake is undone by a new entry
    (a payment by a payment_reversal), never by editing or deleting one."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_order_id_id", "order_id", "id"),
        # The same payment reported twice by the same source (a retried API call, the same bank
        # line) is stored once.
        Index(
            "uq_ledger_entries_payment_reference",
            "order_id",
            "source",
            "reference",
            unique=True,
            sqlite_where=sql_text("kind = 'payment' AND reference IS NOT NULL"),
            postgresql_where=sql_text("kind = 'payment' AND reference IS NOT NULL"),
        ),
        # "Is this payment reversed already?", and the foreign key's own checks; only the
        # reversals, so the payments, fees and charges add nothing to it.
        Index(
            "ix_ledger_entries_reverses_id",
            "reverses_id",
            sqlite_where=sql_text("reverses_id IS NOT NULL"),
            postgresql_where=sql_text("reverses_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money)  # as the kind counts it; see entries.SIGN
    currency: Mapped[str] = mapped_column(String(3))
    booked_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(500))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("dunning_events.id", use_alter=True, name="fk_ledger_entries_event")
    )
    actor: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    order: Mapped[Order] = relationship(back_populates="entries")


class IdempotentRequest(db.Model):
    """The first answer to an API request sent with an Idempotency-Key: a retry gets it again."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("merchant_id", "key", name="uq_idempotent_merchant_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))  # method, path and body hashed
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RulesetVersion(db.Model):
    __tablename__ = "ruleset_versions"
    __table_args__ = (UniqueConstraint("merchant_id", "number", name="uq_ruleset_merchant_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(254))
    comment: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The version the editor started from; a save based on an older one is a conflict.
    based_on: Mapped[int | None] = mapped_column(Integer)
    # Activation recomputes every open order's next due date in the background.
    recompute_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    recompute_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    recomputed_at: Mapped[datetime | None] = mapped_column(DateTime)


class DunningRun(db.Model):
    __tablename__ = "dunning_runs"
    # The runs page, newest first.
    __table_args__ = (Index("ix_dunning_runs_merchant_created", "merchant_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    run_on: Mapped[date] = mapped_column(Date)
    trigger: Mapped[str] = mapped_column(String(20))  # schedule | cli | portal
    # Set for scheduled runs only: one per merchant and day, enforced by the database.
    schedule_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|done|failed
    orders_due: Mapped[int] = mapped_column(Integer, default=0)
    orders_examined: Mapped[int] = mapped_column(Integer, default=0)
    steps: Mapped[dict] = mapped_column(JSON, default=dict)  # action → count
    messages_queued: Mapped[int] = mapped_column(Integer, default=0)
    messages_sent: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The run process says it is alive; a running run whose heartbeat is older than the lease
    # is marked interrupted and started again (worker.jobs.recover_runs).
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    restart_of: Mapped[int | None] = mapped_column(Integer)  # the interrupted run it continues


class DunningEvent(db.Model):
    """One action a rule step took (or a step skipped) for one order. Exactly once per step."""

    __tablename__ = "dunning_events"
    __table_args__ = (
        UniqueConstraint("order_id", "step_key", "action", name="uq_event_order_step_action"),
        # The digest reads the notifications no digest carried yet: only those, by index.
        Index(
            "ix_dunning_events_unsent_notify",
            "merchant_id",
            "id",
            sqlite_where=sql_text("action = 'notify' AND digest_message_id IS NULL"),
            postgresql_where=sql_text("action = 'notify' AND digest_message_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("dunning_runs.id"), index=True)
    ruleset_version_id: Mapped[int | None] = mapped_column(ForeignKey("ruleset_versions.id"))
    step_key: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    level: Mapped[int | None] = mapped_column(Integer)
    fee: Mapped[Decimal | None] = mapped_column(Money)
    recipient: Mapped[str | None] = mapped_column(String(254))
    decided_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)  # the rule line that decided it
    # For notify events: the digest message that carried it (NULL = still to be sent).
    digest_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    order: Mapped[Order] = relationship(back_populates="events")
    digest_message: Mapped[OutboxMessage | None] = relationship(foreign_keys=[digest_message_id])
    ruleset_version: Mapped[RulesetVersion | None] = relationship()


class OutboxMessage(db.Model):
    """Something to send, written in the same transaction as the decision that caused it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_merchant_state", "merchant_id", "state"),
        Index("ix_outbox_state_next_attempt", "state", "next_attempt_at"),
        Index("ix_outbox_merchant_id", "merchant_id", "id"),  # the outbox page, newest first
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("dunning_runs.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("dunning_events.id", use_alter=True, name="fk_outbox_event")
    )
    kind: Mapped[str] = mapped_column(String(10))  # email | webhook | letter
    purpose: Mapped[str] = mapped_column(
        String(40)
    )  # reminder | accounting_digest | order.cancelled …
    recipient: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)  # an email's HTML part, from the same template
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    # A delivery claims the message with a lease; only an expired lease is taken over.
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)  # back-off after a failure
    # Returned as undeliverable (a bounce parsed by flufl.bounce), with the reason.
    bounced_at: Mapped[datetime | None] = mapped_column(DateTime)
    bounce_reason: Mapped[str | None] = mapped_column(String(500))
    # Body and attachments purged after the retention period; the row stays as a tombstone.
    purged_at: Mapped[datetime | None] = mapped_column(DateTime)
    resent_from_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))

    order: Mapped[Order | None] = relationship()
    event: Mapped[DunningEvent | None] = relationship(foreign_keys=[event_id])


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    # The audit page, newest first. PostgreSQL only: on SQLite the merchant_id index holds the
    # rowid (the id) in order already, and this one misleads its planner into a sort.
    __table_args__ = (
        Index("ix_audit_entries_merchant_id_id", "merchant_id", "id").ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    actor: Mapped[str] = mapped_column(String(254))  # "user:a@b.de", "api", "system", "cli"
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LoginThrottle(db.Model):
    """Failed logins per account ("account:<email>") or client address ("address:<ip>"), and
    the lockout they led to. In the database, so a lockout survives a restart
    (policy: ledger/throttle.py)."""

    __tablename__ = "login_throttles"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime | None] = mapped_column(DateTime)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)  # in a row: each lock lasts longer


# --- Payments in from the bank (docs/bank.md) ---------------------------------------------------


class TransactionState(StrEnum):
    NEW = "new"  # stored, not yet examined by the matcher
    MATCHED = "matched"  # assigned to one or more orders (by the matcher or a user)
    SUGGESTED = "suggested"  # candidates found, none clearly ahead: the Payments inbox
    UNMATCHED = "unmatched"  # nothing found: the Payments inbox
    IGNORED = "ignored"  # "not for us", a payment provider's transfer, a debit of no order
    REFUND = "refund"  # to be paid back
    REVERSED = "reversed"  # a return or reversal that took back an order's payment


class BankAccount(db.Model):
    """A merchant's bank account. Customers are asked to pay to the account of the order's
    currency and country (ledger.bank.accounts.for_order); statements are accepted only for
    accounts the merchant has."""

    __tablename__ = "bank_accounts"
    __table_args__ = (UniqueConstraint("merchant_id", "iban", name="uq_bank_accounts_iban"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    holder: Mapped[str] = mapped_column(String(140))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    bank_name: Mapped[str | None] = mapped_column(String(140))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    country: Mapped[str] = mapped_column(String(2))
    qr_iban: Mapped[str | None] = mapped_column(String(34))  # Swiss QR-bill with QR reference
    data_as_of: Mapped[date | None] = mapped_column(Date)  # the newest statement's end
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class BankImport(db.Model):
    """One file taken in: who, how, when, and what came of it."""

    __tablename__ = "bank_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    way: Mapped[str] = mapped_column(String(20))  # upload | cli | api | inbox
    actor: Mapped[str] = mapped_column(String(254))
    statements: Mapped[int] = mapped_column(Integer, default=0)
    transactions: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    known: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    suggested: Mapped[int] = mapped_column(Integer, default=0)
    unmatched: Mapped[int] = mapped_column(Integer, default=0)
    data_as_of: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class BankTransaction(db.Model):
    """A booking on a merchant's account (or one detail of a batch booking), stored once: its
    fingerprint (ledger.bank.fingerprint) is unique per merchant."""

    __tablename__ = "bank_transactions"
    __table_args__ = (
        UniqueConstraint("merchant_id", "fingerprint", name="uq_bank_transactions_fingerprint"),
        Index("ix_bank_transactions_merchant_state", "merchant_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("bank_accounts.id"), index=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("bank_imports.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    booking_date: Mapped[date] = mapped_column(Date)
    value_date: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)  # positive; `credit` gives the direction
    currency: Mapped[str] = mapped_column(String(3))
    credit: Mapped[bool] = mapped_column(Boolean)
    counterparty_name: Mapped[str | None] = mapped_column(String(200))
    counterparty_iban: Mapped[str | None] = mapped_column(String(34))
    remittance: Mapped[str] = mapped_column(Text, default="")
    structured_reference: Mapped[str | None] = mapped_column(String(40))
    end_to_end_id: Mapped[str | None] = mapped_column(String(64))
    account_servicer_ref: Mapped[str | None] = mapped_column(String(64))
    bank_code: Mapped[str | None] = mapped_column(String(40))
    return_reason: Mapped[str | None] = mapped_column(String(10))
    reversal: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(20), default=TransactionState.UNMATCHED)
    reason: Mapped[str | None] = mapped_column(String(500))  # why it is in this state
    suggestions: Mapped[list] = mapped_column(JSON, default=list)  # ranked, with reasons
    raw: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    account: Mapped[BankAccount] = relationship()
    assignments: Mapped[list[PaymentAssignment]] = relationship(
        back_populates="transaction", order_by="PaymentAssignment.id"
    )


class PaymentAssignment(db.Model):
    """A transaction's amount (or part of it) assigned to an order: by the matcher or a user,
    with the reason. The money itself is the order's ledger entry it points to."""

    __tablename__ = "payment_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("bank_transactions.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    actor: Mapped[str] = mapped_column(String(254))  # "matcher" or "user:…"
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    transaction: Mapped[BankTransaction] = relationship(back_populates="assignments")
    order: Mapped[Order] = relationship()
    entry: Mapped[LedgerEntry | None] = relationship()


class OrderReference(db.Model):
    """A normalised key under which a payment's text finds an order (ledger.bank.references):
    its number, invoice number, stored extra references, its RF and QR references."""

    __tablename__ = "order_references"
    __table_args__ = (
        Index("ix_order_references_lookup", "merchant_id", "key"),
        UniqueConstraint("order_id", "key", name="uq_order_references_order_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))  # number | invoice | extra | rf | qrr


class DashboardFigures(db.Model):
    """The dashboard's figures of one merchant, computed by ledger.dashboard.compute (a worker
    job after each daily run and bank import, nightly, and on request): the page reads this
    snapshot instead of aggregating the whole order book on every request."""

    __tablename__ = "dashboard_figures"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), unique=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime)
    figures: Mapped[dict] = mapped_column(JSON, default=dict)  # ledger.dashboard.Figures
    # "Recompute now" was asked for at this time; the page waits while it is newer.
    requested_at: Mapped[datetime | None] = mapped_column(DateTime)


class LetterState(StrEnum):
    CREATED = "created"  # rendered, waiting for the next print run
    IN_PRINT_RUN = "in_print_run"
    PRINTED = "printed"
    POSTED = "posted"
    CANCELLED = "cancelled"


class Letter(db.Model):
    """A letter to a customer, rendered to PDF by the letter channel (ledger/documents): one per
    outbox message of kind `letter` (unique), so a redelivered message never makes a second."""

    __tablename__ = "letters"
    __table_args__ = (Index("ix_letters_merchant_state", "merchant_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # reminder, payment_info, cancellation, invoice
    level: Mapped[int | None] = mapped_column(Integer)  # a reminder's dunning level
    locale: Mapped[str] = mapped_column(String(5))  # de, de-AT, de-CH, en, fr, it
    recipient: Mapped[str] = mapped_column(Text)  # the address lines in the window
    pages: Mapped[int] = mapped_column(Integer)
    # None once erased or purged; loaded only when read (lists show many letters)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    state: Mapped[str] = mapped_column(String(15), default=LetterState.CREATED)
    print_run_id: Mapped[int | None] = mapped_column(ForeignKey("print_runs.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    printed_at: Mapped[datetime | None] = mapped_column(DateTime)
    posted_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(254))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))

    order: Mapped[Order | None] = relationship()


class PrintRunState(StrEnum):
    OPEN = "open"  # its PDF can be downloaded and printed
    PRINTED = "printed"
    POSTED = "posted"


class PrintRun(db.Model):
    """One day's letters of a merchant, printed as one merged PDF in the order of its CSV
    manifest (ledger/documents/print_runs.py)."""

    __tablename__ = "print_runs"
    __table_args__ = (Index("ix_print_runs_merchant_day", "merchant_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    day: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10), default=PrintRunState.OPEN)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254))
    printed_at: Mapped[datetime | None] = mapped_column(DateTime)
    posted_at: Mapped[datetime | None] = mapped_column(DateTime)


class Invoice(db.Model):
    """The shop's invoice PDF of an order (POST /api/v1/orders/<number>/invoice); a new upload
    replaces it. Sent by letter it comes first, followed by the payment slip."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RefundState(StrEnum):
    AWAITING_DETAILS = "awaiting_details"  # no IBAN yet: the customer page asks for it
    OPEN = "open"  # ready to export
    EXPORTED = "exported"  # in a SEPA credit transfer file
    EXECUTED = "executed"  # the bank statement shows the debit (by its end-to-end id)
    CANCELLED = "cancelled"


class Refund(db.Model):
    """Money to pay back to a customer (a credit: an overpayment, a payment after
    cancellation), paid out by a SEPA credit transfer file (ledger/refunds.py). The money
    itself is the order's `refund` ledger entry, booked when the refund is made."""

    __tablename__ = "refunds"
    __table_args__ = (Index("ix_refunds_merchant_state", "merchant_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    payee: Mapped[str] = mapped_column(String(140))
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    remittance: Mapped[str] = mapped_column(String(140))
    end_to_end_id: Mapped[str] = mapped_column(String(35), unique=True)
    state: Mapped[str] = mapped_column(String(20), default=RefundState.OPEN)
    export_id: Mapped[int | None] = mapped_column(ForeignKey("refund_exports.id"), index=True)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("bank_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254))
    executed_on: Mapped[date | None] = mapped_column(Date)

    order: Mapped[Order] = relationship()


class RefundExport(db.Model):
    """One SEPA credit transfer file (pain.001) of refunds, kept as it was handed out."""

    __tablename__ = "refund_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    pain_version: Mapped[str] = mapped_column(String(20))  # pain.001.001.09 or .03
    account_iban: Mapped[str] = mapped_column(String(34))  # the debtor account
    count: Mapped[int] = mapped_column(Integer)
    total: Mapped[Decimal] = mapped_column(Money)
    xml: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254))


class CollectionCase(db.Model):
    """An order handed over to a debt collection partner: what was handed over (itemised), the
    partner's status and what it recovered (ledger/collection.py). One open case per order."""

    __tablename__ = "collection_cases"
    __table_args__ = (
        UniqueConstraint("merchant_id", "file_number", name="uq_collection_file_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    partner: Mapped[str] = mapped_column(String(120))
    file_number: Mapped[str] = mapped_column(String(40))  # ours, e.g. "IK-2026-00017"
    partner_file_number: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    principal: Mapped[Decimal] = mapped_column(Money)
    fees: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money)
    paid_before: Mapped[Decimal] = mapped_column(Money)  # payments before the hand-over
    handed_over: Mapped[Decimal] = mapped_column(Money)  # the open amount at the hand-over
    status: Mapped[str] = mapped_column(String(20), default="handed_over")
    recovered: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    partner_fees: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254))
    recalled_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)

    order: Mapped[Order] = relationship()
    updates: Mapped[list[CollectionUpdate]] = relationship(
        back_populates="case", order_by="CollectionUpdate.id"
    )


class CollectionUpdate(db.Model):
    """One status report of the partner (or our hand-over and recall), as received."""

    __tablename__ = "collection_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_cases.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(254))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    case: Mapped[CollectionCase] = relationship(back_populates="updates")


class PaymentClaim(db.Model):
    """A customer's "I have already paid" from the customer page (or a user's note of it): the
    day paid and an optional proof, kept outside the web root of the customer's eyes (never
    served back to them). Closed when the payment arrives; visible as not received when the
    rules' pause ended without it (ledger/claims.py)."""

    __tablename__ = "payment_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(1000))
    proof: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    proof_type: Mapped[str | None] = mapped_column(String(40))  # from the file's content
    proof_name: Mapped[str | None] = mapped_column(String(200))
    proof_size: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default="open")  # open|received|not_received
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)


class BulkJob(db.Model):
    """One bulk action on many orders (the orders list), run by the worker with progress: what
    it was asked, how many it touched, and which it skipped and why (ledger/bulk_actions.py)."""

    __tablename__ = "bulk_jobs"
    __table_args__ = (Index("ix_bulk_jobs_merchant_created", "merchant_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    action: Mapped[str] = mapped_column(String(30))  # remind | block | unblock | mark_paid | cancel
    params: Mapped[dict] = mapped_column(JSON, default=dict)  # reason, channels, filters …
    order_ids: Mapped[list] = mapped_column(JSON, default=list)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[list] = mapped_column(JSON, default=list)  # [{number, reason}]
    state: Mapped[str] = mapped_column(String(10), default="queued")  # queued|running|done|failed
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
