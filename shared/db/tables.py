"""The schema, as SQLAlchemy 2 typed models. Alembic migrations must produce exactly this.

Every tenant-owned table has a composite primary key (tenant_id, id) and every
foreign key, unique constraint and hot index leads with tenant_id, so the schema
can be distributed by tenant (Citus) later without a rewrite. The invariants that
must never break are constraints, so a concurrency bug surfaces as a conflict,
never as bad data.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column, relationship

from shared.db.status_sql import BILLABLE_SQL, in_list
from shared.domain.invoices import CYCLE_REASONS
from shared.domain.money import MAX_AMOUNT
from shared.domain.taxes import TaxExempt, tax_note

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Timestamp = DateTime(timezone=True)
Money = BigInteger
CURRENCY_CHECK = "~ '^[A-Z]{3}$'"
# default_tax_rates: tax rate ids, the first non-empty of subscription, plan, customer,
# tenant applies (shared.domain.taxes).
TaxRateIds = ARRAY(String(40))
NO_IDS = text("'{}'::character varying[]")


def money_check(column: str, *, signed: bool = False) -> CheckConstraint:
    low = -MAX_AMOUNT if signed else 0
    return CheckConstraint(f"{column} BETWEEN {low} AND {MAX_AMOUNT}", name=f"{column}_range")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class LineColumns:
    """What an invoice line and a pending invoice item both say: a described amount for a period."""

    description: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[datetime] = mapped_column(Timestamp)
    period_end: Mapped[datetime] = mapped_column(Timestamp)
    plan_id: Mapped[str | None] = mapped_column(String(40))


def line_checks() -> tuple[CheckConstraint, ...]:
    return (
        money_check("amount", signed=True),
        CheckConstraint(f"currency {CURRENCY_CHECK}", name="currency_format"),
        CheckConstraint("period_end > period_start", name="period_nonempty"),
    )


class Tenant(Base):
    """A billing account of this service. Reference data: small, read by every request."""

    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint("days_until_due BETWEEN 0 AND 365", name="days_until_due_range"),
        CheckConstraint("grace_period_days BETWEEN 0 AND 365", name="grace_period_days_range"),
        CheckConstraint("next_invoice_number >= 1", name="next_invoice_number_positive"),
        CheckConstraint("next_credit_note_number >= 1", name="next_credit_note_number_positive"),
        # Names are trimmed (by the service) and unique regardless of case.
        CheckConstraint("name = btrim(name) AND name <> ''", name="name_trimmed"),
        Index("uq_tenants_name", text("lower(name)"), unique=True),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    # Invoices are sent for payment (no payment processor is attached), so they fall due
    # a month later by default, not at once: see the README's dunning section.
    days_until_due: Mapped[int] = mapped_column(Integer, server_default=text("30"))
    grace_period_days: Mapped[int] = mapped_column(Integer, server_default=text("30"))
    # Gap-free invoice numbering: incremented under the tenant row lock in the same
    # transaction that inserts the invoices, so a rollback gives the numbers back.
    next_invoice_number: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
    # Credit notes have their own gap-free sequence (CN-000001), kept like the invoices'.
    next_credit_note_number: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
    default_tax_rates: Mapped[list[str]] = mapped_column(TaxRateIds, server_default=NO_IDS)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        # Looked up by hash before the tenant is known: a global unique index by design.
        UniqueConstraint("key_hash"),
        CheckConstraint("scope IN ('read', 'write')", name="scope_known"),
        Index(None, "tenant_id", "id"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text)
    # 'read' may only read; 'write' may read and write.
    scope: Mapped[str] = mapped_column(String(8), server_default=text("'write'"))
    # The key configured by BILLING_BOOTSTRAP_API_KEY: replaced (revoked) when that setting changes.
    bootstrap: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)


class TestClock(Base):
    """Simulated time for the customers attached to it (and only them)."""

    __tablename__ = "test_clocks"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        CheckConstraint("status IN ('ready', 'advancing')", name="status_known"),
        CheckConstraint("next_invoice_number >= 1", name="next_invoice_number_positive"),
        CheckConstraint("next_credit_note_number >= 1", name="next_credit_note_number_positive"),
        # Advances waiting for (or held by) a worker, across all tenants.
        Index("ix_test_clocks_advancing", "lease_until", postgresql_where=text("status = 'advancing'")),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    # The clock's time. While `advancing`, this is already the target and the renewal of
    # its customers is catching up in the background.
    frozen_time: Mapped[datetime] = mapped_column(Timestamp)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'ready'"))
    # Real (database) time until which a worker owns the advance; a crashed worker's lease
    # runs out and another one resumes the work.
    lease_until: Mapped[datetime | None] = mapped_column(Timestamp)
    # The clock's own gap-free invoice numbering (simulated invoices never take a real
    # number): incremented under the clock row lock, like the tenant's.
    next_invoice_number: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
    next_credit_note_number: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        ForeignKeyConstraint(["tenant_id", "test_clock_id"], ["test_clocks.tenant_id", "test_clocks.id"]),
        UniqueConstraint("tenant_id", "email"),
        UniqueConstraint("tenant_id", "external_id"),
        CheckConstraint("tax_exempt IN ('none', 'exempt', 'reverse')", name="tax_exempt_known"),
        # A test clock's customers, found when the clock is deleted.
        Index(None, "tenant_id", "test_clock_id", postgresql_where=text("test_clock_id IS NOT NULL")),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default=text("'{}'::jsonb"))
    test_clock_id: Mapped[str | None] = mapped_column(String(40))
    # The customer's id in the client's own system: usage events may name the customer by it.
    external_id: Mapped[str | None] = mapped_column(String(255))
    tax_exempt: Mapped[str] = mapped_column(String(8), server_default=text("'none'"))
    default_tax_rates: Mapped[list[str]] = mapped_column(TaxRateIds, server_default=NO_IDS)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)

    @property
    def livemode(self) -> bool:
        return self.test_clock_id is None

    @property
    def balances(self) -> dict[str, int]:
        """The customer's balance per currency (negative: credit owed to the customer), as the
        use case that loaded the customer read it (`show_balances`); not a column."""
        return dict(getattr(self, "_balances", {}))

    def show_balances(self, balances: dict[str, int]) -> None:
        self._balances = balances


class Plan(Base):
    """A price and a cadence. Never repriced once created: make a new plan instead."""

    __tablename__ = "plans"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        UniqueConstraint("tenant_id", "code"),
        money_check("amount"),
        CheckConstraint(f"currency {CURRENCY_CHECK}", name="currency_format"),
        CheckConstraint("interval IN ('day', 'week', 'month', 'year')", name="interval_known"),
        CheckConstraint("interval_count >= 1", name="interval_count_positive"),
        CheckConstraint("trial_period_days >= 0", name="trial_period_days_nonnegative"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[str] = mapped_column(String(8))
    interval_count: Mapped[int] = mapped_column(Integer)
    trial_period_days: Mapped[int] = mapped_column(Integer)
    # Prices of metered usage, billed in arrears (shared.domain.usage_pricing reads them).
    usage_charges: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    archived_at: Mapped[datetime | None] = mapped_column(Timestamp)
    default_tax_rates: Mapped[list[str]] = mapped_column(TaxRateIds, server_default=NO_IDS)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"]),
        ForeignKeyConstraint(["tenant_id", "plan_id"], ["plans.tenant_id", "plans.id"]),
        CheckConstraint("status IN ('trialing', 'active', 'past_due', 'paused', 'canceled')", name="status_known"),
        CheckConstraint("current_period_end > current_period_start", name="period_nonempty"),
        CheckConstraint("cycle >= 0", name="cycle_nonnegative"),
        CheckConstraint("status <> 'canceled' OR ended_at IS NOT NULL", name="canceled_has_ended_at"),
        CheckConstraint("status <> 'paused' OR paused_at IS NOT NULL", name="paused_has_paused_at"),
        Index(None, "tenant_id", "customer_id", "id"),
        Index(None, "tenant_id", "status", "id"),
        # The renewal claim: due subscriptions in real time, across all tenants (a global
        # scan by design: the PingSource renews everyone)...
        Index(
            "ix_subscriptions_due",
            "current_period_end",
            postgresql_where=text(f"status IN {BILLABLE_SQL} AND test_clock_id IS NULL"),
        ),
        # ...and those living in one test clock's time.
        Index(
            "ix_subscriptions_due_on_test_clock",
            "tenant_id",
            "test_clock_id",
            "current_period_end",
            postgresql_where=text(f"status IN {BILLABLE_SQL} AND test_clock_id IS NOT NULL"),
        ),
        # Trials ending soon (subscription.trial_will_end).
        Index("ix_subscriptions_trialing", "trial_end", postgresql_where=text("status = 'trialing'")),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40))
    plan_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    # The current period ends at boundary `cycle` counted from the anchor (see
    # shared.domain.subscriptions.Start): renewals never drift.
    billing_cycle_anchor: Mapped[datetime] = mapped_column(Timestamp)
    cycle: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    current_period_start: Mapped[datetime] = mapped_column(Timestamp)
    current_period_end: Mapped[datetime] = mapped_column(Timestamp)
    trial_end: Mapped[datetime | None] = mapped_column(Timestamp)
    # Copied from the customer (whose clock never changes), so renewal claims need no join.
    test_clock_id: Mapped[str | None] = mapped_column(String(40))
    paused_at: Mapped[datetime | None] = mapped_column(Timestamp)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    canceled_at: Mapped[datetime | None] = mapped_column(Timestamp)
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Usage before this moment is invoiced already (set when a cancel or plan change closes
    # the usage period mid-period; a renewal's boundary is current_period_start itself).
    usage_billed_until: Mapped[datetime | None] = mapped_column(Timestamp)
    default_tax_rates: Mapped[list[str]] = mapped_column(TaxRateIds, server_default=NO_IDS)
    created_at: Mapped[datetime] = mapped_column(Timestamp)

    @property
    def livemode(self) -> bool:
        return self.test_clock_id is None

    @property
    def discount(self) -> Discount | None:
        """The running discount, as the use case that loaded the subscription read it
        (`show_discount`; Repository.get loads it with the row); not a column."""
        found: Discount | None = getattr(self, "_discount", None)
        return found if found is not None and found.ended_at is None else None

    def show_discount(self, discount: Discount | None) -> None:
        self._discount = discount


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"]),
        ForeignKeyConstraint(["tenant_id", "subscription_id"], ["subscriptions.tenant_id", "subscriptions.id"]),
        ForeignKeyConstraint(["tenant_id", "test_clock_id"], ["test_clocks.tenant_id", "test_clocks.id"]),
        # Two kinds of gap-free sequence: the tenant's legal one, and one per test clock.
        Index("uq_invoices_number", "tenant_id", "number", unique=True, postgresql_where=text("test_clock_id IS NULL")),
        Index(
            "uq_invoices_test_clock_number",
            "tenant_id",
            "test_clock_id",
            "number",
            unique=True,
            postgresql_where=text("test_clock_id IS NOT NULL"),
        ),
        CheckConstraint("status IN ('draft', 'open', 'paid', 'void', 'uncollectible')", name="status_known"),
        CheckConstraint(
            "billing_reason IN ('subscription_create', 'subscription_cycle', 'subscription_update')",
            name="billing_reason_known",
        ),
        CheckConstraint(f"currency {CURRENCY_CHECK}", name="currency_format"),
        CheckConstraint("period_end > period_start", name="period_nonempty"),
        CheckConstraint("number >= 1", name="number_positive"),
        money_check("subtotal", signed=True),
        money_check("total", signed=True),
        money_check("amount_due"),
        money_check("amount_paid"),
        money_check("total_discount", signed=True),
        money_check("tax", signed=True),
        money_check("inclusive_tax", signed=True),
        # The totals pipeline (shared.domain.invoice_totals): subtotal - discounts + exclusive tax.
        # (total_excluding_tax is total - tax.)
        CheckConstraint("total = subtotal - total_discount + tax - inclusive_tax", name="total_from_subtotal"),
        CheckConstraint("customer_tax_exempt IN ('none', 'exempt', 'reverse')", name="customer_tax_exempt_known"),
        CheckConstraint("customer_tax_exempt = 'none' OR tax = 0", name="exempt_pays_no_tax"),
        money_check("starting_balance", signed=True),
        money_check("ending_balance", signed=True),
        # Stripe's customer balance: credit (negative) pays the invoice; a negative total is credit.
        # ...less what pre-payment credit notes took off it (shared.domain.credit_notes).
        CheckConstraint(
            "amount_due = GREATEST(total + starting_balance, 0) - pre_payment_credit_notes_amount",
            name="amount_due_from_balance",
        ),
        money_check("pre_payment_credit_notes_amount"),
        money_check("post_payment_credit_notes_amount"),
        # Never more credited than invoiced, whatever the concurrency.
        CheckConstraint(
            "pre_payment_credit_notes_amount + post_payment_credit_notes_amount <= GREATEST(total, 0)",
            name="credited_within_total",
        ),
        CheckConstraint("ending_balance = LEAST(total + starting_balance, 0)", name="ending_balance_from_total"),
        CheckConstraint("amount_paid <= amount_due", name="not_overpaid"),
        CheckConstraint("status <> 'paid' OR amount_paid = amount_due", name="paid_in_full"),
        # Exactly one cycle invoice per subscription period, whoever races to create it.
        Index(
            "uq_invoices_one_per_period",
            "tenant_id",
            "subscription_id",
            "period_start",
            unique=True,
            postgresql_where=text(f"billing_reason IN {in_list(CYCLE_REASONS)}"),
        ),
        Index(None, "tenant_id", "customer_id", "id"),
        Index(None, "tenant_id", "subscription_id", "id"),
        Index(None, "tenant_id", "status", "id"),
        # Dunning: a subscription's unpaid invoices, oldest due first.
        Index(
            "ix_invoices_unpaid_by_subscription",
            "tenant_id",
            "subscription_id",
            "due_at",
            postgresql_where=text("status = 'open' AND amount_due > amount_paid"),
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[str] = mapped_column(String(40))
    subscription_id: Mapped[str | None] = mapped_column(String(40))
    # Copied from the customer: set, the invoice is simulated and numbered in the clock's sequence.
    test_clock_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    billing_reason: Mapped[str] = mapped_column(String(24))
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[datetime] = mapped_column(Timestamp)
    period_end: Mapped[datetime] = mapped_column(Timestamp)
    subtotal: Mapped[int] = mapped_column(Money)
    total: Mapped[int] = mapped_column(Money)
    # shared.domain.invoice_totals: discounts and taxes, with their breakdowns (JSON lists of
    # {discount, amount} and {tax_rate, amount, inclusive, taxable_amount}).
    total_discount: Mapped[int] = mapped_column(Money, server_default=text("0"))
    tax: Mapped[int] = mapped_column(Money, server_default=text("0"))  # inclusive and exclusive
    inclusive_tax: Mapped[int] = mapped_column(Money, server_default=text("0"))
    total_discount_amounts: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    total_tax_amounts: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    customer_tax_exempt: Mapped[str] = mapped_column(String(8), server_default=text("'none'"))
    amount_due: Mapped[int] = mapped_column(Money)
    amount_paid: Mapped[int] = mapped_column(Money, server_default=text("0"))
    # The customer's balance in the invoice's currency before and after it (negative: credit).
    starting_balance: Mapped[int] = mapped_column(Money, server_default=text("0"))
    ending_balance: Mapped[int] = mapped_column(Money, server_default=text("0"))
    # What the invoice's credit notes (not void) took off amount_due (open invoices), and
    # credited, refunded or settled out of band (paid invoices).
    pre_payment_credit_notes_amount: Mapped[int] = mapped_column(Money, server_default=text("0"))
    post_payment_credit_notes_amount: Mapped[int] = mapped_column(Money, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    due_at: Mapped[datetime | None] = mapped_column(Timestamp)
    finalized_at: Mapped[datetime | None] = mapped_column(Timestamp)
    paid_at: Mapped[datetime | None] = mapped_column(Timestamp)
    voided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    marked_uncollectible_at: Mapped[datetime | None] = mapped_column(Timestamp)

    @property
    def livemode(self) -> bool:
        return self.test_clock_id is None

    @property
    def total_excluding_tax(self) -> int:
        return self.total - self.tax

    @property
    def tax_note(self) -> str | None:
        return tax_note(TaxExempt(self.customer_tax_exempt))

    lines: Mapped[list[InvoiceLine]] = relationship(order_by="InvoiceLine.position", lazy="raise", passive_deletes=True)


class InvoiceLine(LineColumns, Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "invoice_id", "position"),
        *line_checks(),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)
    proration: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    discount_amounts: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    tax_amounts: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))


class InvoiceItem(LineColumns, Base):
    """A pending charge or credit (proration) waiting for the subscription's next invoice."""

    __tablename__ = "invoice_items"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"]),
        ForeignKeyConstraint(["tenant_id", "subscription_id"], ["subscriptions.tenant_id", "subscriptions.id"]),
        ForeignKeyConstraint(["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"]),
        *line_checks(),
        Index(
            "ix_invoice_items_pending",
            "tenant_id",
            "subscription_id",
            postgresql_where=text("invoice_id IS NULL"),
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40))
    subscription_id: Mapped[str] = mapped_column(String(40))
    invoice_id: Mapped[str | None] = mapped_column(String(40))
    proration: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class CustomerBalance(Base):
    """A customer's balance in one currency (negative: credit owed to the customer): the sum of
    its ledger, kept by the one statement that appends to the ledger. Its row lock serializes
    everything that reads the balance to apply it."""

    __tablename__ = "customer_balances"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"]),
        money_check("balance", signed=True),
        CheckConstraint(f"currency {CURRENCY_CHECK}", name="currency_format"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    balance: Mapped[int] = mapped_column(Money)


class BalanceTransaction(Base):
    """The customer balance's append-only ledger: rows are never updated or deleted (but with
    their test clock's simulation)."""

    __tablename__ = "balance_transactions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"]),
        ForeignKeyConstraint(["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"]),
        money_check("amount", signed=True),
        CheckConstraint("amount <> 0", name="amount_nonzero"),
        CheckConstraint(f"currency {CURRENCY_CHECK}", name="currency_format"),
        CheckConstraint(
            "type IN ('proration_credit', 'invoice_applied', 'credit_note', 'adjustment')", name="type_known"
        ),
        CheckConstraint(
            "(type IN ('proration_credit', 'invoice_applied')) = (invoice_id IS NOT NULL)", name="invoice_when_invoiced"
        ),
        # Deferred: a credit note's ledger row is appended before the note itself, whose number
        # is taken in the transaction's last statement (the sequence's lock is held the least).
        ForeignKeyConstraint(
            ["tenant_id", "credit_note_id"],
            ["credit_notes.tenant_id", "credit_notes.id"],
            deferrable=True,
            initially="DEFERRED",
        ),
        CheckConstraint("(type = 'credit_note') = (credit_note_id IS NOT NULL)", name="credit_note_when_credited"),
        Index(None, "tenant_id", "customer_id", "id"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    type: Mapped[str] = mapped_column(String(24))
    invoice_id: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    credit_note_id: Mapped[str | None] = mapped_column(String(40))


class CreditNote(Base):
    """A correction of an issued invoice (shared.domain.credit_notes): written once, only its
    status (issued -> void) ever changes."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"]),
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"]),
        ForeignKeyConstraint(["tenant_id", "test_clock_id"], ["test_clocks.tenant_id", "test_clocks.id"]),
        # Gap-free like invoice numbers: the tenant's legal sequence, and one per test clock.
        Index(
            "uq_credit_notes_number", "tenant_id", "number", unique=True, postgresql_where=text("test_clock_id IS NULL")
        ),
        Index(
            "uq_credit_notes_test_clock_number",
            "tenant_id",
            "test_clock_id",
            "number",
            unique=True,
            postgresql_where=text("test_clock_id IS NOT NULL"),
        ),
        Index(None, "tenant_id", "invoice_id", "id"),
        Index(None, "tenant_id", "customer_id", "id"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("status IN ('issued', 'void')", name="status_known"),
        CheckConstraint("(status = 'void') = (voided_at IS NOT NULL)", name="void_has_voided_at"),
        CheckConstraint("type IN ('pre_payment', 'post_payment')", name="type_known"),
        CheckConstraint(
            "reason IN ('duplicate', 'fraudulent', 'order_change', 'product_unsatisfactory')", name="reason_known"
        ),
        CheckConstraint(f"currency {CURRENCY_CHECK}", name="currency_format"),
        money_check("subtotal"),
        money_check("discount_amount"),
        money_check("tax"),
        money_check("inclusive_tax"),
        money_check("total"),
        money_check("pre_payment_amount"),
        money_check("credit_amount"),
        money_check("refund_amount"),
        money_check("out_of_band_amount"),
        CheckConstraint("total > 0", name="total_positive"),
        CheckConstraint("total = subtotal - discount_amount + tax - inclusive_tax", name="total_from_subtotal"),
        CheckConstraint(
            "pre_payment_amount + credit_amount + refund_amount + out_of_band_amount = total", name="split_is_total"
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger)
    invoice_id: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str] = mapped_column(String(40))
    test_clock_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(8))
    type: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    memo: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(Money)  # the credited line amounts (as the lines list them)
    discount_amount: Mapped[int] = mapped_column(Money)
    tax: Mapped[int] = mapped_column(Money)  # inclusive and exclusive
    inclusive_tax: Mapped[int] = mapped_column(Money)
    total: Mapped[int] = mapped_column(Money)
    discount_amounts: Mapped[list[Any]] = mapped_column(JSONB)
    tax_amounts: Mapped[list[Any]] = mapped_column(JSONB)
    pre_payment_amount: Mapped[int] = mapped_column(Money)  # taken off the open invoice's amount_due
    credit_amount: Mapped[int] = mapped_column(Money)  # credited to the customer balance
    refund_amount: Mapped[int] = mapped_column(Money)  # refunded (recorded: no payment processor)
    out_of_band_amount: Mapped[int] = mapped_column(Money)  # settled outside this system
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    voided_at: Mapped[datetime | None] = mapped_column(Timestamp)

    @property
    def livemode(self) -> bool:
        return self.test_clock_id is None

    @property
    def total_excluding_tax(self) -> int:
        return self.total - self.tax

    @property
    def amount(self) -> int:
        return self.total

    @property
    def post_payment_amount(self) -> int:
        return self.credit_amount + self.refund_amount + self.out_of_band_amount

    lines: Mapped[list[CreditNoteLine]] = relationship(
        order_by="CreditNoteLine.position", lazy="raise", passive_deletes=True
    )


class CreditNoteLine(Base):
    """What a credit note credits of one invoice line, with the discount and taxes it reverses."""

    __tablename__ = "credit_note_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "credit_note_id"], ["credit_notes.tenant_id", "credit_notes.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "invoice_line_id"], ["invoice_lines.tenant_id", "invoice_lines.id"]),
        UniqueConstraint("tenant_id", "credit_note_id", "position"),
        Index(None, "tenant_id", "invoice_line_id"),
        money_check("amount"),
        money_check("discount_amount"),
        money_check("tax"),
        money_check("inclusive_tax"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    credit_note_id: Mapped[str] = mapped_column(String(40))
    invoice_line_id: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(Money)  # the credited part of the line's amount
    discount_amount: Mapped[int] = mapped_column(Money)
    tax: Mapped[int] = mapped_column(Money)
    inclusive_tax: Mapped[int] = mapped_column(Money)
    discount_amounts: Mapped[list[Any]] = mapped_column(JSONB)
    tax_amounts: Mapped[list[Any]] = mapped_column(JSONB)


class TaxRate(Base):
    """A tax rate. Its percentage and inclusive flag never change (invoices refer to it)."""

    __tablename__ = "tax_rates"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        CheckConstraint("percentage BETWEEN 0 AND 100", name="percentage_range"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(Text)
    percentage: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    inclusive: Mapped[bool] = mapped_column(Boolean)
    jurisdiction: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class Coupon(Base):
    """A discount's terms. Deleted coupons stay (valid = false): their discounts keep running."""

    __tablename__ = "coupons"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        CheckConstraint("(percent_off IS NULL) <> (amount_off IS NULL)", name="percent_or_amount"),
        CheckConstraint("percent_off > 0 AND percent_off <= 100", name="percent_off_range"),
        CheckConstraint(f"amount_off BETWEEN 1 AND {MAX_AMOUNT}", name="amount_off_range"),
        CheckConstraint("(amount_off IS NULL) = (currency IS NULL)", name="amount_off_has_currency"),
        CheckConstraint(f"currency {CURRENCY_CHECK}", name="currency_format"),
        CheckConstraint("duration IN ('once', 'repeating', 'forever')", name="duration_known"),
        CheckConstraint(
            "(duration = 'repeating') = (duration_in_periods IS NOT NULL) AND duration_in_periods >= 1",
            name="repeating_has_periods",
        ),
        CheckConstraint("max_redemptions >= 1", name="max_redemptions_positive"),
        # Redemptions are counted by a conditional UPDATE; this holds them even against a bug.
        CheckConstraint("times_redeemed >= 0 AND times_redeemed <= max_redemptions", name="redemptions_within_max"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    percent_off: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    amount_off: Mapped[int | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    duration: Mapped[str] = mapped_column(String(16))
    duration_in_periods: Mapped[int | None] = mapped_column(Integer)
    max_redemptions: Mapped[int | None] = mapped_column(Integer)
    times_redeemed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    redeem_by: Mapped[datetime | None] = mapped_column(Timestamp)
    applies_to_plans: Mapped[list[str] | None] = mapped_column(ARRAY(String(40)))
    valid: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    deleted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class PromotionCode(Base):
    """A customer-facing code for a coupon: unique per tenant regardless of case."""

    __tablename__ = "promotion_codes"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "coupon_id"], ["coupons.tenant_id", "coupons.id"]),
        Index("uq_promotion_codes_code", "tenant_id", text("lower(code)"), unique=True),
        CheckConstraint("max_redemptions >= 1", name="max_redemptions_positive"),
        CheckConstraint("times_redeemed >= 0 AND times_redeemed <= max_redemptions", name="redemptions_within_max"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    coupon_id: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    max_redemptions: Mapped[int | None] = mapped_column(Integer)
    times_redeemed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    first_time_transaction: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class Discount(Base):
    """A coupon applied to a subscription; at most one running per subscription."""

    __tablename__ = "discounts"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "subscription_id"], ["subscriptions.tenant_id", "subscriptions.id"]),
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"]),
        ForeignKeyConstraint(["tenant_id", "coupon_id"], ["coupons.tenant_id", "coupons.id"]),
        ForeignKeyConstraint(["tenant_id", "promotion_code_id"], ["promotion_codes.tenant_id", "promotion_codes.id"]),
        CheckConstraint("periods_left >= 0", name="periods_left_nonnegative"),
        Index(
            "uq_discounts_one_per_subscription",
            "tenant_id",
            "subscription_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str] = mapped_column(String(40))
    coupon_id: Mapped[str] = mapped_column(String(64))
    promotion_code_id: Mapped[str | None] = mapped_column(String(40))
    # Billing periods it still discounts (None: forever); shared.domain.discounts.
    periods_left: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)


class IdempotencyKey(Base):
    """A client's Idempotency-Key and the response its first request got (Stripe's model)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        CheckConstraint("state IN ('in_progress', 'done')", name="state_known"),
        CheckConstraint("state <> 'done' OR response_status IS NOT NULL", name="done_has_response"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of method, path and body
    state: Mapped[str] = mapped_column(String(16))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class Event(Base):
    """The outbox: one row per state change, written in the transaction that made the change.

    `seq` is a global identity. Every writer of an object holds that object's row lock (or
    created it) while it inserts the object's event, so for any one object the events' seq
    increase in commit order: consumers order an object's events by seq."""

    __tablename__ = "events"
    __table_args__ = (
        # No foreign key to tenants: the append-only outbox is written by tenant-scoped
        # actions, and the key's check cost a lookup and a lock per event.
        UniqueConstraint("seq"),
        Index(None, "tenant_id", "object_id", "seq"),
        # CloudEvents to K_SINK still to send (NULL: sent).
        Index("ix_events_sink_due", "sink_due_at", postgresql_where=text("sink_due_at IS NOT NULL")),
        CheckConstraint("(data IS NULL) <> (data_event IS NULL)", name="data_once"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(40))
    # {object, previous_attributes?}, stored once per object and write: an object's other
    # events of the same write (a renewed invoice's created, finalized, paid) hold NULL and
    # name in `data_event` the event that stores it, their object's last event of that write
    # (so pruning oldest-first along seq never leaves one without it). Read `data`.
    stored_data: Mapped[dict[str, Any] | None] = mapped_column("data", JSONB)
    data_event: Mapped[str | None] = mapped_column(String(40))
    request_id: Mapped[str | None] = mapped_column(String(128))
    api_key_id: Mapped[str | None] = mapped_column(String(40))
    renewal_run: Mapped[str | None] = mapped_column(String(40))
    test_clock_id: Mapped[str | None] = mapped_column(String(40))
    created: Mapped[datetime] = mapped_column(Timestamp)  # business time (the object's clock)
    recorded_at: Mapped[datetime] = mapped_column(Timestamp, server_default=text("now()"))  # real time: retention
    sink_due_at: Mapped[datetime | None] = mapped_column(Timestamp, server_default=text("now()"))
    sink_attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))

    if TYPE_CHECKING:
        data: dict[str, Any]  # mapped below: the payload, stored here or on `data_event`

    @property
    def livemode(self) -> bool:
        return self.test_clock_id is None


_PAYLOAD_HOLDER = Event.__table__.alias("payload_holder")
# The event's payload as every reader sees it (the ORM's; the dispatcher's SQL: EVENT_DATA).
Event.data = column_property(  # type: ignore[assignment]
    func.coalesce(
        Event.__table__.c.data,
        select(_PAYLOAD_HOLDER.c.data)
        .where(
            _PAYLOAD_HOLDER.c.tenant_id == Event.__table__.c.tenant_id,
            _PAYLOAD_HOLDER.c.id == Event.__table__.c.data_event,
        )
        .scalar_subquery(),
        type_=JSONB,
    )
)


class EventNotice(Base):
    """A notice event emitted once per object (subscription.trial_will_end,
    invoice.payment_overdue): the renewal run inserts the row and writes the event in one
    transaction, so however often runs see the object, the event is written once. Not
    pruned with the events, so retention never makes a notice due again."""

    __tablename__ = "event_notices"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(64), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(40), primary_key=True)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        CheckConstraint("status IN ('enabled', 'disabled')", name="status_known"),
        Index("ix_webhook_endpoints_enabled", "tenant_id", postgresql_where=text("status = 'enabled'")),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    enabled_events: Mapped[list[str]] = mapped_column(ARRAY(Text))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'enabled'"))
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(80))
    # After a rotation the old secret keeps signing alongside the new one until this time.
    previous_secret: Mapped[str | None] = mapped_column(String(80))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    failing_since: Mapped[datetime | None] = mapped_column(Timestamp)  # first failure of the current streak
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class WebhookDelivery(Base):
    """One event to one endpoint: attempted until delivered or failed for good."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "endpoint_id"], ["webhook_endpoints.tenant_id", "webhook_endpoints.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "event_id"], ["events.tenant_id", "events.id"], ondelete="CASCADE"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
        Index(None, "tenant_id", "endpoint_id", "id"),
        Index(None, "tenant_id", "event_id"),
        # The dispatcher's claim: due attempts across all tenants.
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Pending: when the next attempt is due (while one is in flight: when its lease ends).
    next_attempt_at: Mapped[datetime | None] = mapped_column(Timestamp, server_default=text("now()"))
    last_attempt_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
    last_response_body: Mapped[str | None] = mapped_column(Text)  # truncated to 2 KiB
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=text("now()"))
    delivered_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Meter(Base):
    """What usage events of one kind add up to in a period. The aggregation never changes."""

    __tablename__ = "meters"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("aggregation IN ('count', 'sum', 'max', 'unique_count', 'latest')", name="aggregation_known"),
        CheckConstraint("aggregation = 'count' OR value_property IS NOT NULL", name="value_property_given"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(Text)
    aggregation: Mapped[str] = mapped_column(String(16))
    value_property: Mapped[str | None] = mapped_column(String(100))
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    archived_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class UsageEventId(Base):
    """Deduplication of usage events: one row per (tenant, client's event id), across every
    partition of usage_events (whose unique keys must include the partition key, the time).
    Written in the same transaction as the event; the fingerprint tells a resend of the same
    event (duplicate) from a different event under a used id (conflict)."""

    __tablename__ = "usage_event_ids"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),)

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(40))
    timestamp: Mapped[datetime] = mapped_column(Timestamp)


class UsageEvent(Base):
    """Raw usage, range-partitioned by time (monthly partitions in schema usage_partitions,
    created ahead by the periodic job, plus a default one so no insert fails). The primary
    key leads with (tenant, customer, meter, time): the aggregation per customer, meter and
    period is one index range scan. No foreign keys: ingestion checks the customer and
    meter in the statement that inserts (and keeps inserts cheap)."""

    __tablename__ = "usage_events"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "customer_id", "meter_id", "timestamp", "id"),
        {"postgresql_partition_by": 'RANGE ("timestamp")'},
    )

    tenant_id: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str] = mapped_column(String(40))
    meter_id: Mapped[str] = mapped_column(String(40))
    timestamp: Mapped[datetime] = mapped_column(Timestamp)
    id: Mapped[str] = mapped_column(String(255))
    value: Mapped[Any] = mapped_column(Numeric, nullable=True)  # the meter's value_property (sum, max, latest)
    unique_value: Mapped[str | None] = mapped_column(Text)  # unique_count's value, as text
    counted: Mapped[bool] = mapped_column(Boolean)  # False: the meter's filters did not match
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(Timestamp)
