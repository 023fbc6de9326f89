"""Test-clock advances, run outside the request that asked for them.

An accepted advance leaves its clock `advancing` at the target time with no lease. A
worker claims one such clock whose lease is empty or ran out (a crashed worker's), in a
short transaction that sets `lease_until` in database time (leases are real time, not
business time); renews the clock's scope as of its time in the engine's bounded batches,
extending the lease as it goes; waits and retries while rows another transaction holds
(skipped by the claim's SKIP LOCKED) are still due; and only when nothing due is left
marks the clock `ready`, if it still holds the lease. Every step commits on its own, so
a crash anywhere loses at most one batch and the next worker continues.

Who runs workers: every process serving the advance operation (one advance at a time,
woken by its own accepted advances, polling for abandoned ones), and the scheduled
renewal CloudEvent (bounded in time), so advances finish even if the pod that accepted
them has scaled to zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.event_writer import PendingEvent, write_events
from shared.db.tables import TestClock
from shared.events.outbox import render
from shared.renewal.engine import DEFAULT_INVOICE_BUDGET, Report, Scope, left_to_do, renew

log = logging.getLogger("billing.clock_advances")

RETRY_SECONDS = 1.0  # between checks while another transaction holds one of the clock's rows
RETRY_ATTEMPTS = 30  # then the lease is handed back and a later poll tries again
MAX_PER_WAKE = 100  # advances one wake-up (or poll) of a process works through

# $1 = lease length in seconds.
CLAIM = """
UPDATE test_clocks c SET lease_until = now() + make_interval(secs => $1)
WHERE (c.tenant_id, c.id) = (
    SELECT tenant_id, id FROM test_clocks
    WHERE status = 'advancing' AND (lease_until IS NULL OR lease_until < now())
    ORDER BY lease_until NULLS FIRST
    LIMIT 1
    FOR NO KEY UPDATE SKIP LOCKED)
RETURNING c.tenant_id, c.id, c.frozen_time, c.lease_until
"""
# The lease's current end is the holder's token: $1 tenant, $2 clock, $3 token.
EXTEND = """
UPDATE test_clocks SET lease_until = now() + make_interval(secs => $4)
WHERE tenant_id = $1 AND id = $2 AND status = 'advancing' AND lease_until = $3
RETURNING lease_until
"""
FINISH = """
UPDATE test_clocks SET status = 'ready', lease_until = NULL
WHERE tenant_id = $1 AND id = $2 AND status = 'advancing' AND lease_until = $3
RETURNING *
"""
RELEASE = """
UPDATE test_clocks SET lease_until = NULL
WHERE tenant_id = $1 AND id = $2 AND status = 'advancing' AND lease_until = $3
"""


@dataclass
class AdvanceRun:
    """One worker's turn at one clock: the renewal runs it made and whether it finished."""

    tenant_id: str
    clock_id: str
    as_of: datetime
    reports: list[Report] = field(default_factory=list)
    finished: bool = False  # the clock is `ready`


async def _fetchval(engine: AsyncEngine, statement: str, *args: Any) -> Any:
    """One statement in its own short transaction, on a pooled connection held only for it."""
    async with engine.connect() as sa_conn:
        raw = await sa_conn.get_raw_connection()
        return await raw.driver_connection.fetchval(statement, *args)  # type: ignore[union-attr]


async def _finish(engine: AsyncEngine, tenant_id: str, clock_id: str, lease: datetime) -> bool:
    """Mark the clock ready and, in the same transaction, emit `test_clock.advanced` (the
    advance is finished: Stripe's `test_helpers.test_clock.ready`)."""
    async with engine.connect() as sa_conn:
        raw = await sa_conn.get_raw_connection()
        conn = raw.driver_connection
        async with conn.transaction():  # type: ignore[union-attr]
            row = await conn.fetchrow(FINISH, tenant_id, clock_id, lease)  # type: ignore[union-attr]
            if row is None:
                return False
            clock = TestClock(**dict(row.items()))
            await write_events(
                conn,
                [
                    PendingEvent(
                        tenant_id,
                        "test_clock.advanced",
                        clock_id,
                        clock.frozen_time,
                        object=render(clock),
                        test_clock_id=clock_id,
                    )
                ],
            )
        return True


async def _claim(engine: AsyncEngine, lease_seconds: int) -> Any:
    async with engine.connect() as sa_conn:
        raw = await sa_conn.get_raw_connection()
        return await raw.driver_connection.fetchrow(CLAIM, float(lease_seconds))  # type: ignore[union-attr]


async def advance_one(
    engine: AsyncEngine,
    *,
    lease_seconds: int,
    invoice_budget: int = DEFAULT_INVOICE_BUDGET,
    deadline: float | None = None,
    retry_seconds: float = RETRY_SECONDS,
) -> AdvanceRun | None:
    """Claim one advancing clock nobody holds and work on it until it is ready, the lease is
    lost, or `deadline` (time.monotonic()) passes; None if there was nothing to claim."""
    row = await _claim(engine, lease_seconds)
    if row is None:
        return None
    tenant_id, clock_id, as_of = row["tenant_id"], row["id"], row["frozen_time"]
    run = AdvanceRun(tenant_id, clock_id, as_of)
    scope = Scope(tenant_id=tenant_id, test_clock_id=clock_id)
    lease = row["lease_until"]
    lost = False

    async def heartbeat() -> None:
        nonlocal lease, lost
        while True:
            await asyncio.sleep(lease_seconds / 3)
            try:
                extended = await _fetchval(engine, EXTEND, tenant_id, clock_id, lease, float(lease_seconds))
            except Exception:  # a blip: the lease may still hold; the next beat tries again
                log.warning("could not extend the lease on test clock %s", clock_id, exc_info=True)
                continue
            if extended is None:
                log.warning("lost the lease on test clock %s; another worker continues", clock_id)
                lost = True
                return
            lease = extended

    def should_stop() -> bool:
        return lost or (deadline is not None and time.monotonic() > deadline)

    beat = asyncio.create_task(heartbeat())
    try:
        for _ in range(RETRY_ATTEMPTS):
            # One connection: a clock's catch-up is numbered in date order (batches commit in
            # claim order). Two could each claim part of one batch's worth and commit the later
            # dates first (tests/api/test_lifecycle_rules.py, catch-up numbering, failed so once).
            run.reports.append(
                await renew(engine, scope, as_of, invoice_budget=invoice_budget, should_stop=should_stop, workers=1)
            )
            if should_stop():
                break
            # Subscriptions the run skipped (their invoices cannot be written) stay due and
            # are reported; they do not hold the clock back.
            if await left_to_do(engine, scope, as_of) <= run.reports[-1].failed:
                run.finished = True
                break
            await asyncio.sleep(retry_seconds)  # another transaction holds a row still due
    except BaseException:
        beat.cancel()
        if not lost:  # hand the advance back at once rather than when the lease runs out
            with contextlib.suppress(Exception):
                await asyncio.shield(_fetchval(engine, RELEASE, tenant_id, clock_id, lease))
        raise
    beat.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await beat
    if lost:
        return run
    if run.finished:
        run.finished = await _finish(engine, tenant_id, clock_id, lease)
    else:
        await _fetchval(engine, RELEASE, tenant_id, clock_id, lease)
    log.info(
        "test clock %s advance %s as of %s: %d invoices in %d batches",
        clock_id,
        "finished" if run.finished else "paused",
        as_of.isoformat(),
        sum(r.invoices_created for r in run.reports),
        sum(r.batches for r in run.reports),
        extra={"event": "test_clock_advance", "test_clock_id": clock_id, "finished": run.finished},
    )
    return run


async def resume_advances(engine: AsyncEngine, *, lease_seconds: int, invoice_budget: int, seconds: float) -> int:
    """Work on abandoned or waiting advances for at most about `seconds` (the renewal
    CloudEvent's share); return how many finished. Never raises: the caller's own work
    is done and must not fail because of this."""
    deadline = time.monotonic() + seconds
    finished = 0
    for _ in range(MAX_PER_WAKE):
        if time.monotonic() > deadline:
            break
        try:
            run = await advance_one(
                engine, lease_seconds=lease_seconds, invoice_budget=invoice_budget, deadline=deadline
            )
        except Exception as error:
            _log_failure(error, "resuming test-clock advances failed; the next run tries again")
            break
        if run is None:
            break
        finished += run.finished
    return finished


def _log_failure(error: Exception, message: str) -> None:
    """A database outage is expected to pass (requests answer 503 meanwhile): a one-line
    warning, no traceback. Anything else is an error worth its traceback."""
    from shared.runtime.outages import classify  # the one definition of an outage

    outage = classify(error)
    if outage is not None:
        log.warning("%s: %s", message, outage.cause)
    else:
        log.error(message, exc_info=error)


class Advancer:
    """A process's background worker: one advance at a time (bounded pool use), woken by
    an advance this process accepted, and polling for advances whose lease ran out."""

    def __init__(self, engine: AsyncEngine, *, lease_seconds: int, poll_seconds: float, invoice_budget: int) -> None:
        self._engine = engine
        self._lease_seconds = lease_seconds
        self._poll_seconds = poll_seconds
        self._invoice_budget = invoice_budget
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.history: deque[AdvanceRun] = deque(maxlen=100)  # recent runs, for inspection

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._wake.set()  # look at once: a previous process may have left work behind
        self._task = asyncio.create_task(self._loop(), name="test-clock-advances")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_seconds):
                    await self._wake.wait()
            self._wake.clear()
            for _ in range(MAX_PER_WAKE):
                try:
                    run = await advance_one(
                        self._engine, lease_seconds=self._lease_seconds, invoice_budget=self._invoice_budget
                    )
                except Exception as error:  # the lease was handed back; a later poll retries
                    _log_failure(error, "test-clock advance failed; it will be retried")
                    break
                if run is None:
                    break
                self.history.append(run)
