from shared.domain.errors import Invalid
from shared.runtime import idempotent_requests
from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.api_keys import ApiKey, ApiKeyCreate, CreatedApiKey
from shared.services import api_keys


@operation(
    "POST",
    "/v1/api_keys",
    family="api-keys",
    summary="Create an API key: its secret is in this reply only",
    body=ApiKeyCreate,
    response=CreatedApiKey,
    status=201,
)
async def create_api_key(call: Call):
    if call.request.headers.get(idempotent_requests.HEADER) is not None:
        # A replay would have to return the secret, so it would have to be stored in clear.
        raise Invalid(
            f"{idempotent_requests.HEADER} is not accepted here: a key's secret is never stored",
            field=idempotent_requests.HEADER,
        )
    body = call.body
    issued = await api_keys.create_api_key(
        call.uow(), call.tenant_id, call.clock, name=body.name, scope=body.scope, expires_at=body.expires_at
    )
    return {**ApiKey.model_validate(issued.row).model_dump(), "secret": issued.secret}
