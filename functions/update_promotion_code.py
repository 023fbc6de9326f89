from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.coupons import PromotionCode, PromotionCodeUpdate
from shared.services import coupons


@operation(
    "PATCH",
    "/v1/promotion_codes/{id}",
    family="coupons",
    summary="Activate or deactivate a promotion code",
    body=PromotionCodeUpdate,
    response=PromotionCode,
)
async def update_promotion_code(call: Call):
    body: PromotionCodeUpdate = call.body
    return await coupons.update_promotion_code(
        call.uow(), call.tenant_id, call.path("id"), call.clock, active=body.active
    )
