from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.api_keys import ApiKey
from shared.schemas.common import ListOf, ListQuery
from shared.services import api_keys


@operation(
    "GET",
    "/v1/api_keys",
    family="api-keys",
    summary="List API keys (prefixes only), newest first",
    query=ListQuery,
    response=ListOf[ApiKey],
)
async def list_api_keys(call: Call):
    return await api_keys.list_api_keys(
        call.uow(), call.tenant_id, limit=call.query.limit, starting_after=call.query.starting_after
    )
