from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.subscriptions import Subscription, SubscriptionCreate
from shared.services import subscriptions


@operation(
    "POST",
    "/v1/subscriptions",
    family="subscriptions",
    summary="Subscribe a customer to a plan (issues the first invoice unless trialing)",
    body=SubscriptionCreate,
    response=Subscription,
    status=201,
)
async def create_subscription(call: Call):
    body: SubscriptionCreate = call.body
    return await subscriptions.create_subscription(
        call.uow(),
        call.tenant_id,
        call.clock,
        customer_id=body.customer_id,
        plan_id=body.plan_id,
        trial_period_days=body.trial_period_days,
        default_tax_rates=body.default_tax_rates,
        coupon=body.coupon,
        promotion_code=body.promotion_code,
    )
