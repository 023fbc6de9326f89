"""A large run changes the tables faster than autovacuum re-analyzes them. Planned on the
statistics of the tables as they were before the run (invoices empty, every subscription
due), the claims read every open invoice of the tenant for each claimed subscription and
the dunning claim expects one subscription inside its period: quadratic, a first run of
100,000 subscriptions never finished. The run refreshes what it made stale
(shared.renewal.statistics); these stories check the plans the claims get after it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.seed import seed_due_subscriptions
from shared.db.engine import make_engine
from shared.renewal import sql
from shared.renewal.engine import Scope, renew

SUBSCRIPTIONS = 3000


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _nodes(child))]


async def _plan(conn: asyncpg.Connection, statement: str, *args: Any) -> list[dict[str, Any]]:
    raw = await conn.fetchval("EXPLAIN (FORMAT JSON) " + statement, *args)
    return _nodes(json.loads(raw)[0]["Plan"])


async def test_a_first_large_run_leaves_its_claims_planned_on_what_it_wrote(database_url: str) -> None:
    now = datetime(2026, 11, 26, tzinfo=UTC)
    # Two periods due, invoices due on issue: the first one is overdue once the second is issued.
    tenant_id = await seed_due_subscriptions(database_url, SUBSCRIPTIONS, now, months_due=2)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE tenants SET days_until_due = 0")
        for table in ("invoices", "subscriptions"):  # the run alone must keep its statistics
            await conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        await conn.execute("ANALYZE")  # as a fresh import leaves them: no invoice, all due

        engine = make_engine(database_url, pool_size=3, max_overflow=0)
        try:
            report = await renew(engine, Scope(tenant_id=tenant_id), now, batch_size=500)
        finally:
            await engine.dispose()
        assert (report.renewed, report.invoices_created, report.past_due) == (
            SUBSCRIPTIONS,
            2 * SUBSCRIPTIONS,
            SUBSCRIPTIONS,
        )

        claim_due, claim_dunning, _ = sql.STATEMENTS["real_time"]
        args = (now, tenant_id, None, 500, [])
        # A claimed subscription's invoices are found by subscription, not among the tenant's open ones.
        due = await _plan(conn, claim_due, *args)
        invoice_scans = [n["Index Name"] for n in due if n.get("Relation Name") == "invoices"]
        assert invoice_scans and all("subscription" in name for name in invoice_scans), invoice_scans
        # The dunning claim starts from the overdue invoices, and knows the subscriptions it
        # joins are all inside their period (not the one row the old statistics said).
        dunning = await _plan(conn, claim_dunning, *args)
        inside = [n for n in dunning if n.get("Relation Name") == "subscriptions"]
        assert inside and all(n["Plan Rows"] > 1 or n.get("Index Name") == "pk_subscriptions" for n in inside), inside
    finally:
        await conn.close()


async def test_a_run_right_after_an_import_analyzes_before_its_first_claim(database_url: str) -> None:
    now = datetime(2026, 11, 26, tzinfo=UTC)
    tenant_id = await seed_due_subscriptions(database_url, SUBSCRIPTIONS, now)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("ALTER TABLE subscriptions SET (autovacuum_enabled = false)")
        described = "SELECT reltuples FROM pg_class WHERE relname = 'subscriptions'"
        assert await conn.fetchval(described) < 0  # never analyzed: the import is unknown to the planner
        for _ in range(100):  # the importing session's counts reach the statistics views on its exit
            changed = "SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'subscriptions'"
            if await conn.fetchval(changed) >= SUBSCRIPTIONS:
                break
            await asyncio.sleep(0.2)
        engine = make_engine(database_url, pool_size=3, max_overflow=0)
        try:  # stopped before its first batch: only what the run does before claiming
            report = await renew(engine, Scope(tenant_id=tenant_id), now, should_stop=lambda: True)
        finally:
            await engine.dispose()
        assert (report.complete, report.renewed) == (False, 0)
        assert await conn.fetchval(described) == SUBSCRIPTIONS
    finally:
        await conn.close()
