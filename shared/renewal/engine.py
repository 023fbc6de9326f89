"""Batch renewal: claim a batch of subscriptions (FOR UPDATE SKIP LOCKED), play each one
forward with the pure rules of shared.domain.renewal, draft its invoices with
shared.domain.invoices.next_invoice, write the new states and (through
shared.db.invoice_writer, the one invoice writer) the invoices with one set-based
statement per table, commit, repeat.

Exactly once: a period is invoiced only by the transaction holding its subscription's
row lock, the claim re-checks "period ended" under that lock, and the database's unique
index on (tenant, subscription, period_start) refuses a second cycle invoice whatever
happens. A run killed mid-batch loses only its uncommitted batch; a rerun continues.

Failure isolation: a subscription whose invoice cannot be written (e.g. pending items that
push the total out of the money range) is skipped: its drafts are checked before the
set-based write, and if the batch write fails anyway the batch is redone with one savepoint
per subscription. A skipped subscription is left untouched (claimable again by the next
run, where it is skipped again), reported in the run's `failed` count and ids and counted
by `billing.renewal.failures`; the run never claims it twice, so it blocks nobody.

Numbering: a batch's invoices are numbered in date order (created_at, then subscription
and period), so a catch-up's numbers follow its invoices' dates, still gap-free.

Bounded memory: a batch builds at most `invoice_budget` invoices (a subscription far
behind, e.g. a test clock moved by centuries, stops at its share and stays due, so the
next batch continues it from the state it was left in).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import InitVar, dataclass, field, replace
from datetime import datetime
from typing import ParamSpec, TypeVar

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import failpoints, metrics
from shared.db import usage_store
from shared.db.balances import lock_balances
from shared.db.invoice_writer import Written, record_issued, write_invoices
from shared.domain.discounts import Discount
from shared.domain.errors import DomainError
from shared.domain.ids import new_id
from shared.domain.invoices import (
    Billed,
    InvoiceDraft,
    LineDraft,
    PendingItem,
    final_invoice,
    next_invoice,
    renewal_totals,
    usage_period,
    with_balances,
)
from shared.domain.money import percent_units
from shared.domain.periods import Cadence, Interval, Period
from shared.domain.renewal import Outcome, State, Terms, advance
from shared.domain.subscriptions import SubscriptionStatus
from shared.domain.taxes import TaxExempt, TaxRate, most_specific
from shared.domain.usage_pricing import UsageCharge, plan_charges, usage_lines
from shared.renewal import sql
from shared.renewal.events import RUN, write_batch_events, write_notices
from shared.renewal.statistics import RunStatistics

log = logging.getLogger("billing.renewal")

DEFAULT_BATCH = 1000
# Most invoices one batch builds in memory: each subscription in a batch of n may issue
# budget // n of them (at least one); one stopped there stays due for the next batch.
DEFAULT_INVOICE_BUDGET = 5000
DEFAULT_WORKERS = 2  # connections draining at once; SKIP LOCKED gives them disjoint batches
_RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError, asyncpg.UniqueViolationError)
# What one subscription's bad data can make a batch fail with: a write the database refuses,
# or stored terms the domain refuses to price. Redo the batch row by row, skip that one.
_ISOLATABLE = (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError, DomainError)
MAX_REPORTED_FAILURES = 100  # ids listed in a run's report (the count is always exact)


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
    failed: int = 0  # subscriptions skipped because their invoices could not be written
    failed_ids: list[str] = field(default_factory=list)  # every one of them (the reply lists the first 100)

    @property
    def failed_subscriptions(self) -> list[str]:
        return self.failed_ids[:MAX_REPORTED_FAILURES]


Progress = Callable[[int], None]

# A batch allocates tens of thousands of short-lived containers (records, drafts, lines) that
# form no cycles: at the default threshold (700 allocations) the cyclic collector runs
# hundreds of times per batch, and its older-generation passes walk everything alive, about a
# quarter of a run's client CPU. During runs it waits for 50,000 (reference counting still
# frees everything at once); the threshold is back when the last concurrent run ends.
_RUN_GC_THRESHOLD = 50_000
_runs_in_process = 0
_saved_threshold: tuple[int, int, int] = (700, 10, 10)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _fewer_collections(run: Callable[_P, Awaitable[_R]]) -> Callable[_P, Awaitable[_R]]:
    @functools.wraps(run)
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        global _runs_in_process, _saved_threshold
        if _runs_in_process == 0:
            _saved_threshold = gc.get_threshold()
            gc.set_threshold(max(_RUN_GC_THRESHOLD, _saved_threshold[0]), *_saved_threshold[1:])
        _runs_in_process += 1
        try:
            return await run(*args, **kwargs)
        finally:
            _runs_in_process -= 1
            if _runs_in_process == 0:
                gc.set_threshold(*_saved_threshold)

    return wrapper


@dataclass
class _Batch:
    """What one batch did, counted into the report and metrics only once it committed."""

    written: list[Written] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)  # new statuses
    renewed: int = 0
    ended: int = 0
    past_due: int = 0
    finished: int = 0  # subscriptions no longer due (not stopped at their invoice cap)
    failed: list[str] = field(default_factory=list)  # subscription ids skipped

    def merge(self, other: _Batch) -> None:
        self.written += other.written
        self.statuses.update(other.statuses)
        self.renewed += other.renewed
        self.ended += other.ended
        self.past_due += other.past_due
        self.finished += other.finished
        self.failed += other.failed

    def count_into(self, report: Report) -> None:
        # Two workers of one run may both skip the same subscription: a claim sent while the
        # other's batch was committing cannot exclude it yet. Count each one once per run.
        new = [sid for sid in dict.fromkeys(self.failed) if sid not in report.failed_ids]
        report.failed += len(new)
        report.failed_ids += new
        if new:
            metrics.renewal_failures.add(len(new))
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
    return PendingItem(row["id"], line, row["created_at"])


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


def _last_action(row: asyncpg.Record, items: list[PendingItem]) -> datetime:
    """The latest moment a request acted on the subscription, as far as its rows tell: its
    current period's start (a resume re-anchors there), its newest open invoice, its newest
    pending item. No dunning cancel is dated before it."""
    moments = [row["current_period_start"], *(i.created_at for i in items if i.created_at is not None)]
    if row["last_open_invoice_at"] is not None:
        moments.append(row["last_open_invoice_at"])
    return max(moments)


def cap_per_subscription(rows: int, invoice_budget: int) -> int:
    return max(1, invoice_budget // max(1, rows))


@dataclass
class _Usage:
    """A batch's usage billed in arrears: the usage periods its invoices bill (each cycle
    invoice the period before it, a final invoice the last period up to the end), measured
    for the whole batch by ONE statement (shared.db.usage_store.quantities) and priced."""

    charges: dict[tuple[str, str], tuple[UsageCharge, ...]] = field(default_factory=dict)
    measured: dict[usage_store.Window, usage_store.Quantity | None] = field(default_factory=dict)
    priced: dict[tuple[str, str, Period], tuple[list[LineDraft], int]] = field(default_factory=dict)

    def charges_of(self, row: asyncpg.Record) -> tuple[UsageCharge, ...]:
        key = (row["tenant_id"], row["plan_id"])
        if key not in self.charges:
            self.charges[key] = plan_charges(row["usage_charges"])
        return self.charges[key]

    def periods(self, row: asyncpg.Record, outcome: Outcome) -> tuple[list[Period | None], Period | None]:
        """The usage period each of the outcome's cycle invoices bills, and the final
        invoice's if the subscription ended (at period end or by dunning)."""
        if not self.charges_of(row):
            return [None] * len(outcome.invoices), None
        status = SubscriptionStatus(row["status"])
        current = Period(row["current_period_start"], row["current_period_end"])
        cycles: list[Period | None] = []
        previous: Period | None = None
        for index, new in enumerate(outcome.invoices):
            cycles.append(usage_period(status, current, row["usage_billed_until"], index, previous))
            previous = new.period
        s = outcome.state
        final = None
        end = min(s.ended_at, s.period_end) if outcome.ended and s.ended_at is not None else None
        if end is not None and end > s.period_start:  # (a dunning cancel may end it as it starts)
            first = not outcome.invoices  # the period that was current, else the last one billed
            final = usage_period(
                status if first else SubscriptionStatus.ACTIVE,
                Period(s.period_start, end),
                row["usage_billed_until"] if first else None,
                0,
                None,
            )
        return cycles, final

    def windows(self, row: asyncpg.Record, periods: list[Period | None]) -> list[usage_store.Window]:
        return [
            usage_store.Window(row["tenant_id"], row["customer_id"], charge.meter, period.start, period.end)
            for period in periods
            if period is not None
            for charge in self.charges_of(row)
        ]

    async def measure(self, conn: asyncpg.Connection, windows: list[usage_store.Window]) -> None:
        """Measure the windows not measured yet, with one statement (none if there are none)."""
        wanted = list(dict.fromkeys(w for w in windows if w not in self.measured))
        if wanted:
            self.measured.update(zip(wanted, await usage_store.quantities(conn, wanted)))

    def lines(self, row: asyncpg.Record, period: Period | None) -> tuple[list[LineDraft], int]:
        """The usage lines of a measured period, and how many events they count (priced
        once per subscription and period)."""
        if period is None:
            return [], 0
        key = (row["tenant_id"], row["id"], period)
        if key not in self.priced:
            found = [self.measured[w] for w in self.windows(row, [period])]
            measured = [None if q is None else (q.meter_name, q.quantity) for q in found]
            events = sum(q.events for q in found if q is not None)
            self.priced[key] = (usage_lines(self.charges_of(row), measured, period, row["plan_id"]), events)
        return self.priced[key]


@dataclass
class _Played:
    """One subscription of a batch, played forward to the run's moment."""

    row: asyncpg.Record
    items: list[PendingItem]
    terms: Terms
    billed: Billed
    balance: int  # the customer's, in the plan's currency, as the batch locked it
    as_of: InitVar[datetime]
    cap: InitVar[int]
    outcome: Outcome = field(init=False)

    def __post_init__(self, as_of: datetime, cap: int) -> None:
        self.play(as_of, cap)

    def play(self, as_of: datetime, cap: int, usage: Sequence[Sequence[LineDraft]] = ()) -> Outcome:
        """`advance` to `as_of`; `usage`: the usage lines of its invoices, when measured."""
        row, billed, items = self.row, self.billed, self.items
        priced = billed.discount is not None or billed.tax_rates or any(usage)
        self.outcome = advance(
            _state(row),
            self.terms,
            as_of,
            oldest_unpaid_due=row["oldest_unpaid_due"],
            pending_total=sum(i.line.amount for i in items),
            max_invoices=cap,
            not_before=_last_action(row, items),
            balance=self.balance,
            invoice_total=renewal_totals(billed, items, usage) if priced else None,
        )
        return self.outcome

    @property
    def balance_decides(self) -> bool:
        """Whether what its invoices come to can change which of them the balance pays (so
        its dunning dates): not when an invoice was unpaid before the run, nor when the
        run's first invoice already is (from there on, totals decide nothing)."""
        if self.row["oldest_unpaid_due"] is not None:
            return False
        invoices = self.outcome.invoices
        return bool(invoices) and self.outcome.unpaid_since != invoices[0].due_at


def _drafted(
    row: asyncpg.Record,
    billed: Billed,
    outcome: Outcome,
    items: list[PendingItem],
    usage: _Usage,
    days_until_due: int,
) -> tuple[list[InvoiceDraft], Discount | None]:
    """The subscription's invoices of this run, in order: each cycle invoice with the usage
    of the period before it (each using up one period of the discount), then the final
    invoice of an ended subscription (its last usage, pending prorations no invoice took);
    and the discount they leave."""
    cycles, final_period = usage.periods(row, outcome)
    drafts = []
    for new, period in zip(outcome.invoices, cycles):
        drafts.append(next_invoice(billed, new, items, usage.lines(row, period)[0]))
        if billed.discount is not None:
            billed = replace(billed, discount=billed.discount.after_new_period())
    s = outcome.state
    if outcome.ended and s.ended_at is not None:
        lines, events = usage.lines(row, final_period)
        carried = [] if any(new.includes_pending for new in outcome.invoices) else items
        final = final_invoice(billed, carried, s.ended_at, days_until_due, lines if events else ())
        drafts += [final] if final is not None else []
    return drafts, billed.discount


async def _process(
    conn: asyncpg.Connection,
    rows: list[asyncpg.Record],
    as_of: datetime,
    batch: _Batch,
    cap: int,
) -> None:
    keys = [(r["tenant_id"], r["id"]) for r in rows]
    pending: dict[tuple[str, str], list[PendingItem]] = defaultdict(list)
    if rows:
        for item in await conn.fetch(sql.PENDING_ITEMS, [k[0] for k in keys], [k[1] for k in keys]):
            pending[(item["tenant_id"], item["subscription_id"])].append(_pending_item(item))
    # The customers' balances in their plans' currencies, locked to the commit: credit is
    # applied to the batch's invoices in order, each seeing what the ones before left.
    balances = await lock_balances(conn, [(r["tenant_id"], r["customer_id"], r["currency"]) for r in rows])
    rates, discounts = await _pricing(conn, rows)

    usage = _Usage()
    played = []
    windows = []
    for row in rows:
        p = _Played(
            row,
            pending.get((row["tenant_id"], row["id"]), []),
            _terms(row),
            _billed(row, rates, discounts.get((row["tenant_id"], row["id"]))),
            balances.get((row["tenant_id"], row["customer_id"], row["currency"]), 0),
            as_of,
            cap,
        )
        cycles, final = usage.periods(row, p.outcome)
        windows += usage.windows(row, [*cycles, final])
        played.append(p)
    # Every usage period of the batch measured by one statement.
    await usage.measure(conn, windows)
    # The balance pays an invoice only if it covers its usage lines too: a subscription whose
    # usage can change that is played again with them (its invoices are then the first ones
    # of the first play: more to pay can only end it sooner), and an end that moved earlier
    # has its last usage period measured (one more statement for the batch, if any).
    windows = []
    for p in played:
        if not p.balance_decides:
            continue
        cycles, _ = usage.periods(p.row, p.outcome)
        lines = [usage.lines(p.row, period)[0] for period in cycles]
        if any(line.amount for charged in lines for line in charged):
            cycles, final = usage.periods(p.row, p.play(as_of, cap, lines))
            windows += usage.windows(p.row, [*cycles, final])
    await usage.measure(conn, windows)

    drafts: list[tuple[str, InvoiceDraft]] = []
    changes = []
    dunned = []
    used_discounts = []
    for p in played:
        row, billed, outcome, discount = p.row, p.billed, p.outcome, p.billed.discount
        balance_key = (row["tenant_id"], row["customer_id"], row["currency"])
        mine, discount_left = _drafted(row, billed, outcome, p.items, usage, p.terms.days_until_due)
        applied, after = with_balances(mine, {(billed.customer_id, billed.currency): balances.get(balance_key, 0)})
        if not all(draft.in_range for draft in applied):
            batch.failed.append(row["id"])  # skipped whole: no state change, no invoice
            continue
        balances[balance_key] = after[(billed.customer_id, billed.currency)]
        drafts += [(row["tenant_id"], draft) for draft in applied]
        if discount is not None and discount_left != discount and discount_left is not None:
            used_discounts.append(
                (row["tenant_id"], discount.id, discount_left.periods_left, outcome.invoices[-1].created_at)
            )
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
                s.anchor,  # re-anchored where the plan's cadence changed (shared.domain.periods)
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
    # Numbers follow dates within the batch (a catch-up bills many periods of many subscriptions).
    drafts.sort(key=lambda d: (d[1].created_at, d[1].subscription_id or "", d[1].period.start))
    batch.written = await write_invoices(conn, drafts)
    if used_discounts:
        await conn.execute(sql.UPDATE_DISCOUNTS, *map(list, zip(*used_discounts)))
    marked = await conn.fetch(sql.MARK_UNCOLLECTIBLE, *map(list, zip(*dunned))) if dunned else []
    # Events: one statement for the whole batch, rendered from the rows just written.
    await write_batch_events(conn, rows, changes, batch.written, marked, as_of)


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
    statistics: RunStatistics,
) -> None:
    """Claim, process and commit batches until nothing claimable is left (or told to stop
    between batches: what is committed stays, and the next run continues)."""
    while True:
        if should_stop is not None and should_stop():
            report.complete = False
            return
        isolate = False  # one savepoint per subscription, after a batch write failed
        for attempt in range(5):
            batch = _Batch()
            try:
                async with conn.transaction():
                    rows = await conn.fetch(
                        claim, as_of, scope.tenant_id, scope.test_clock_id, batch_size, report.failed_ids
                    )
                    cap = cap_per_subscription(len(rows), invoice_budget)
                    if rows and not isolate:
                        await _process(conn, rows, as_of, batch, cap)
                    for row in rows if isolate else []:
                        part = _Batch()
                        try:
                            async with conn.transaction():  # a savepoint
                                await _process(conn, [row], as_of, part, cap)
                        except _RETRYABLE:
                            raise
                        except _ISOLATABLE as error:
                            log.warning("renewal skipped subscription %s after %s", row["id"], type(error).__name__)
                            part = _Batch(failed=[row["id"]])
                        batch.merge(part)
                failpoints.hit(failpoints.COMMITTED)
                batch.count_into(report)
                break
            except _RETRYABLE as error:  # another writer won a race: the batch rolled back whole
                log.warning("renewal batch retried after %s (attempt %d)", type(error).__name__, attempt + 1)
            except _ISOLATABLE as error:
                if isolate:
                    raise
                log.warning("renewal batch failed with %s; redoing it one subscription at a time", type(error).__name__)
                isolate = True
        else:
            raise RuntimeError("renewal batch kept conflicting; giving up this run")
        if not rows:
            return
        await statistics.changed(conn, {"invoices": len(batch.written), "subscriptions": len(rows)})
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


@_fewer_collections
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
    RUN.set(new_id("run"))  # the events of this run name it (the drain tasks inherit it)
    claim_due, claim_dunning, due_summary = sql.STATEMENTS["real_time" if scope.test_clock_id is None else "test_clock"]
    statistics = RunStatistics()

    async def drain(claim: str, progress: Progress | None) -> None:
        async with engine.connect() as sa_conn:
            raw = await sa_conn.get_raw_connection()
            await _drain(
                raw.driver_connection,
                claim,
                scope,
                as_of,
                batch_size,
                report,
                progress,
                invoice_budget,
                should_stop,
                statistics,
            )

    async def notices(*types: str) -> None:
        async with engine.connect() as sa_conn:
            raw = await sa_conn.get_raw_connection()
            for type_ in types:
                await write_notices(
                    raw.driver_connection,
                    type_,
                    as_of,
                    scope.tenant_id,
                    scope.test_clock_id,
                    batch_size,
                )

    async with engine.connect() as sa_conn:
        raw = await sa_conn.get_raw_connection()
        summary = await raw.driver_connection.fetchrow(due_summary, as_of, scope.tenant_id, scope.test_clock_id)  # type: ignore[union-attr]
        await statistics.start(raw.driver_connection)
    report.due_at_start, oldest = summary["due"], summary["oldest"]
    report.lag_seconds = max((as_of - oldest).total_seconds(), 0.0) if oldest else 0.0
    if on_start is not None:
        on_start(report.due_at_start)
    # Notices first: a trial seen for the first time after its end still gets its
    # trial_will_end before the run's own events about it.
    await notices("subscription.trial_will_end", "invoice.payment_overdue")
    await asyncio.gather(*(drain(claim_due, progress) for _ in range(max(1, workers))))
    if report.complete:
        await notices("invoice.payment_overdue")  # invoices this run issued already past due
        await drain(claim_dunning, None)
    report.duration_seconds = time.perf_counter() - started
    metrics.renewal_runs.record(
        report.duration_seconds, {"scope": "test_clock" if scope.test_clock_id else "real_time"}
    )
    if scope.test_clock_id is None:  # a simulated clock's lag says nothing about production
        metrics.renewal_lag.set(report.lag_seconds)
    log.info(
        "renewal run as of %s: %d renewed, %d invoices, %d ended, %d past due, %d failed in %.3fs",
        as_of.isoformat(),
        report.renewed,
        report.invoices_created,
        report.ended,
        report.past_due,
        report.failed,
        report.duration_seconds,
        extra={
            "event": "renewal_run",
            "as_of": as_of.isoformat(),
            "renewed": report.renewed,
            "invoices_created": report.invoices_created,
            "ended": report.ended,
            "past_due": report.past_due,
            "failed": report.failed,
            "failed_subscriptions": report.failed_subscriptions,
            "duration_seconds": round(report.duration_seconds, 3),
            "lag_seconds": round(report.lag_seconds, 3),
        },
    )
    return report
