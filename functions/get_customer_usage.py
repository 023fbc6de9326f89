from decimal import Decimal

from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.usage import CustomerUsage, MeterUsage, UsageQuery
from shared.services import usage


@operation(
    "GET",
    "/v1/customers/{id}/usage",
    family="usage",
    summary="A customer's usage per meter (default: the current billing period so far)",
    query=UsageQuery,
    response=CustomerUsage,
)
async def get_customer_usage(call: Call):
    query: UsageQuery = call.query
    start, end, data = await usage.customer_usage(
        call.uow(),
        call.tenant_id,
        call.clock,
        call.path("id"),
        meter=query.meter,
        start=query.from_,
        end=query.to,
    )
    return CustomerUsage(
        customer=call.path("id"),
        period_start=start,
        period_end=end,
        data=[MeterUsage(meter=m, aggregation=a, quantity=_text(q), events=n) for m, a, q, n in data],
    )


def _text(quantity: object) -> str:
    """An exact decimal as plain digits: 10000, 2.5 (never 1E+4)."""
    return format(Decimal(str(quantity)).normalize(), "f")
