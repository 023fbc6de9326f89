"""Status sets of the domain rendered as SQL `IN` lists, so the renewal engine's claims and
the partial indexes they must match are built from the same enums (a test checks both)."""

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
