"""Tenant isolation by construction: while the API stories run, every SQL statement that
touches a tenant-owned table filters by (or writes) tenant_id.

A listener on the app's engine sees each statement as sent to PostgreSQL. The only
statements allowed to span tenants are the documented ones below: they run before the
tenant is known, or serve every tenant at once."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import event

from shared.db.tables import Base
from shared.runtime.app_state import ENGINE
from tests.api import (
    test_api_keys,
    test_billing_stories,
    test_credit_notes,
    test_idempotency,
    test_invoices,
    test_plan_changes,
    test_test_clock_lifecycle,
)
from tests.client import Api

TENANT_OWNED = {table.name for table in Base.metadata.sorted_tables if "tenant_id" in table.c}

# Statements that span tenants by design, each recognised by a fragment of its text.
CROSS_TENANT = {
    "the API-key lookup by hash (authentication: the tenant is what it finds)": "WHERE api_keys.key_hash =",
    "the bootstrap key's tenant, revocation of the previous one (process start)": "WHERE api_keys.bootstrap",
}
# The renewal engine's claims (shared.renewal.sql) name the tenant as a parameter,
# `($2 IS NULL OR s.tenant_id = $2)`: NULL, every tenant at once, is the scheduled run.

_TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+(\w+)", re.IGNORECASE)
_WHERE = re.compile(r"\bWHERE\b", re.IGNORECASE)


def _split(statement: str) -> tuple[str, str]:
    """What comes before the first WHERE, and what follows it."""
    head, *rest = _WHERE.split(statement, maxsplit=1)
    return head, rest[0] if rest else ""


def unscoped(statement: str) -> bool:
    """Touches a tenant-owned table but never names tenant_id where it filters or writes."""
    tables = {name for name in _TABLE.findall(statement) if name in TENANT_OWNED}
    if not tables:
        return False
    if any(fragment in statement for fragment in CROSS_TENANT.values()):
        return False
    head, condition = _split(statement)
    if statement.lstrip().upper().startswith("INSERT"):
        return "tenant_id" not in head
    return "tenant_id" not in condition


# Not re-run here: its statements are those of the keyed stories already recorded, and it
# waits 20 s on purpose (PostgreSQL's deadlock check).
SLOW = {"test_a_keyed_request_chosen_as_a_deadlock_victim_runs_again"}


def stories() -> list[Callable[[Api], Awaitable[None]]]:
    modules = (
        test_billing_stories,
        test_plan_changes,
        test_test_clock_lifecycle,
        test_invoices,
        test_api_keys,
        test_idempotency,
        test_credit_notes,
    )
    return [
        function
        for module in modules
        for name, function in vars(module).items()
        if name.startswith("test_")
        and name not in SLOW
        and inspect.iscoroutinefunction(function)
        and list(inspect.signature(function).parameters) == ["api"]
    ]


def test_the_rule_recognises_a_missing_tenant() -> None:
    assert unscoped("SELECT invoices.id FROM invoices WHERE invoices.id = $1")
    assert unscoped("INSERT INTO plans (id, code) VALUES ($1, $2)")
    assert not unscoped("SELECT invoices.id FROM invoices WHERE invoices.tenant_id = $1 AND invoices.id = $2")
    assert not unscoped("SELECT tenants.id FROM tenants WHERE lower(tenants.name) = $1")


@pytest.mark.parametrize(
    "story", stories(), ids=lambda story: f"{story.__module__.rsplit('.', 1)[-1]}.{story.__name__}"
)
async def test_every_statement_of_the_stories_carries_the_tenant(
    api: Api, story: Callable[[Api], Awaitable[None]]
) -> None:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append(statement)

    engine = api.client.server.app[ENGINE].sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        await story(api)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert any(_TABLE.search(s) for s in seen), "the listener saw no statement"
    assert [s for s in seen if unscoped(s)] == []
