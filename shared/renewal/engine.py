"""Batch renewal: claim a batch of subscriptions (FOR UPDATE SKIP LOCKED), play each one
forward with the pure rules of shared.domain.renewal, draft its invoices with
shared.domain.invoices.next_invoice, write the new states and (through
shared.db.invoice_writer, the one invoice writer) the invoices with one set-based
statement per table, commit, repeat.

Exactly once: a period is invoiced only by the transaction holding its subscription's
row lock, the claim re-checks "period ended" under that lock, and the database's unique
index on (tenant, subscription, period_start) refuses a second cycle invoice whatever
happens. A run killed mid-batch loses only its uncommitted batch; a rerun continues.

Bounded memory: a batch builds at most `invoice_budget` invoices (a subscription far
behind, e.g. a test clock moved by centuries, stops at its share and stays due, so the
next batch continues it from the state it was left in).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import failpoints, metrics
from shared.db.balances import lock_balances
from shared.db.invoice_writer import Written, record_issued, write_invoices
from shared.domain.discounts import Discount
from shared.domain.invoices import (
    Billed,
    InvoiceDraft,
    LineDraft,
    PendingItem,
    next_invoices,
    renewal_totals,
    with_balances,
)
from shared.domain.money import percent_units
from shared.domain.periods import Cadence, Interval
from shared.domain.renewal import State, Terms, advance
from shared.domain.subscriptions import SubscriptionStatus
from shared.domain.taxes import TaxExempt, TaxRate, most_specific
from shared.renewal import sql

log = logging.getLogger("billing.renewal")

DEFAULT_BATCH = 1000
# Most invoices one batch builds in memory: each subscription in a batch of n may issue
# budget // n of them (at least one); one stopped there stays due for the next batch.
DEFAULT_INVOICE_BUDGET = 5000
DEFAULT_WORKERS = 2  # connections draining at once; SKIP LOCKED gives them disjoint batches
_RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError, asyncpg.UniqueViolationError)


@dataclass(frozen=True)
class Scope:
    """Which subscriptions a run may touch: real time (no test clock) or one test clock's,
    for every tenant or one."""

    tenant_id: str | None = None
    test_clock_id: str | None = None


@dataclass
class Report:
    as_of: datetime
    renewed: int = 0  # subscriptions that entered at least one new period
    invoices_created: int = 0
    ended: int = 0  # subscriptions canceled in this run (pending cancel or dunning)
    past_due: int = 0  # subscriptions that became past_due
    batches: int = 0
    max_batch_invoices: int = 0  # the most invoices one committed batch issued (<= the budget)
    complete: bool = True  # False if the run was told to stop with work left
    due_at_start: int = 0
    lag_seconds: float = 0.0  # age of the oldest due-but-unrenewed period at the start
    duration_seconds: float = 0.0
    invoiced: Counter[str] = field(default_factory=Counter)  # amount per currency, minor units


Progress = Callable[[int], None]


@dataclass
class _Batch:
    """What one batch did, counted into the report and metrics only once it committed."""

    written: list[Written] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)  # new statuses
    renewed: int = 0
    ended: int = 0
    past_due: int = 0
    finished: int = 0  # subscriptions no longer due (not stopped at their invoice cap)

    def count_into(self, report: Report) -> None:
        report.max_batch_invoices = max(report.max_batch_invoices, len(self.written))
        report.renewed += self.renewed
        report.ended += self.ended
        report.past_due += self.past_due
        report.invoices_created += len(self.written)
        for invoice in self.written:
            report.invoiced[invoice.draft.currency] += invoice.draft.amount_due
        record_issued(self.written)
        metrics.renewed.add(self.renewed)
        metrics.ended.add(self.ended)
        for status, count in self.statuses.items():
            metrics.transition(status, count)


def _billed(row: asyncpg.Record, rates: dict[tuple[str, str], TaxRate], discount: Discount | None) -> Billed:
    rate_ids = most_specific(
        row["subscription_tax_rates"], row["plan_tax_rates"], row["customer_tax_rates"], row["tenant_tax_rates"]
    )
    return Billed(
        customer_id=row["customer_id"],
        subscription_id=row["id"],
        test_clock_id=row["test_clock_id"],
        plan_id=row["plan_id"],
        plan_name=row["plan_name"],
        plan_code=row["plan_code"],
        amount=row["amount"],
        currency=row["currency"],
        discount=discount,
        tax_rates=tuple(rates[(row["tenant_id"], i)] for i in rate_ids if (row["tenant_id"], i) in rates),
        tax_exempt=TaxExempt(row["tax_exempt"]),
    )


async def _pricing(
    conn: asyncpg.Connection, rows: list[asyncpg.Record]
) -> tuple[dict[tuple[str, str], TaxRate], dict[tuple[str, str], Discount]]:
    """The batch's tax rates by (tenant, id) and running discounts by (tenant, subscription):
    one query each (none for a batch without any)."""
    wanted = {
        (r["tenant_id"], rate_id)
        for r in rows
        for rate_id in (
            *r["subscription_tax_rates"],
            *r["plan_tax_rates"],
            *r["customer_tax_rates"],
            *r["tenant_tax_rates"],
        )
    }
    rates = {}
    if wanted:
        tenants, ids = zip(*sorted(wanted))
        for rate in await conn.fetch(sql.TAX_RATES, list(tenants), list(ids)):
            rates[(rate["tenant_id"], rate["id"])] = TaxRate(
                rate["id"], percent_units(rate["percentage"]), rate["inclusive"]
            )
    discounts = {}
    found = await conn.fetch(sql.RUNNING_DISCOUNTS, [r["tenant_id"] for r in rows], [r["id"] for r in rows])
    for d in found:
        discounts[(d["tenant_id"], d["subscription_id"])] = Discount.of(
            d["id"],
            d["coupon_id"],
            d["percent_off"],
            d["amount_off"],
            d["currency"],
            d["applies_to_plans"],
            d["periods_left"],
        )
    return rates, discounts


def _pending_item(row: asyncpg.Record) -> PendingItem:
    line = LineDraft(
        row["description"], row["amount"], row["period_start"], row["period_end"], row["plan_id"], row["proration"]
    )
    return PendingItem(row["id"], line)


def _state(row: asyncpg.Record) -> State:
    return State(
        status=SubscriptionStatus(row["status"]),
        anchor=row["billing_cycle_anchor"],
        cycle=row["cycle"],
        period_start=row["current_period_start"],
        period_end=row["current_period_end"],
        cancel_at_period_end=row["cancel_at_period_end"],
    )


def _terms(row: asyncpg.Record) -> Terms:
    return Terms(
        cadence=Cadence(Interval(row["interval"]), row["interval_count"]),
        amount=row["amount"],
        days_until_due=row["days_until_due"],
        grace_days=row["grace_period_days"],
    )


def cap_per_subscription(rows: int, invoice_budget: int) -> int:
    return max(1, invoice_budget // max(1, rows))


async def _process(
    conn: asyncpg.Connection,
    rows: list[asyncpg.Record],
    as_of: datetime,
    batch: _Batch,
    invoice_budget: int = DEFAULT_INVOICE_BUDGET,
) -> None:
    cap = cap_per_subscription(len(rows), invoice_budget)
    keys = [(r["tenant_id"], r["id"]) for r in rows]
    pending: dict[tuple[str, str], list[PendingItem]] = defaultdict(list)
    if rows:
        for item in await conn.fetch(sql.PENDING_ITEMS, [k[0] for k in keys], [k[1] for k in keys]):
            pending[(item["tenant_id"], item["subscription_id"])].append(_pending_item(item))
    # The customers' balances in their plans' currencies, locked to the commit: credit is
    # applied to the batch's invoices in order, each seeing what the ones before left.
    balances = await lock_balances(conn, [(r["tenant_id"], r["customer_id"], r["currency"]) for r in rows])
    rates, discounts = await _pricing(conn, rows)
    used_discounts = []

    drafts: list[tuple[str, InvoiceDraft]] = []
    changes = []
    dunned = []
    for row in rows:
        items = pending.get((row["tenant_id"], row["id"]), [])
        balance_key = (row["tenant_id"], row["customer_id"], row["currency"])
        balance = balances.get(balance_key, 0)
        discount = discounts.get((row["tenant_id"], row["id"]))
        billed = _billed(row, rates, discount)
        outcome = advance(
            _state(row),
            _terms(row),
            as_of,
            oldest_unpaid_due=row["oldest_unpaid_due"],
            pending_total=sum(i.line.amount for i in items),
            max_invoices=cap,
            balance=balance,
            invoice_total=renewal_totals(billed, items) if discount or billed.tax_rates else None,
        )
        drafted, discount_left = next_invoices(billed, outcome.invoices, items)
        applied, after = with_balances(drafted, {(billed.customer_id, billed.currency): balance})
        if discount is not None and discount_left != discount and discount_left is not None:
            ended = outcome.invoices[-1].created_at
            used_discounts.append((row["tenant_id"], discount.id, discount_left.periods_left, ended))
        balances[balance_key] = after[(billed.customer_id, billed.currency)]
        drafts += [(row["tenant_id"], draft) for draft in applied]
        s = outcome.state
        changes.append(
            (
                row["tenant_id"],
                row["id"],
                s.status.value,
                s.cycle,
                s.period_start,
                s.period_end,
                s.cancel_at_period_end,
                s.ended_at,
            )
        )
        # A capped subscription is counted when its last batch finishes it.
        batch.renewed += bool(outcome.invoices) and not outcome.capped
        batch.finished += not outcome.capped
        batch.ended += outcome.ended
        batch.past_due += s.status is SubscriptionStatus.PAST_DUE and row["status"] != "past_due"
        if s.status.value != row["status"]:
            batch.statuses[s.status.value] += 1
        if outcome.dunned:
            dunned.append((row["tenant_id"], row["id"], s.ended_at))

    # Subscriptions first: their rows are already ours (claimed), so this takes no shared
    # lock. The numbering rows are then held only for the inserts and commit.
    if changes:
        await conn.execute(sql.UPDATE_SUBSCRIPTIONS, *map(list, zip(*changes)))
    batch.written = await write_invoices(conn, drafts)
    if used_discounts:
        await conn.execute(sql.UPDATE_DISCOUNTS, *map(list, zip(*used_discounts)))
    if dunned:
        await conn.execute(sql.MARK_UNCOLLECTIBLE, *map(list, zip(*dunned)))


async def _drain(
    conn: asyncpg.Connection,
    claim: str,
    scope: Scope,
    as_of: datetime,
    batch_size: int,
    report: Report,
    progress: Progress | None,
    invoice_budget: int,
    should_stop: Callable[[], bool] | None,
) -> None:
    """Claim, process and commit batches until nothing claimable is left (or told to stop
    between batches: what is committed stays, and the next run continues)."""
    while True:
        if should_stop is not None and should_stop():
            report.complete = False
            return
        for attempt in range(5):
            batch = _Batch()
            try:
                async with conn.transaction():
                    rows = await conn.fetch(claim, as_of, scope.tenant_id, scope.test_clock_id, batch_size)
                    if rows:
                        await _process(conn, rows, as_of, batch, invoice_budget)
                failpoints.hit(failpoints.COMMITTED)
                batch.count_into(report)
                break
            except _RETRYABLE as error:  # another writer won a race: the batch rolled back whole
                log.warning("renewal batch retried after %s (attempt %d)", type(error).__name__, attempt + 1)
        else:
            raise RuntimeError("renewal batch kept conflicting; giving up this run")
        if not rows:
            return
        report.batches += 1
        if progress is not None:
            progress(batch.finished)


async def left_to_do(engine: AsyncEngine, scope: Scope, as_of: datetime) -> int:
    """How many subscriptions of `scope` still have something due as of `as_of`, counting
    rows other transactions hold (which the claims skip); reads only, never waits."""
    statement = sql.LEFT_TO_DO["real_time" if scope.test_clock_id is None else "test_clock"]
    async with engine.connect() as sa_conn:
        raw = await sa_conn.get_raw_connection()
        return await raw.driver_connection.fetchval(statement, as_of, scope.tenant_id, scope.test_clock_id)  # type: ignore[union-attr]


async def renew(
    engine: AsyncEngine,
    scope: Scope,
    as_of: datetime,
    *,
    batch_size: int = DEFAULT_BATCH,
    workers: int = DEFAULT_WORKERS,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    invoice_budget: int = DEFAULT_INVOICE_BUDGET,
    should_stop: Callable[[], bool] | None = None,
) -> Report:
    """Renew everything in `scope` that is due as of `as_of`; return what was done.
    `workers` connections drain the due subscriptions at once: one's Python work overlaps
    another's database work, and PostgreSQL gets more than one core. Each batch builds at
    most `invoice_budget` invoices; `should_stop` is asked between batches."""
    started = time.perf_counter()
    report = Report(as_of=as_of)
    claim_due, claim_dunning, due_summary = sql.STATEMENTS["real_time" if scope.test_clock_id is None else "test_clock"]

    async def drain(claim: str, progress: Progress | None) -> None:
        async with engine.connect() as sa_conn:
            raw = await sa_conn.get_raw_connection()
            await _drain(
                raw.driver_connection, claim, scope, as_of, batch_size, report, progress, invoice_budget, should_stop
            )

    async with engine.connect() as sa_conn:
        raw = await sa_conn.get_raw_connection()
        summary = await raw.driver_connection.fetchrow(due_summary, as_of, scope.tenant_id, scope.test_clock_id)  # type: ignore[union-attr]
    report.due_at_start, oldest = summary["due"], summary["oldest"]
    report.lag_seconds = max((as_of - oldest).total_seconds(), 0.0) if oldest else 0.0
    if on_start is not None:
        on_start(report.due_at_start)
    await asyncio.gather(*(drain(claim_due, progress) for _ in range(max(1, workers))))
    if report.complete:
        await drain(claim_dunning, None)
    report.duration_seconds = time.perf_counter() - started
    metrics.renewal_runs.record(
        report.duration_seconds, {"scope": "test_clock" if scope.test_clock_id else "real_time"}
    )
    if scope.test_clock_id is None:  # a simulated clock's lag says nothing about production
        metrics.renewal_lag.set(report.lag_seconds)
    log.info(
        "renewal run as of %s: %d renewed, %d invoices, %d ended, %d past due in %.3fs",
        as_of.isoformat(),
        report.renewed,
        report.invoices_created,
        report.ended,
        report.past_due,
        report.duration_seconds,
        extra={
            "event": "renewal_run",
            "as_of": as_of.isoformat(),
            "renewed": report.renewed,
            "invoices_created": report.invoices_created,
            "ended": report.ended,
            "past_due": report.past_due,
            "duration_seconds": round(report.duration_seconds, 3),
            "lag_seconds": round(report.lag_seconds, 3),
        },
    )
    return report
