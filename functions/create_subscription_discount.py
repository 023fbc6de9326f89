from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.coupons import Discount, DiscountCreate
from shared.services import coupons


@operation(
    "POST",
    "/v1/subscriptions/{id}/discount",
    family="subscriptions",
    summary="Discount the subscription's next invoices with a coupon or promotion code (replaces its discount)",
    body=DiscountCreate,
    response=Discount,
)
async def create_subscription_discount(call: Call):
    body: DiscountCreate = call.body
    return await coupons.apply_discount(
        call.uow(), call.tenant_id, call.path("id"), call.clock, coupon=body.coupon, promotion_code=body.promotion_code
    )
