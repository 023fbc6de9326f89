"""The renewal engine's status lists and the partial indexes its claims rely on are built
from the domain's sets: they must never drift apart (a claim whose predicate does not imply
the index's cannot use it, and a status missing from one of them is never renewed)."""

import re

import asyncpg

from shared.db.tables import Subscription
from shared.domain.subscriptions import BILLABLE, DUNNABLE
from shared.renewal import sql

_IN = re.compile(r"status IN \(([^)]*)\)")


def _sets(text: str) -> list[set[str]]:
    return [{v.strip().strip("'") for v in match.split(",")} for match in _IN.findall(text)]


def test_every_status_list_in_the_engine_sql_is_a_domain_set() -> None:
    statements = [s for group in sql.STATEMENTS.values() for s in group] + list(sql.LEFT_TO_DO.values())
    found = [found for statement in statements for found in _sets(statement)]
    assert found, "no status lists found: the pattern no longer matches the SQL"
    billable, dunnable = {s.value for s in BILLABLE}, {s.value for s in DUNNABLE}
    assert all(f in (billable, dunnable) for f in found), found
    claims = [s for group in sql.STATEMENTS.values() for s in (group[0], group[2])]
    assert all(billable in _sets(claim) for claim in claims)


def test_the_model_indexes_use_the_billable_set() -> None:
    billable = {s.value for s in BILLABLE}
    predicates = {
        index.name: str(index.dialect_options["postgresql"]["where"])
        for index in Subscription.__table__.indexes
        if index.dialect_options["postgresql"]["where"] is not None
    }
    trialing = predicates.pop("ix_subscriptions_trialing")  # trials ending soon (trial_will_end)
    assert trialing == "status = 'trialing'"
    assert set(predicates) == {"ix_subscriptions_due", "ix_subscriptions_due_on_test_clock"}
    assert all(_sets(p) == [billable] for p in predicates.values()), predicates


async def test_the_migrated_indexes_use_the_billable_set(database_url: str) -> None:
    """What the migrations really built, read back from PostgreSQL."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'subscriptions' "
            "AND indexname IN ('ix_subscriptions_due', 'ix_subscriptions_due_on_test_clock')"
        )
    finally:
        await conn.close()
    billable = {s.value for s in BILLABLE}
    assert len(rows) == 2
    for row in rows:
        # PostgreSQL prints IN lists as = ANY (ARRAY['a'::text, ...]).
        values = set(re.findall(r"'([a-z_]+)'::", row["indexdef"].split("WHERE", 1)[1]))
        assert values == billable, row["indexdef"]


async def test_the_sql_dunning_comparisons_agree_with_the_domain_at_every_boundary(database_url: str) -> None:
    """One grace boundary (issue 10, item 9): PostgreSQL evaluates the engine's rendering of
    `is_overdue` and `grace_expired` exactly as the domain does, around each boundary."""
    from datetime import UTC, datetime, timedelta

    from shared.db.status_sql import grace_expired_sql, overdue_sql
    from shared.domain.subscriptions import grace_expired, is_overdue

    due = datetime(2028, 1, 2, tzinfo=UTC)
    statement = f"SELECT {overdue_sql('$1::timestamptz', '$3::timestamptz')}, " + grace_expired_sql(
        "$1::timestamptz", "$2::int", "$3::timestamptz"
    )
    conn = await asyncpg.connect(database_url)
    try:
        for grace in (0, 1, 30):
            for delta in (timedelta(seconds=-1), timedelta(0), timedelta(microseconds=1), timedelta(seconds=1)):
                now = due + timedelta(days=grace) + delta
                row = await conn.fetchrow(statement, due, grace, now)
                assert (row[0], row[1]) == (is_overdue(due, now), grace_expired(due, grace, now)), (grace, delta)
    finally:
        await conn.close()
