from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.coupons import Coupon, CouponCreate
from shared.services import coupons


@operation(
    "POST",
    "/v1/coupons",
    family="coupons",
    summary="Create a coupon: percent_off or amount_off, once, repeating (billing periods) or forever",
    body=CouponCreate,
    response=Coupon,
    status=201,
)
async def create_coupon(call: Call):
    body: CouponCreate = call.body
    return await coupons.create_coupon(
        call.uow(),
        call.tenant_id,
        call.clock,
        id=body.id,
        name=body.name,
        percent_off=body.percent_off,
        amount_off=body.amount_off,
        currency=body.currency,
        duration=body.duration,
        duration_in_periods=body.duration_in_periods,
        max_redemptions=body.max_redemptions,
        redeem_by=body.redeem_by,
        applies_to_plans=None if body.applies_to is None else body.applies_to.plans,
    )
