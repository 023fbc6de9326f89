from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.coupons import PromotionCode, PromotionCodeCreate
from shared.services import coupons


@operation(
    "POST",
    "/v1/promotion_codes",
    family="coupons",
    summary="Create a customer-facing promotion code for a coupon",
    body=PromotionCodeCreate,
    response=PromotionCode,
    status=201,
)
async def create_promotion_code(call: Call):
    body: PromotionCodeCreate = call.body
    return await coupons.create_promotion_code(call.uow(), call.tenant_id, call.clock, **body.model_dump())
