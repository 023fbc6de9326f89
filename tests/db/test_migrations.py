"""Alembic is the only way the schema is made: upgrade head yields exactly the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db.engine import async_url
from shared.db.migrate import downgrade, upgrade
from shared.db.tables import Base


async def _diff_and_tables(url: str) -> tuple[list, set[str]]:
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as conn:

            def inspect_sync(sync_conn):  # type: ignore[no-untyped-def]
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                inspector = inspect(sync_conn)
                tables = set(inspector.get_table_names())
                diff = list(compare_metadata(context, Base.metadata))
                # Autogenerate does not compare CHECK constraints: compare their names here.
                for name, table in Base.metadata.tables.items():
                    if name not in tables:
                        continue
                    declared = {c.name for c in table.constraints if c.__class__.__name__ == "CheckConstraint"}
                    present = {c["name"] for c in inspector.get_check_constraints(name)}
                    if declared != present:
                        diff.append(("check constraints", name, sorted(declared ^ present)))
                return diff, tables

            return await conn.run_sync(inspect_sync)
    finally:
        await engine.dispose()


async def test_upgrade_head_on_an_empty_database_matches_the_models(empty_database_url: str) -> None:
    import asyncio

    await asyncio.to_thread(upgrade, empty_database_url)
    diff, tables = await _diff_and_tables(empty_database_url)
    assert diff == []
    assert set(Base.metadata.tables) <= tables


async def test_downgrade_to_base_then_upgrade_again(empty_database_url: str) -> None:
    import asyncio

    await asyncio.to_thread(upgrade, empty_database_url)
    await asyncio.to_thread(downgrade, empty_database_url, "base")
    _, tables = await _diff_and_tables(empty_database_url)
    assert tables <= {"alembic_version"}
    await asyncio.to_thread(upgrade, empty_database_url)
    diff, _ = await _diff_and_tables(empty_database_url)
    assert diff == []


async def test_the_database_refuses_a_second_invoice_for_the_same_period(database_url: str) -> None:
    """The invariant lives in the schema, not only in the code that usually keeps it."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    engine = create_async_engine(async_url(database_url))
    insert = text(
        "INSERT INTO invoices (tenant_id, id, number, customer_id, subscription_id, status, billing_reason, "
        "currency, period_start, period_end, subtotal, total, amount_due, created_at) VALUES "
        "('t', :id, :number, 'c', 's', 'open', 'subscription_cycle', 'USD', '2026-01-01Z', '2026-02-01Z', 5, 5, 5, now())"
    )
    try:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO tenants (id, name, created_at) VALUES ('t', 't', now())"))
            await conn.execute(
                text(
                    "INSERT INTO customers (tenant_id, id, email, name, created_at, updated_at) "
                    "VALUES ('t', 'c', 'c@example.com', 'c', now(), now())"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO plans (tenant_id, id, code, name, amount, currency, interval, "
                    "interval_count, trial_period_days, created_at) VALUES "
                    "('t', 'p', 'p', 'p', 5, 'USD', 'month', 1, 0, now())"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO subscriptions (tenant_id, id, customer_id, plan_id, status, "
                    "billing_cycle_anchor, current_period_start, current_period_end, created_at) VALUES "
                    "('t', 's', 'c', 'p', 'active', '2026-01-01Z', '2026-01-01Z', '2026-02-01Z', now())"
                )
            )
            await conn.execute(insert, {"id": "in_1", "number": 1})
        with pytest.raises(IntegrityError, match="uq_invoices_one_per_period"):
            async with engine.begin() as conn:
                await conn.execute(insert, {"id": "in_2", "number": 2})
        with pytest.raises(IntegrityError, match="amount_range"):
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE plans SET amount = -1"))
    finally:
        await engine.dispose()
