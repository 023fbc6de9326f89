from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.common import ListOf, ListQuery
from shared.schemas.coupons import Coupon
from shared.services import coupons


@operation(
    "GET",
    "/v1/coupons",
    family="coupons",
    summary="List coupons, newest first",
    query=ListQuery,
    response=ListOf[Coupon],
)
async def list_coupons(call: Call):
    return await coupons.list_coupons(
        call.uow(), call.tenant_id, limit=call.query.limit, starting_after=call.query.starting_after
    )
