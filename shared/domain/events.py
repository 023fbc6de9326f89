"""The event types the product emits (docs/EVENTS.md), the one list of them: webhook
endpoints' `enabled_events` name these (or patterns with '*'), and the OpenAPI enumerates them.
A test holds that every type the code writes is listed here."""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "coupon.created",
    "coupon.deleted",
    "credit_note.created",
    "credit_note.voided",
    "customer.balance_transaction.created",
    "customer.created",
    "customer.discount.created",
    "customer.discount.deleted",
    "customer.updated",
    "invoice.created",
    "invoice.finalized",
    "invoice.marked_uncollectible",
    "invoice.paid",
    "invoice.payment_overdue",
    "invoice.updated",
    "invoice.voided",
    "meter.archived",
    "meter.created",
    "plan.archived",
    "plan.created",
    "plan.updated",
    "promotion_code.created",
    "promotion_code.updated",
    "subscription.canceled",
    "subscription.created",
    "subscription.past_due",
    "subscription.paused",
    "subscription.renewed",
    "subscription.resumed",
    "subscription.trial_will_end",
    "subscription.updated",
    "tax_rate.created",
    "tax_rate.updated",
    "test_clock.advanced",
    "test_helpers.test_clock.advancing",
    "webhook_endpoint.disabled",
)

# A pattern: any run of characters for each '*' ("invoice.*", "*.created", "*").
WILDCARD_PATTERN = r"^[a-z_.]*\*[a-z_.*]*$"


def known_or_wildcard(pattern: str) -> str:
    """`pattern` if it is a known event type or contains a '*' (ValueError otherwise: an
    endpoint subscribed to a misspelt type would never receive anything)."""
    if "*" in pattern or pattern in EVENT_TYPES:
        return pattern
    raise ValueError(f"unknown event type '{pattern}': give a type of the list or a pattern with '*' (e.g. invoice.*)")
