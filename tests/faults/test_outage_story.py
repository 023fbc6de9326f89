"""A database outage, told end to end against a served process: while PostgreSQL is down
every request is answered 503 problem+json with Retry-After (never 500) and /ready says so;
when it is back the same process serves again by itself; nothing it acknowledged is lost;
and the episode costs a handful of log lines, without tracebacks or personal data."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from bench.processes import serve, wait_ready
from tests.conftest import BOOTSTRAP_KEY
from tests.faults.postgres import StoppablePostgres

# Tests that start, stop and crash private embedded servers share one xdist worker: the wheel's
# servers of two workers restarting at once have broken each other's recovery.
pytestmark = pytest.mark.xdist_group("private-postgres")

MAX_REQUESTS = 4000  # the whole story, all workers together
WORKERS = 3
PACE = 0.05  # seconds between a worker's requests


@pytest.fixture
def stoppable_pg(tmp_path: Path) -> Iterator[StoppablePostgres]:
    pg = StoppablePostgres(tmp_path)
    try:
        yield pg
    finally:
        pg.cleanup()


@dataclass
class Outcome:
    kind: str  # "write" or "ready"
    status: int
    at: float
    body: Any
    retry_after: str | None
    content_type: str
    email: str | None = None


class Traffic:
    """Workers sending customer writes (with distinctive personal data) and readiness probes
    until told to stop or MAX_REQUESTS is reached."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base
        self.outcomes: list[Outcome] = []
        self.failures: list[str] = []
        self.sent: list[str] = []  # every personal value put in a body
        self.stop = asyncio.Event()
        self._next = 0

    async def _one(self, n: int) -> None:
        if n % 4 == 3:
            kind, email, request = "ready", None, self.session.get(f"{self.base}/ready")
        else:
            kind, email = "write", f"outage.{n}.qzx@example.org"
            name, secret = f"Quentin Zyx{n}wv", f"mdv-{n}-vault"
            self.sent += [email, name, secret]
            request = self.session.post(
                f"{self.base}/v1/customers",
                json={"email": email, "name": name, "metadata": {"secret": secret}},
                headers={"Authorization": f"Bearer {BOOTSTRAP_KEY}"},
            )
        try:
            async with request as reply:
                text = await reply.text()
                body = json.loads(text) if text else None
                self.outcomes.append(
                    Outcome(
                        kind,
                        reply.status,
                        time.monotonic(),
                        body,
                        reply.headers.get("Retry-After"),
                        reply.content_type,
                        email,
                    )
                )
        except (TimeoutError, aiohttp.ClientError, json.JSONDecodeError) as error:
            self.failures.append(f"{kind}: {error!r}")

    async def worker(self) -> None:
        while not self.stop.is_set() and self._next < MAX_REQUESTS:
            self._next += 1
            await self._one(self._next)
            await asyncio.sleep(PACE)

    async def until(self, what: str, predicate: Callable[[], bool], seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            assert time.monotonic() < deadline and self._next < MAX_REQUESTS, f"gave up waiting: {what}"
            assert not self.failures, self.failures
            await asyncio.sleep(0.05)

    def count(self, status: int, kind: str = "write", since: float = 0.0) -> int:
        return sum(1 for o in self.outcomes if o.kind == kind and o.status == status and o.at >= since)


@pytest.mark.parametrize("stop_mode", ["fast", "immediate"])
async def test_a_database_outage_answers_503_then_recovers_without_a_restart(
    stop_mode: str, stoppable_pg: StoppablePostgres, tmp_path: Path
) -> None:
    stderr = (tmp_path / "stderr.log").open("wb")
    process, base = serve(
        {"DATABASE_URL": stoppable_pg.url, "BILLING_BOOTSTRAP_API_KEY": BOOTSTRAP_KEY, "BILLING_DB_POOL_TIMEOUT": "2"},
        stderr=stderr.fileno(),
    )
    try:
        await asyncio.to_thread(wait_ready, base, process)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            traffic = Traffic(session, base)
            workers = [asyncio.create_task(traffic.worker()) for _ in range(WORKERS)]
            try:
                await traffic.until("writes before the outage", lambda: traffic.count(201) >= 5)

                await asyncio.to_thread(stoppable_pg.stop, stop_mode)
                down = time.monotonic()
                await traffic.until(
                    "503s during the outage",
                    lambda: traffic.count(503, since=down) >= 10 and traffic.count(503, "ready", since=down) >= 2,
                )

                starting = time.monotonic()
                await asyncio.to_thread(stoppable_pg.start)
                back = time.monotonic()  # pg_ctl -w returned: PostgreSQL accepts connections
                await traffic.until("a 2xx after the database is back", lambda: traffic.count(201, since=back) >= 1)
                first_2xx = min(o.at for o in traffic.outcomes if o.status == 201 and o.at >= back)
                await traffic.until(
                    "steady 2xx again",
                    lambda: traffic.count(201, since=first_2xx + 2) >= 5
                    and traffic.count(200, "ready", since=first_2xx + 2) >= 1,
                )
            finally:
                traffic.stop.set()
                await asyncio.gather(*workers)
            async with session.get(f"{base}/ready") as reply:
                assert reply.status == 200
        print(
            f"\n{stop_mode} stop; recovery: PostgreSQL back -> first 2xx in {(first_2xx - back) * 1000:.0f} ms "
            f"({(first_2xx - starting) * 1000:.0f} ms from pg_ctl start); "
            f"{traffic.count(503) + traffic.count(503, 'ready')} requests answered 503 "
            f"out of {len(traffic.outcomes)}"
        )
        assert process.poll() is None  # the same process throughout
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        stderr.close()

    assert not traffic.failures, traffic.failures
    assert {o.status for o in traffic.outcomes if o.kind == "write"} <= {201, 503}
    assert {o.status for o in traffic.outcomes if o.kind == "ready"} <= {200, 503}
    for refused in (o for o in traffic.outcomes if o.status == 503):
        assert refused.content_type == "application/problem+json"
        assert refused.body["type"] == "urn:billing:problem:service-unavailable" and refused.body["status"] == 503
        assert refused.retry_after is not None and 1 <= int(refused.retry_after) <= 5

    # Nothing acknowledged is lost.
    acknowledged = {o.email: o.body["id"] for o in traffic.outcomes if o.status == 201}
    conn = await asyncpg.connect(stoppable_pg.url)
    try:
        stored = dict(await conn.fetch("SELECT email, id FROM customers"))
    finally:
        await conn.close()
    assert {email: stored.get(email) for email in acknowledged} == acknowledged

    # A handful of lines for the episode, no traceback, no personal data.
    text = (tmp_path / "stderr.log").read_text()
    assert "Traceback" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    story = [line for line in lines if line["logger"] != "billing.access"]
    assert len(story) <= 12, story
    assert not [line for line in lines if line["level"] in ("error", "critical")]
    started = [line for line in story if line["message"].startswith("database unavailable")]
    ended = [line for line in story if line["message"].startswith("database serving again")]
    assert 1 <= len(started) == len(ended) <= 2, story
    assert sum(line["refused"] for line in ended) == traffic.count(503) + traffic.count(503, "ready")
    leaked = [value for value in traffic.sent if value in text]
    assert not leaked, leaked[:5]
