"""Planner statistics a renewal run makes stale itself, refreshed by the run.

A large run grows `invoices` and moves every `current_period_end` faster than autovacuum
re-analyzes (it waits for its naptime and for the transactions to end). On statistics that
describe the tables as they were, PostgreSQL plans the claims' per-subscription invoice
lookups on the (tenant, status) index, reading every open invoice of the tenant for each
subscription, and drives the dunning claim from a "1 row" estimate of subscriptions inside
their period: both quadratic, a 100,000-subscription run never finished. So the run counts
what it changed and analyzes a table once the changes reach what its statistics describe
(the table doubled, or was rewritten whole): a handful of ANALYZEs per run, each a bounded
sample, none for the small runs of requests and tests."""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg

# The tables whose statistics the claims are planned on.
TRACKED = ("invoices", "subscriptions")
# Below this many changed rows a stale estimate costs little: never analyze for small runs.
MIN_CHANGED = 1000

_DESCRIBED = "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = $1::regclass"
# What others changed since the last ANALYZE (a bulk import the run starts right after).
_CHANGED_BEFORE = "SELECT relname, n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = ANY($1::text[])"


class RunStatistics:
    """Rows one run changed per table since that table's statistics were last refreshed.
    Shared by the run's workers; one of them analyzes at a time."""

    def __init__(self) -> None:
        self._changed: Counter[str] = Counter()
        self._described: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def start(self, conn: asyncpg.Connection) -> list[str]:
        """Before the first claim: count what was changed since each table's last ANALYZE
        (autovacuum may not have caught up with an import) and analyze what that made stale."""
        rows = await conn.fetch(_CHANGED_BEFORE, list(TRACKED))
        return await self.changed(conn, {r["relname"]: r["n_mod_since_analyze"] for r in rows})

    async def changed(self, conn: asyncpg.Connection, counts: dict[str, int]) -> list[str]:
        """Count a committed batch's changes; analyze (on `conn`, outside any transaction)
        each table whose changes reached what its statistics describe. Returns those tables."""
        self._changed.update(counts)
        analyzed = []
        async with self._lock:
            for table in TRACKED:
                if self._changed[table] < MIN_CHANGED:
                    continue
                if table not in self._described:
                    self._described[table] = await conn.fetchval(_DESCRIBED, table)
                if self._changed[table] >= self._described[table]:
                    await conn.execute(f"ANALYZE {table}")
                    self._described[table] = await conn.fetchval(_DESCRIBED, table)
                    self._changed[table] = 0
                    analyzed.append(table)
        return analyzed
