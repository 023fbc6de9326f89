"""Invoice states, their legal transitions, and line arithmetic."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.domain.errors import Conflict


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


class BillingReason(StrEnum):
    SUBSCRIPTION_CREATE = "subscription_create"
    SUBSCRIPTION_CYCLE = "subscription_cycle"
    SUBSCRIPTION_UPDATE = "subscription_update"


# Cycle invoices are the ones the database holds to one per (subscription, period_start).
CYCLE_REASONS = (BillingReason.SUBSCRIPTION_CREATE, BillingReason.SUBSCRIPTION_CYCLE)

# Stripe's state machine: paid and void are final; an uncollectible invoice may still be
# paid (the customer paid late) or voided (written off for good).
_ALLOWED: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.OPEN, InvoiceStatus.VOID}),
    InvoiceStatus.OPEN: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE}),
    InvoiceStatus.UNCOLLECTIBLE: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.PAID: frozenset(),
    InvoiceStatus.VOID: frozenset(),
}


def check_transition(current: InvoiceStatus, target: InvoiceStatus) -> None:
    if target not in _ALLOWED[current]:
        raise Conflict(f"an invoice that is {current} cannot become {target}", field="status")


@dataclass(frozen=True)
class LineDraft:
    """One invoice line before it is stored. `amount` is already rounded (minor units)."""

    description: str
    amount: int
    period_start: datetime
    period_end: datetime
    plan_id: str | None = None
    proration: bool = False


def plan_description(plan_name: str, plan_code: str) -> str:
    """How a plan's charge reads on an invoice line, e.g. "Pro (pro-monthly)"."""
    return f"{plan_name} ({plan_code})"


def total_of(lines: list[LineDraft]) -> int:
    """The invoice total is the sum of its lines: lines are rounded, the total never is."""
    return sum(line.amount for line in lines)


def amount_due(total: int) -> int:
    """A negative total (credit exceeds charges) is owed to nobody on this invoice."""
    return max(total, 0)
