"""Tenant-scoped data access: every query is filtered by the tenant, so a cross-tenant
read cannot be written by accident, and another tenant's object is simply 'not found'.

Services reach the database only through a Repository (one tenant) or the Directory
(the few lookups that precede knowing the tenant: API keys by hash, tenants by name).
tests/api/test_tenant_scoping.py checks every statement of the API stories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, delete, exists, func, select, text, union_all, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from shared.db.tables import (
    ApiKey,
    BalanceTransaction,
    Base,
    Coupon,
    CreditNote,
    CreditNoteLine,
    Customer,
    CustomerBalance,
    Discount,
    Event,
    IdempotencyKey,
    Invoice,
    InvoiceItem,
    InvoiceLine,
    Meter,
    Plan,
    PromotionCode,
    Subscription,
    TaxRate,
    Tenant,
    TestClock,
    UsageEvent,
    UsageEventId,
    WebhookDelivery,
    WebhookEndpoint,
)
from shared.domain.api_keys import Grant
from shared.domain.discounts import Discount as DomainDiscount
from shared.domain.errors import NotFound
from shared.domain.invoices import InvoiceStatus

Row = TypeVar("Row", bound=Base)


@dataclass(frozen=True)
class Page(Generic[Row]):
    data: Sequence[Row]
    has_more: bool


def _eager(model: type[Base], stmt: Select[Any]) -> Select[Any]:
    if model is Invoice:
        return stmt.options(selectinload(Invoice.lines))
    if model is CreditNote:
        return stmt.options(selectinload(CreditNote.lines))
    return stmt


class Repository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self.tenant_id = tenant_id

    async def flush(self) -> None:
        await self._session.flush()

    def add(self, row: Base) -> None:
        if getattr(row, "tenant_id", self.tenant_id) != self.tenant_id:
            raise ValueError("row belongs to another tenant")
        self._session.add(row)

    async def delete(self, row: Base) -> None:
        if getattr(row, "tenant_id", self.tenant_id) != self.tenant_id:
            raise ValueError("row belongs to another tenant")
        await self._session.delete(row)
        await self._session.flush()

    async def get(self, model: type[Row], id: str, *, for_update: bool = False) -> Row:
        if model is Subscription:
            return await self._subscription(id, for_update=for_update)  # type: ignore[return-value]
        stmt = select(model).where(model.tenant_id == self.tenant_id, model.id == id)  # type: ignore[attr-defined]
        if for_update:
            stmt = _eager(model, stmt).with_for_update()
        elif model is Invoice:
            # One round trip: the invoice and its lines in one SELECT (a LEFT JOIN on the
            # lines' (tenant_id, invoice_id) key), not a second SELECT for the lines.
            stmt = stmt.options(joinedload(Invoice.lines))
        elif model is CreditNote:
            stmt = stmt.options(joinedload(CreditNote.lines))
        row = (await self._session.execute(stmt)).unique().scalar_one_or_none()
        if row is None:
            raise NotFound(f"no such {model.__name__.lower()}: '{id}'", field="id")
        return row

    async def _subscription(self, id: str, *, for_update: bool) -> Subscription:
        """The subscription with its running discount (shown on it), in one SELECT (a LEFT
        JOIN on the one-running-discount index); only the subscription row is locked."""
        stmt = (
            select(Subscription, Discount)
            .outerjoin(
                Discount,
                (Discount.tenant_id == Subscription.tenant_id)
                & (Discount.subscription_id == Subscription.id)
                & Discount.ended_at.is_(None),
            )
            .where(Subscription.tenant_id == self.tenant_id, Subscription.id == id)
        )
        if for_update:
            stmt = stmt.with_for_update(of=Subscription)
        found = (await self._session.execute(stmt)).one_or_none()
        if found is None:
            raise NotFound(f"no such subscription: '{id}'", field="id")
        subscription, discount = found
        subscription.show_discount(discount)
        return subscription

    async def page(
        self,
        model: type[Row],
        *,
        limit: int,
        starting_after: str | None = None,
        **filters: Any,
    ) -> Page[Row]:
        """Newest first. Ids are time-sortable, so the cursor is just the last id seen."""
        stmt = select(model).where(model.tenant_id == self.tenant_id)  # type: ignore[attr-defined]
        for name, value in filters.items():
            if value is not None:
                stmt = stmt.where(getattr(model, name) == value)
        if starting_after is not None:
            await self._cursor_exists(model, starting_after)
            stmt = stmt.where(model.id < starting_after)  # type: ignore[attr-defined]
        stmt = _eager(model, stmt.order_by(model.id.desc()).limit(limit + 1))  # type: ignore[attr-defined]
        rows = (await self._session.execute(stmt)).scalars().all()
        return Page(data=rows[:limit], has_more=len(rows) > limit)

    async def _cursor_exists(self, model: type[Row], cursor: str) -> None:
        """A cursor must be one of this tenant's objects of this kind: an unknown or foreign
        id would otherwise page silently from an arbitrary point."""
        stmt = select(model.id).where(model.tenant_id == self.tenant_id, model.id == cursor)  # type: ignore[attr-defined]
        if (await self._session.execute(stmt)).first() is None:
            raise NotFound(f"starting_after: no such {model.__name__.lower()}: '{cursor}'", field="starting_after")

    async def get_tenant(self, *, for_update: bool = False) -> Tenant:
        stmt = select(Tenant).where(Tenant.id == self.tenant_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self._session.execute(stmt)).scalar_one()

    async def tenant_exists(self) -> bool:
        return await self._session.get(Tenant, self.tenant_id) is not None

    # Subscriptions and invoices

    async def billing_terms(self, customer_id: str) -> Any:
        """The customer's test clock (its invoices' numbering sequence) and the tenant's
        payment terms: a row with test_clock_id, days_until_due, grace_period_days."""
        stmt = (
            select(Customer.test_clock_id, Tenant.days_until_due, Tenant.grace_period_days)
            .join(Tenant, Tenant.id == Customer.tenant_id)
            .where(Customer.tenant_id == self.tenant_id, Customer.id == customer_id)
        )
        return (await self._session.execute(stmt)).one()

    async def pending_items(self, subscription_id: str) -> list[InvoiceItem]:
        """Items waiting for the subscription's next invoice, oldest first."""
        stmt = (
            select(InvoiceItem)
            .where(
                InvoiceItem.tenant_id == self.tenant_id,
                InvoiceItem.subscription_id == subscription_id,
                InvoiceItem.invoice_id.is_(None),
            )
            .order_by(InvoiceItem.id)
        )
        return list((await self._session.execute(stmt)).scalars().all())

    async def billed_items(self, subscription_id: str, start: datetime, end: datetime) -> list[Any]:
        """What was billed for any part of [start, end): the subscription's invoice lines (a
        void invoice billed nothing) and its pending items, in one statement. Rows of
        (amount, period_start, period_end)."""
        lines = (
            select(InvoiceLine.amount, InvoiceLine.period_start, InvoiceLine.period_end)
            .join(Invoice, (Invoice.tenant_id == InvoiceLine.tenant_id) & (Invoice.id == InvoiceLine.invoice_id))
            .where(
                Invoice.tenant_id == self.tenant_id,
                InvoiceLine.tenant_id == self.tenant_id,
                Invoice.subscription_id == subscription_id,
                Invoice.status != InvoiceStatus.VOID,
                InvoiceLine.period_end > start,
                InvoiceLine.period_start < end,
            )
        )
        items = select(InvoiceItem.amount, InvoiceItem.period_start, InvoiceItem.period_end).where(
            InvoiceItem.tenant_id == self.tenant_id,
            InvoiceItem.subscription_id == subscription_id,
            InvoiceItem.invoice_id.is_(None),
            InvoiceItem.period_end > start,
            InvoiceItem.period_start < end,
        )
        return list((await self._session.execute(union_all(lines, items))).all())

    async def subscription_of_invoice(self, invoice_id: str) -> str | None:
        """The invoice's subscription id, read without loading (or locking) the invoice."""
        stmt = select(Invoice.subscription_id).where(Invoice.tenant_id == self.tenant_id, Invoice.id == invoice_id)
        found = (await self._session.execute(stmt)).one_or_none()
        return None if found is None else found[0]

    async def credited_lines(self, invoice_id: str) -> list[CreditNoteLine]:
        """The lines of the invoice's credit notes that are not void (what they credited)."""
        stmt = (
            select(CreditNoteLine)
            .join(
                CreditNote,
                (CreditNote.tenant_id == CreditNoteLine.tenant_id) & (CreditNote.id == CreditNoteLine.credit_note_id),
            )
            .where(
                CreditNote.tenant_id == self.tenant_id,
                CreditNoteLine.tenant_id == self.tenant_id,
                CreditNote.invoice_id == invoice_id,
                CreditNote.status == "issued",
            )
        )
        return list((await self._session.execute(stmt)).scalars().all())

    async def invoice_of_credit_note(self, credit_note_id: str) -> str:
        """The credit note's invoice id, read without loading (or locking) the note."""
        stmt = select(CreditNote.invoice_id).where(
            CreditNote.tenant_id == self.tenant_id, CreditNote.id == credit_note_id
        )
        found = (await self._session.execute(stmt)).one_or_none()
        if found is None:
            raise NotFound(f"no such credit note: '{credit_note_id}'", field="id")
        return str(found[0])

    async def refunded(self, invoice_id: str) -> int:
        """What the invoice's credit notes (not void) refunded."""
        stmt = select(func.coalesce(func.sum(CreditNote.refund_amount), 0)).where(
            CreditNote.tenant_id == self.tenant_id, CreditNote.invoice_id == invoice_id, CreditNote.status == "issued"
        )
        return int((await self._session.execute(stmt)).scalar_one())

    async def has_overdue(self, subscription_id: str, now: datetime) -> bool:
        stmt = select(
            exists().where(
                Invoice.tenant_id == self.tenant_id,
                Invoice.subscription_id == subscription_id,
                Invoice.status == InvoiceStatus.OPEN,
                Invoice.amount_due > Invoice.amount_paid,
                Invoice.due_at < now,
            )
        )
        return bool((await self._session.execute(stmt)).scalar())

    # Usage

    async def newest_subscription(self, customer_id: str) -> Subscription | None:
        stmt = (
            select(Subscription)
            .where(Subscription.tenant_id == self.tenant_id, Subscription.customer_id == customer_id)
            .order_by(Subscription.id.desc())
            .limit(1)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def meters(self, codes: Sequence[str] | None = None) -> list[Meter]:
        """The tenant's meters (or those with these codes), by code."""
        stmt = select(Meter).where(Meter.tenant_id == self.tenant_id)
        if codes is not None:
            stmt = stmt.where(Meter.code.in_(list(codes)))
        return list((await self._session.execute(stmt.order_by(Meter.code))).scalars().all())

    # Customer balances

    async def balance(self, customer_id: str, currency: str) -> int:
        """The customer's balance in `currency` as committed (0 if none), read without a lock."""
        stmt = select(CustomerBalance.balance).where(
            CustomerBalance.tenant_id == self.tenant_id,
            CustomerBalance.customer_id == customer_id,
            CustomerBalance.currency == currency,
        )
        return (await self._session.execute(stmt)).scalar_one_or_none() or 0

    async def balances(self, customer_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Each customer's balances by currency (customers without any: absent)."""
        stmt = (
            select(CustomerBalance.customer_id, CustomerBalance.currency, CustomerBalance.balance)
            .where(CustomerBalance.tenant_id == self.tenant_id, CustomerBalance.customer_id.in_(customer_ids))
            .order_by(CustomerBalance.customer_id, CustomerBalance.currency)
        )
        found: dict[str, dict[str, int]] = {}
        for customer_id, currency, balance in (await self._session.execute(stmt)).all():
            found.setdefault(customer_id, {})[currency] = balance
        return found

    # Tax rates and discounts

    async def tax_rates(self, ids: Sequence[str]) -> dict[str, TaxRate]:
        if not ids:
            return {}
        stmt = select(TaxRate).where(TaxRate.tenant_id == self.tenant_id, TaxRate.id.in_(list(ids)))
        return {r.id: r for r in (await self._session.execute(stmt)).scalars().all()}

    async def tax_context(self, customer_id: str, subscription_id: str | None) -> Any:
        """What decides an invoice's tax rates: a row with tenant_rates, customer_rates,
        tax_exempt, plan_rates and subscription_rates (the last two empty without a
        subscription)."""
        stmt = (
            select(
                Tenant.default_tax_rates.label("tenant_rates"),
                Customer.default_tax_rates.label("customer_rates"),
                Customer.tax_exempt,
                func.coalesce(Plan.default_tax_rates, text("'{}'::varchar[]")).label("plan_rates"),
                func.coalesce(Subscription.default_tax_rates, text("'{}'::varchar[]")).label("subscription_rates"),
            )
            .join(Tenant, Tenant.id == Customer.tenant_id)
            .outerjoin(
                Subscription,
                (Subscription.tenant_id == Customer.tenant_id)
                & (Subscription.id == subscription_id)
                & (Subscription.customer_id == Customer.id),
            )
            .outerjoin(Plan, (Plan.tenant_id == Subscription.tenant_id) & (Plan.id == Subscription.plan_id))
            .where(Customer.tenant_id == self.tenant_id, Customer.id == customer_id)
        )
        return (await self._session.execute(stmt)).one()

    async def redeem(self, model: type[Coupon] | type[PromotionCode], id: str) -> bool:
        """Count one redemption unless the limit is reached: one conditional UPDATE, so
        concurrent redemptions are counted exactly (the row lock serializes them)."""
        stmt = (
            update(model)
            .where(
                model.tenant_id == self.tenant_id,
                model.id == id,
                (model.max_redemptions.is_(None)) | (model.times_redeemed < model.max_redemptions),
            )
            .values(times_redeemed=model.times_redeemed + 1)
            .returning(model.times_redeemed)
        )
        return (await self._session.execute(stmt)).first() is not None

    async def running_discount(self, subscription_id: str) -> tuple[Discount, Coupon] | None:
        stmt = (
            select(Discount, Coupon)
            .join(Coupon, (Coupon.tenant_id == Discount.tenant_id) & (Coupon.id == Discount.coupon_id))
            .where(
                Discount.tenant_id == self.tenant_id,
                Discount.subscription_id == subscription_id,
                Discount.ended_at.is_(None),
            )
        )
        found = (await self._session.execute(stmt)).one_or_none()
        return None if found is None else (found[0], found[1])

    async def loaded(self, model: type[Row], id: str) -> Row:
        """A row this unit of work loaded or added already (no statement then)."""
        row = await self._session.get(model, (self.tenant_id, id))
        if row is None:
            raise NotFound(f"no such {model.__name__.lower()}: '{id}'", field="id")
        return row

    async def use_discount_period(self, discount: DomainDiscount, now: datetime) -> None:
        """Store what is left of a discount after an invoice used a period of it (ended when
        nothing is)."""
        await self._session.execute(
            update(Discount)
            .where(Discount.tenant_id == self.tenant_id, Discount.id == discount.id)
            .values(periods_left=discount.periods_left, ended_at=None if discount.active else now)
        )

    async def promotion_code_named(self, code: str) -> PromotionCode | None:
        stmt = select(PromotionCode).where(
            PromotionCode.tenant_id == self.tenant_id, func.lower(PromotionCode.code) == code.lower()
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def has_invoices(self, customer_id: str) -> bool:
        stmt = select(exists().where(Invoice.tenant_id == self.tenant_id, Invoice.customer_id == customer_id))
        return bool((await self._session.execute(stmt)).scalar())

    # Test clocks

    async def test_clock_for_write(self, test_clock_id: str) -> TestClock:
        """The clock row, fresh and key-share locked until commit: an advance (FOR UPDATE)
        cannot start under a write that read the clock's time."""
        stmt = (
            select(TestClock)
            .where(TestClock.tenant_id == self.tenant_id, TestClock.id == test_clock_id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
        return (await self._session.execute(stmt)).scalar_one()

    async def lock_test_clock_customers(self, test_clock_id: str) -> None:
        of_clock = (Customer.tenant_id == self.tenant_id) & (Customer.test_clock_id == test_clock_id)
        await self._session.execute(select(Customer.id).where(of_clock).order_by(Customer.id).with_for_update())

    async def locked_test_clock(self, test_clock_id: str) -> TestClock | None:
        """The clock row, fresh and locked FOR UPDATE; None if it is gone."""
        stmt = (
            select(TestClock)
            .where(TestClock.tenant_id == self.tenant_id, TestClock.id == test_clock_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def delete_test_clock_simulation(self, test_clock_id: str) -> None:
        """The clock, its customers and everything of theirs: one statement per table,
        children first. Every statement goes through the clock's customers."""
        of_clock = (Customer.tenant_id == self.tenant_id) & (Customer.test_clock_id == test_clock_id)
        customers = select(Customer.id).where(of_clock).scalar_subquery()
        # invoice lines go with their invoice (cascade)
        for model in (
            UsageEventId,
            UsageEvent,
            BalanceTransaction,
            CreditNote,
            CustomerBalance,
            Discount,
            InvoiceItem,
            Invoice,
            Subscription,
        ):
            await self._session.execute(
                delete(model).where(model.tenant_id == self.tenant_id, model.customer_id.in_(customers))
            )
        await self._session.execute(delete(Customer).where(of_clock))
        await self._session.execute(
            delete(TestClock).where(TestClock.tenant_id == self.tenant_id, TestClock.id == test_clock_id)
        )

    # Events and webhook deliveries

    async def events_page(
        self,
        *,
        limit: int,
        starting_after: str | None,
        type_pattern: str | None,
        created_gte: datetime | None,
        created_lt: datetime | None,
        object_id: str | None,
    ) -> Page[Event]:
        """Newest first; `type_pattern` may hold '*' wildcards."""
        stmt = select(Event).where(Event.tenant_id == self.tenant_id)
        if type_pattern is not None:
            like = type_pattern.replace("_", "\\_").replace("*", "%")
            stmt = stmt.where(Event.type.like(like))
        if created_gte is not None:
            stmt = stmt.where(Event.created >= created_gte)
        if created_lt is not None:
            stmt = stmt.where(Event.created < created_lt)
        if object_id is not None:
            stmt = stmt.where(Event.object_id == object_id)
        if starting_after is not None:
            await self._cursor_exists(Event, starting_after)
            stmt = stmt.where(Event.id < starting_after)
        rows = (await self._session.execute(stmt.order_by(Event.id.desc()).limit(limit + 1))).scalars().all()
        return Page(data=rows[:limit], has_more=len(rows) > limit)

    async def replay_events(self, endpoint: WebhookEndpoint, gte: datetime, lt: datetime, limit: int) -> int:
        """New deliveries to `endpoint` of the events created in [gte, lt) that it
        subscribes to (at most `limit`, oldest first); how many."""
        result = await self._session.execute(
            text(
                """
                INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, event_id)
                SELECT ev.tenant_id, 'whd_' || substr(ev.id, 5) || substr(md5(random()::text), 1, 8), :endpoint, ev.id
                FROM (SELECT tenant_id, id, type FROM events
                      WHERE tenant_id = :tenant AND created >= :gte AND created < :lt
                      ORDER BY seq LIMIT :limit) ev
                WHERE EXISTS (SELECT 1 FROM unnest(CAST(:patterns AS text[])) p
                              WHERE ev.type LIKE replace(replace(p, '_', '\\_'), '*', '%'))
                """
            ),
            dict(
                tenant=self.tenant_id,
                endpoint=endpoint.id,
                gte=gte,
                lt=lt,
                limit=limit,
                patterns=list(endpoint.enabled_events),
            ),
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def fail_pending_deliveries(self, endpoint_id: str, reason: str) -> None:
        await self._session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.tenant_id == self.tenant_id,
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.status == "pending",
            )
            .values(status="failed", next_attempt_at=None, last_error=reason)
        )

    # Idempotency keys

    def _key(self, key: str) -> Select[tuple[IdempotencyKey]]:
        return select(IdempotencyKey).where(IdempotencyKey.tenant_id == self.tenant_id, IdempotencyKey.key == key)

    async def bound_lock_waits(self, milliseconds: int | None) -> None:
        """Bound this transaction's lock waits (None: back to the server's default)."""
        if milliseconds is None:
            await self._session.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
        else:
            await self._session.execute(select(func.set_config("lock_timeout", f"{milliseconds}ms", True)))

    async def insert_idempotency_key(self, key: str, fingerprint: str, now: datetime) -> bool:
        """Insert the key in progress; False if it exists already."""
        inserted = await self._session.execute(
            insert(IdempotencyKey)
            .values(tenant_id=self.tenant_id, key=key, fingerprint=fingerprint, state="in_progress", created_at=now)
            .on_conflict_do_nothing()
            .returning(IdempotencyKey.key)
        )
        return inserted.first() is not None

    async def idempotency_key(self, key: str, *, for_update: bool = False) -> IdempotencyKey | None:
        stmt = self._key(key)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def finish_idempotency_key(self, key: str, status: int, body: str) -> None:
        await self._session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.tenant_id == self.tenant_id, IdempotencyKey.key == key)
            .values(state="done", response_status=status, response_body=body)
        )

    async def store_idempotency_key(
        self, key: str, fingerprint: str, now: datetime, expired_before: datetime, status: int, body: str
    ) -> bool:
        """Write a done key unless a live one (created after `expired_before`) is there;
        True if written."""
        values = dict(fingerprint=fingerprint, state="done", response_status=status, response_body=body, created_at=now)
        statement = insert(IdempotencyKey).values(tenant_id=self.tenant_id, key=key, **values)
        written = await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[IdempotencyKey.tenant_id, IdempotencyKey.key],
                set_=values,
                where=IdempotencyKey.created_at <= expired_before,
            ).returning(IdempotencyKey.key)
        )
        return written.first() is not None


class Directory:
    """The lookups that come before a tenant is known, so they span tenants by design:
    an API key by its hash, tenants by name, and the one bootstrap key."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def grant(self, key_hash: str) -> Grant | None:
        """The active key with this hash (expired ones included: the caller knows the time)."""
        stmt = select(ApiKey.tenant_id, ApiKey.id, ApiKey.scope, ApiKey.expires_at).where(
            ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None)
        )
        found = (await self._session.execute(stmt)).one_or_none()
        return None if found is None else Grant(*found)

    async def key_owner(self, key_hash: str) -> str | None:
        """The tenant of the key with this hash, revoked or not."""
        stmt = select(ApiKey.tenant_id).where(ApiKey.key_hash == key_hash)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def tenant_named(self, name: str) -> str | None:
        """The oldest tenant whose name equals `name` regardless of case (the unique index
        is on lower(name))."""
        stmt = select(Tenant.id).where(func.lower(Tenant.name) == name.lower()).order_by(Tenant.id).limit(1)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def bootstrap_tenant(self) -> str | None:
        """The tenant of the newest bootstrap key, if any."""
        stmt = select(ApiKey.tenant_id).where(ApiKey.bootstrap).order_by(ApiKey.created_at.desc()).limit(1)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def revoke_bootstrap_keys(self, now: datetime) -> None:
        await self._session.execute(
            update(ApiKey).where(ApiKey.bootstrap, ApiKey.revoked_at.is_(None)).values(revoked_at=now)
        )

    def add(self, row: Tenant) -> None:
        self._session.add(row)
