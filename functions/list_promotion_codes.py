from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.common import ListOf
from shared.schemas.coupons import PromotionCode, PromotionCodeListQuery
from shared.services import coupons


@operation(
    "GET",
    "/v1/promotion_codes",
    family="coupons",
    summary="List promotion codes, newest first (code: find one regardless of case)",
    query=PromotionCodeListQuery,
    response=ListOf[PromotionCode],
)
async def list_promotion_codes(call: Call):
    query: PromotionCodeListQuery = call.query
    return await coupons.list_promotion_codes(
        call.uow(),
        call.tenant_id,
        limit=query.limit,
        starting_after=query.starting_after,
        code=query.code,
        active=query.active,
    )
