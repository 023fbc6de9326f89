"""Events: responses and the list filters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, Field, StringConstraints, model_validator

from shared.schemas.common import Id, ListQuery, Resource
from shared.schemas.webhooks import Timestamp

TypePattern = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z_.*]+$")]


class EventListQuery(ListQuery):
    type: TypePattern | None = Field(None, description="A type, or a pattern with '*' wildcards: invoice.*")
    created_gte: Timestamp | None = Field(None, alias="created[gte]")
    created_lt: Timestamp | None = Field(None, alias="created[lt]")
    object_id: Id | None = None


class EventRequest(BaseModel):
    id: str | None = Field(description="The X-Request-Id of the request that caused the event")
    api_key: str | None = Field(description="The id of the API key it was made with")


class Event(Resource):
    id: str
    object: Literal["event"] = "event"
    type: str
    created: datetime = Field(description="When it happened, in the object's time (a test clock's, if any)")
    sequence: int = Field(
        validation_alias=AliasChoices("seq", "sequence"),
        description="Increasing per object (in commit order): order an object's events by it",
    )
    data: dict[str, Any] = Field(description="object: the object as the API rendered it then; previous_attributes")
    request: EventRequest | None
    renewal_run: str | None = Field(description="The renewal run that caused it, if one did")
    test_clock: str | None = Field(validation_alias=AliasChoices("test_clock_id", "test_clock"))
    livemode: bool

    @model_validator(mode="before")
    @classmethod
    def _request(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return value
        request_id, api_key_id = getattr(value, "request_id", None), getattr(value, "api_key_id", None)
        request = None if request_id is None and api_key_id is None else {"id": request_id, "api_key": api_key_id}
        return {
            "id": value.id,
            "type": value.type,
            "created": value.created,
            "seq": value.seq,
            "data": value.data,
            "request": request,
            "renewal_run": value.renewal_run,
            "test_clock_id": value.test_clock_id,
            "livemode": value.test_clock_id is None,
        }
