"""Status sets of the domain rendered as SQL `IN` lists, so the renewal engine's claims and
the partial indexes they must match are built from the same enums (a test checks both);
and the dunning clock's two comparisons (shared.domain.subscriptions: `is_overdue`,
`grace_expired`) rendered for the engine's SQL, so the SQL and Python paths share one
boundary: overdue strictly after the due date, grace out at due date + grace days inclusive."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from shared.domain.subscriptions import BILLABLE, DUNNABLE


def in_list(values: Iterable[StrEnum]) -> str:
    """`('a', 'b')`, sorted so the text is stable (index predicates are compared as text).
    Only enum members go in: constants of ours, never client input."""
    return "(" + ", ".join(f"'{value.value}'" for value in sorted(values)) + ")"


BILLABLE_SQL = in_list(BILLABLE)
DUNNABLE_SQL = in_list(DUNNABLE)


def overdue_sql(due_at: str, now: str) -> str:
    """`is_overdue(due_at, now)` in SQL."""
    return f"{due_at} < {now}"


def grace_expired_sql(due_at: str, grace_days: str, now: str) -> str:
    """`grace_expired(due_at, grace_days, now)` in SQL."""
    return f"{due_at} + make_interval(days => {grace_days}) <= {now}"
