from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.api_keys import ApiKey
from shared.services import api_keys


@operation("GET", "/v1/api_keys/{id}", family="api-keys", summary="Retrieve an API key (prefix only)", response=ApiKey)
async def get_api_key(call: Call):
    return await api_keys.get_api_key(call.uow(), call.tenant_id, call.path("id"))
