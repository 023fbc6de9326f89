from shared.runtime.app_state import AUTH
from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.api_keys import ApiKey
from shared.services import api_keys


@operation(
    "DELETE",
    "/v1/api_keys/{id}",
    family="api-keys",
    summary="Revoke an API key for good (revoking it again answers the same revoked key)",
    response=ApiKey,
)
async def revoke_api_key(call: Call):
    revoked = await api_keys.revoke_api_key(call.uow(), call.tenant_id, call.path("id"), call.clock)
    call.request.app[AUTH].forget(revoked.key_hash)  # other processes: within the key cache's second
    return revoked
