from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AliasChoices, EmailStr, Field, StringConstraints

from shared.schemas.common import Body, Id, Metadata, Name, Resource

# Unique per tenant regardless of case: Ada@Example.com and ada@example.com are one customer.
Email = Annotated[EmailStr, StringConstraints(max_length=320), AfterValidator(str.lower)]


class CustomerCreate(Body):
    email: Email
    name: Name
    metadata: Metadata = Field(default_factory=dict)
    test_clock: Id | None = Field(None, description="A test clock id: the customer then lives in its time")


class CustomerUpdate(Body):
    """Only the fields given change. In metadata, a key set to "" is removed."""

    email: Email | None = None
    name: Name | None = None
    metadata: Metadata | None = None


class Customer(Resource):
    id: str
    object: Literal["customer"] = "customer"
    email: str
    name: str
    metadata: dict[str, str] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    test_clock: str | None = Field(validation_alias=AliasChoices("test_clock_id", "test_clock"))
    created_at: datetime
    updated_at: datetime
