"""The dispatcher: delivers the outbox's webhook deliveries (and, with K_SINK, every event
as a CloudEvent), at least once.

One round: (1) a short transaction claims due deliveries with FOR UPDATE SKIP LOCKED (so
dispatchers running at once take disjoint ones), counts the attempt and leases it
(`next_attempt_at` = now + LEASE_SECONDS) and commits; (2) the requests are sent with no
database connection held (10 s timeout each, no redirects); (3) a second short transaction
records the results, each guarded by the attempt number it claimed (a dispatcher whose
lease ran out cannot overwrite a newer attempt). A dispatcher killed between (1) and (3)
loses nothing: the lease runs out and the delivery is attempted again, with the same
`webhook-id` (the event id).

Retries: after failed attempt n the next is due RETRY_SCHEDULE[n-1] later, times a random
factor in [0.8, 1.2] (jitter); a Retry-After header (seconds or a date, capped at one day)
replaces that delay. 11 attempts over about 3 days; then the delivery has failed. 410 Gone
disables the endpoint at once; an endpoint failing without a success for 3 days is
disabled, and `webhook_endpoint.disabled` is emitted.

Who runs it: the combined server (`billing serve`) as a background task woken by
LISTEN/NOTIFY (the event writer notifies at commit) plus a poll; in the cluster, the
`dispatch-events` CloudEvent function on the PingSource schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import logs
from shared.db.event_writer import CHANNEL, EVENT_DATA, PendingEvent, write_events
from shared.events import signing, targets
from shared.events.outbox import render
from shared.schemas.events import Event

log = logging.getLogger("billing.events")

TIMEOUT_SECONDS = 10.0
LEASE_SECONDS = 60.0  # > TIMEOUT_SECONDS: an attempt in flight is never claimed twice
# Delay after failed attempt 1, 2, ...: 5 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 20 h
# (about 71.6 h in all; 11 attempts).
RETRY_SCHEDULE = (5, 60, 300, 1800, 7200, 18000, 36000, 50400, 72000, 72000)
JITTER = 0.2
MAX_RETRY_AFTER = 86400
DISABLE_AFTER_SECONDS = 3 * 86400
BODY_LIMIT = 2048  # bytes of a response body kept in the delivery log
MAX_ROUNDS = 1000  # rounds one wake-up works through

CLAIM = f"""
WITH c AS (
    SELECT d.tenant_id, d.id, d.last_attempt_at AS previous_attempt_at FROM webhook_deliveries d
    JOIN webhook_endpoints e ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id AND e.status = 'enabled'
    WHERE d.status = 'pending' AND d.next_attempt_at <= now()
    ORDER BY d.next_attempt_at
    LIMIT $1
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d
SET attempts = d.attempts + 1, last_attempt_at = now(), next_attempt_at = now() + make_interval(secs => $2)
FROM c, webhook_endpoints e, events ev
WHERE d.tenant_id = c.tenant_id AND d.id = c.id
  AND e.tenant_id = d.tenant_id AND e.id = d.endpoint_id
  AND ev.tenant_id = d.tenant_id AND ev.id = d.event_id
RETURNING d.tenant_id, d.id, d.attempts, c.previous_attempt_at, d.endpoint_id, e.url, e.secret, e.previous_secret,
          e.previous_secret_expires_at > now() AS previous_live,
          ev.id AS event_id, ev.seq, ev.type, ev.created, {EVENT_DATA}::text AS data, ev.request_id, ev.api_key_id,
          ev.renewal_run, ev.test_clock_id
"""

RECORD = """
UPDATE webhook_deliveries d
SET status = v.status,
    next_attempt_at = CASE WHEN v.status = 'pending' THEN now() + make_interval(secs => v.delay) END,
    last_status_code = v.code, last_duration_ms = v.ms, last_response_body = v.body, last_error = v.error,
    delivered_at = CASE WHEN v.status = 'delivered' THEN now() ELSE d.delivered_at END
FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::float8[], $6::int[], $7::int[], $8::text[], $9::text[])
  AS v(tenant_id, id, attempts, status, delay, code, ms, body, error)
WHERE d.tenant_id = v.tenant_id AND d.id = v.id AND d.attempts = v.attempts AND d.status = 'pending'
"""

# Deliveries held back unsent (their endpoint failed earlier in the round): the claim's
# attempt is given back and they wait for the failed one's retry.
RELEASE = """
UPDATE webhook_deliveries d
SET attempts = d.attempts - 1, last_attempt_at = v.previous_attempt_at,
    next_attempt_at = now() + make_interval(secs => v.delay)
FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::float8[])
  AS v(tenant_id, id, attempts, previous_attempt_at, delay)
WHERE d.tenant_id = v.tenant_id AND d.id = v.id AND d.attempts = v.attempts AND d.status = 'pending'
"""

# Endpoints: a success ends a failure streak; a failure starts one; 410 disables.
ENDPOINT_RESULTS = """
UPDATE webhook_endpoints e
SET failing_since = CASE WHEN v.ok THEN NULL ELSE COALESCE(e.failing_since, now()) END,
    status = CASE WHEN v.gone THEN 'disabled' ELSE e.status END,
    disabled_reason = CASE WHEN v.gone THEN 'the endpoint answered 410 Gone' ELSE e.disabled_reason END
FROM unnest($1::text[], $2::text[], $3::bool[], $4::bool[]) AS v(tenant_id, id, ok, gone)
WHERE e.tenant_id = v.tenant_id AND e.id = v.id
RETURNING e.tenant_id, e.id, e.status, v.gone
"""
DISABLE_FAILING = """
UPDATE webhook_endpoints e SET status = 'disabled',
    disabled_reason = 'every delivery failed for 3 days'
FROM unnest($1::text[], $2::text[]) AS v(tenant_id, id)
WHERE e.tenant_id = v.tenant_id AND e.id = v.id AND e.status = 'enabled'
  AND e.failing_since < now() - make_interval(secs => $3)
RETURNING e.*
"""
FAIL_PENDING = """
UPDATE webhook_deliveries d SET status = 'failed', next_attempt_at = NULL, last_error = 'the endpoint was disabled'
FROM unnest($1::text[], $2::text[]) AS v(tenant_id, id)
WHERE d.tenant_id = v.tenant_id AND d.endpoint_id = v.id AND d.status = 'pending'
"""

SINK_CLAIM = f"""
WITH c AS (
    SELECT tenant_id, id FROM events WHERE sink_due_at <= now()
    ORDER BY sink_due_at LIMIT $1 FOR UPDATE SKIP LOCKED
)
UPDATE events ev SET sink_attempts = ev.sink_attempts + 1, sink_due_at = now() + make_interval(secs => $2)
FROM c WHERE ev.tenant_id = c.tenant_id AND ev.id = c.id
RETURNING ev.tenant_id, ev.id, ev.sink_attempts, ev.seq, ev.type, ev.object_id, ev.created, {EVENT_DATA}::text AS data,
          ev.request_id, ev.api_key_id, ev.renewal_run, ev.test_clock_id
"""
SINK_RECORD = """
UPDATE events ev SET sink_due_at = CASE WHEN v.delay IS NULL THEN NULL ELSE now() + make_interval(secs => v.delay) END
FROM unnest($1::text[], $2::text[], $3::int[], $4::float8[]) AS v(tenant_id, id, attempts, delay)
WHERE ev.tenant_id = v.tenant_id AND ev.id = v.id AND ev.sink_attempts = v.attempts
"""
# Oldest first along seq (its unique index; no index on recorded_at to maintain on every
# insert): seq follows recording order closely enough for a retention measured in days.
PRUNE = """
DELETE FROM events WHERE seq IN (
    SELECT seq FROM (SELECT seq, recorded_at FROM events ORDER BY seq LIMIT $2) oldest
    WHERE recorded_at < now() - make_interval(days => $1))
"""
PRUNE_BATCH = 1000
PRUNE_MAX_BATCHES = 100


def retry_delay(attempt: int, retry_after: float | None = None) -> float | None:
    """Seconds until the attempt after failed attempt `attempt` (1-based); None: no more."""
    if attempt > len(RETRY_SCHEDULE):
        return None
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
    return RETRY_SCHEDULE[attempt - 1] * random.uniform(1 - JITTER, 1 + JITTER)


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def payload(row: Any) -> bytes:
    """The event as GET /v1/events/{id} renders it."""
    event = SimpleNamespace(
        id=row["event_id"] if "event_id" in row else row["id"],
        type=row["type"],
        created=row["created"],
        seq=row["seq"],
        data=json.loads(row["data"]),
        request_id=row["request_id"],
        api_key_id=row["api_key_id"],
        renewal_run=row["renewal_run"],
        test_clock_id=row["test_clock_id"],
    )
    return Event.model_validate(event).model_dump_json().encode()


@dataclass
class Outcome:
    ok: bool
    code: int | None = None
    ms: int | None = None
    body: str | None = None
    error: str | None = None
    retry_after: float | None = None


@dataclass
class Round:
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    sink_sent: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds from commit... (see bench)


async def _post(http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    started = time.perf_counter()
    try:
        async with http.post(url, data=body, headers=headers, allow_redirects=False) as response:
            text = (await response.content.read(BODY_LIMIT)).decode("utf-8", "replace")
            ms = round((time.perf_counter() - started) * 1000)
            return Outcome(
                ok=200 <= response.status < 300,
                code=response.status,
                ms=ms,
                body=text,
                retry_after=parse_retry_after(response.headers.get("Retry-After"))
                if response.status in (429, 503)
                else None,
            )
    except (aiohttp.ClientError, TimeoutError, targets.Refused, OSError, ValueError) as error:
        ms = round((time.perf_counter() - started) * 1000)
        return Outcome(ok=False, ms=ms, error=f"{type(error).__name__}: {error}"[:500] or type(error).__name__)


def new_http(allow_private: bool) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(resolver=targets.SafeResolver(allow_private), limit=64)
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS), auto_decompress=False
    )


async def _fetch(engine: AsyncEngine, statement: str, *args: Any) -> list[asyncpg.Record]:
    """One statement in its own short transaction, on a pooled connection held only for it."""
    async with engine.connect() as sa_conn:
        raw = await sa_conn.get_raw_connection()
        return await raw.driver_connection.fetch(statement, *args)  # type: ignore[union-attr]


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        allow_private: bool = False,
        batch: int = 100,
        poll_seconds: float = 5.0,
        k_sink: str | None = None,
        retention_days: int = 30,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self._engine = engine
        self._allow_private = allow_private
        self._batch = batch
        self._poll_seconds = poll_seconds
        self._k_sink = k_sink
        self._retention_days = retention_days
        self._lease_seconds = lease_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    def http(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = new_http(self._allow_private)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    # One round of webhook deliveries

    async def deliver_round(self) -> Round:
        result = Round()
        rows = await _fetch(self._engine, CLAIM, self._batch, self._lease_seconds)
        result.claimed = len(rows)
        if not rows:
            return result
        outcomes = await self._send_all(rows)
        await self._record(rows, outcomes, result)
        return result

    async def _send_all(self, rows: Sequence[asyncpg.Record]) -> list[Outcome | None]:
        """Endpoints in parallel; each endpoint's deliveries one after another, in event order,
        until one fails: the rest are held back (None) for the failed one's retry, so an
        endpoint that is down or slow costs one attempt (at most one timeout) per round, not
        one per delivery, and spends no attempts of the deliveries behind it."""
        by_endpoint: dict[tuple[str, str], list[int]] = {}
        for n, row in enumerate(rows):
            by_endpoint.setdefault((row["tenant_id"], row["endpoint_id"]), []).append(n)
        outcomes: list[Outcome | None] = [None] * len(rows)

        async def one_endpoint(indexes: list[int]) -> None:
            for n in sorted(indexes, key=lambda i: rows[i]["seq"]):
                outcomes[n] = outcome = await self._send(rows[n])
                if not outcome.ok:
                    return

        await asyncio.gather(*(one_endpoint(ix) for ix in by_endpoint.values()))
        return outcomes

    async def _send(self, row: asyncpg.Record) -> Outcome:
        body = payload(row)
        secrets_ = [row["secret"]] + ([row["previous_secret"]] if row["previous_live"] else [])
        headers = signing.headers(secrets_, row["event_id"], int(time.time()), body)
        headers["user-agent"] = "billing-webhooks/1"
        return await _post(self.http(), row["url"], body, headers)

    async def _record(self, rows: Sequence[asyncpg.Record], outcomes: Sequence[Outcome | None], result: Round) -> None:
        records = []
        endpoint_results: dict[tuple[str, str], tuple[bool, bool]] = {}
        waits: dict[tuple[str, str], float] = {}  # an endpoint's retry delay after its failure here
        held = []
        for row, o in zip(rows, outcomes):
            if o is None:
                held.append(row)
                continue
            gone = o.code == 410
            if o.ok:
                status, delay = "delivered", 0.0
                result.delivered += 1
            else:
                result.failed += 1
                next_delay = None if gone else retry_delay(row["attempts"], o.retry_after)
                status, delay = ("failed", 0.0) if next_delay is None else ("pending", next_delay)
            records.append((row["tenant_id"], row["id"], row["attempts"], status, delay, o.code, o.ms, o.body, o.error))
            key = (row["tenant_id"], row["endpoint_id"])
            if not o.ok:
                waits[key] = delay
            was_ok, was_gone = endpoint_results.get(key, (False, False))
            endpoint_results[key] = (was_ok or o.ok, was_gone or gone)
        keys = list(endpoint_results)
        async with self._engine.connect() as sa_conn:
            raw = await sa_conn.get_raw_connection()
            conn: asyncpg.Connection = raw.driver_connection
            async with conn.transaction():
                await conn.execute(RECORD, *map(list, zip(*records)))
                if held:
                    await conn.execute(
                        RELEASE,
                        [r["tenant_id"] for r in held],
                        [r["id"] for r in held],
                        [r["attempts"] for r in held],
                        [r["previous_attempt_at"] for r in held],
                        [waits.get((r["tenant_id"], r["endpoint_id"]), 0.0) for r in held],
                    )
                changed = await conn.fetch(
                    ENDPOINT_RESULTS,
                    [k[0] for k in keys],
                    [k[1] for k in keys],
                    [endpoint_results[k][0] for k in keys],
                    [endpoint_results[k][1] for k in keys],
                )
                failing = [(r["tenant_id"], r["id"]) for r in changed if r["status"] == "enabled"]
                disabled = await conn.fetch(
                    DISABLE_FAILING, [f[0] for f in failing], [f[1] for f in failing], float(DISABLE_AFTER_SECONDS)
                )
                off = [(r["tenant_id"], r["id"]) for r in changed if r["gone"]] + [
                    (r["tenant_id"], r["id"]) for r in disabled
                ]
                if off:
                    await conn.execute(FAIL_PENDING, [k[0] for k in off], [k[1] for k in off])
                await write_events(conn, [_disabled_event(r) for r in disabled])

    # CloudEvents to K_SINK

    async def sink_round(self) -> int:
        if self._k_sink is None:
            return 0
        from cloudevents.conversion import to_binary
        from cloudevents.http import CloudEvent

        rows = await _fetch(self._engine, SINK_CLAIM, self._batch, self._lease_seconds)
        if not rows:
            return 0
        results = []
        sent = 0
        for row in rows:
            event = CloudEvent(
                {
                    "type": f"dev.billing.{row['type']}",
                    "source": f"/tenants/{row['tenant_id']}",
                    "id": row["id"],
                    "subject": row["object_id"],
                    "time": row["created"].isoformat(),
                    "datacontenttype": "application/json",
                },
                json.loads(payload(row)),
            )
            headers, body = to_binary(event)
            outcome = await _post(self.http(), self._k_sink, body, dict(headers))
            sent += outcome.ok
            delay = None if outcome.ok else retry_delay(row["sink_attempts"], outcome.retry_after)
            if not outcome.ok and delay is None:
                log.error("CloudEvent %s could not be sent to K_SINK; giving up", row["id"])
            results.append((row["tenant_id"], row["id"], row["sink_attempts"], delay))
        await _fetch(self._engine, SINK_RECORD, *map(list, zip(*results)))
        return sent

    async def prune(self) -> int:
        """Events older than the retention (and their deliveries), in bounded batches."""
        pruned = 0
        for _ in range(PRUNE_MAX_BATCHES):
            async with self._engine.connect() as sa_conn:
                raw = await sa_conn.get_raw_connection()
                status = await raw.driver_connection.execute(PRUNE, self._retention_days, PRUNE_BATCH)  # type: ignore[union-attr]
                await sa_conn.commit()
            count = int(status.split()[-1])
            pruned += count
            if count < PRUNE_BATCH:
                break
        return pruned

    async def drain(self, deadline: float | None = None) -> Round:
        """Rounds until nothing is due (or `deadline`, time.monotonic(), passes)."""
        total = Round()
        for _ in range(MAX_ROUNDS):
            done = await self.deliver_round()
            sent = await self.sink_round()
            total.claimed += done.claimed
            total.delivered += done.delivered
            total.failed += done.failed
            total.sink_sent += sent
            if done.claimed < self._batch and sent < self._batch:
                break
            if deadline is not None and time.monotonic() > deadline:
                break
        return total

    # Background task (billing serve)

    def wake(self) -> None:
        self._wake.set()

    def start(self, dsn: str) -> None:
        self._wake.set()  # at once: a previous process may have left work behind
        self._task = asyncio.create_task(self._loop(dsn), name="event-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.close()

    async def _listen(self, dsn: str) -> asyncpg.Connection | None:
        try:
            conn = await asyncpg.connect(dsn, timeout=10)
            await conn.add_listener(CHANNEL, lambda *_: self._wake.set())
            return conn
        except Exception:  # polling still delivers; the next loop tries to listen again
            return None

    async def _loop(self, dsn: str) -> None:
        listener: asyncpg.Connection | None = None
        last_prune = 0.0
        failing = False  # a failure streak (e.g. a database outage) is logged once
        try:
            while True:
                if listener is None or listener.is_closed():
                    listener = await self._listen(dsn)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_seconds):
                        await self._wake.wait()
                self._wake.clear()
                try:
                    await self.drain()
                    if time.monotonic() - last_prune > 3600:
                        last_prune = time.monotonic()
                        await self.prune()
                    failing = False
                except Exception as error:
                    if not failing:
                        log.warning("event dispatch failed (%s); the next round retries", logs.describe(error))
                    failing = True
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close()


def _disabled_event(row: asyncpg.Record) -> PendingEvent:
    from shared.db.tables import WebhookEndpoint

    endpoint = WebhookEndpoint(**dict(row.items()))
    return PendingEvent(
        row["tenant_id"], "webhook_endpoint.disabled", row["id"], datetime.now(UTC), object=render(endpoint)
    )
