"""Business metrics, named per OpenTelemetry conventions. Each is documented in the README.

Instruments come from the global meter provider (a no-op until shared.telemetry.setup runs),
so recording is always safe. Record only after a commit: rolled-back work never happened.
"""

from __future__ import annotations

from opentelemetry import metrics

from shared.domain.invoices import BillingReason

_meter = metrics.get_meter("billing")

invoices_created = _meter.create_counter(
    "billing.invoices.created", unit="{invoice}", description="Invoices issued, by currency and reason"
)
amount_invoiced = _meter.create_counter(
    "billing.invoices.amount",
    unit="{minor_unit}",
    description="Amount due on issued invoices, in the currency's minor unit",
)
invoices_paid = _meter.create_counter("billing.invoices.paid", unit="{invoice}", description="Invoices marked paid")
invoices_voided = _meter.create_counter("billing.invoices.voided", unit="{invoice}", description="Invoices voided")
subscription_transitions = _meter.create_counter(
    "billing.subscriptions.transitions", unit="{subscription}", description="Subscription status changes, by new status"
)
renewal_runs = _meter.create_histogram("billing.renewal.duration", unit="s", description="Duration of renewal runs")
renewed = _meter.create_counter(
    "billing.renewal.subscriptions.renewed",
    unit="{subscription}",
    description="Subscriptions that entered a new period",
)
ended = _meter.create_counter(
    "billing.renewal.subscriptions.ended", unit="{subscription}", description="Subscriptions ended by a renewal run"
)
renewal_failures = _meter.create_counter(
    "billing.renewal.failures",
    unit="{subscription}",
    description="Subscriptions a renewal run skipped because their invoices could not be written",
)
renewal_lag = _meter.create_gauge(
    "billing.renewal.lag", unit="s", description="Age of the oldest due-but-unrenewed period when a run starts"
)
idempotent_replays = _meter.create_counter(
    "billing.idempotent.replays",
    unit="{request}",
    description="Requests answered from a stored Idempotency-Key response",
)
rejected = _meter.create_counter(
    "billing.requests.rejected", unit="{request}", description="Requests refused with a client error, by reason"
)

REASONS = {
    BillingReason.SUBSCRIPTION_CREATE: "subscription_create",
    BillingReason.SUBSCRIPTION_CYCLE: "renewal",
    BillingReason.SUBSCRIPTION_UPDATE: "proration",
}


def invoice_issued(currency: str, reason: BillingReason, amount_due: int, count: int = 1) -> None:
    invoices_created.add(count, {"currency": currency, "reason": REASONS[reason]})
    if amount_due:
        amount_invoiced.add(amount_due, {"currency": currency})


def transition(status: str, count: int = 1) -> None:
    if count:
        subscription_transitions.add(count, {"status": status})
