"""Customer requests and responses, and the email and name rules they enforce."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import AfterValidator, AliasChoices, ConfigDict, EmailStr, Field, StringConstraints, WithJsonSchema

from shared.domain.taxes import TaxExempt
from shared.schemas.common import Body, Id, Metadata, Name, Resource
from shared.schemas.tax_rates import TaxExemptField, TaxRateIds

# The email-validator rule, documented: a domain with a dot, not under a special-use name.
_DOMAIN_RULE = (
    r"^[^@]+@(?=[^@]*\.)(?!(?:[^@]*\.)?(?:" + "|".join(SPECIAL_USE_DOMAIN_NAMES).replace(".", r"\.") + r")\.?$)[^@]+$"
)
# Unique per tenant regardless of case: Ada@Example.com and ada@example.com are one customer.
Email = Annotated[
    EmailStr,
    StringConstraints(max_length=320),
    AfterValidator(str.lower),
    WithJsonSchema(
        {
            "type": "string",
            "format": "email",
            "maxLength": 320,
            "pattern": _DOMAIN_RULE,
            "description": "An email address; its domain needs a dot and may not be a special-use name "
            f"({', '.join(SPECIAL_USE_DOMAIN_NAMES)})",
        }
    ),
]


ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class CustomerCreate(Body):
    # Swagger's "Try it out" sends this unedited: it must create a customer (once: emails are unique).
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"email": "ada@example.com", "name": "Ada Lovelace", "metadata": {"crm_id": "4711"}},
            ]
        }
    )

    email: Email
    name: Name
    metadata: Metadata = Field(default_factory=dict)
    test_clock: Id | None = Field(None, description="A test clock id: the customer then lives in its time")
    external_id: ExternalId | None = Field(
        None, description="Your id for the customer, unique; usage events may use it"
    )
    tax_exempt: TaxExemptField = TaxExempt.NONE
    default_tax_rates: TaxRateIds = Field(default_factory=list)


class CustomerUpdate(Body):
    """Only the fields given change. In metadata, a key set to "" is removed."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Ada King", "metadata": {"crm_id": ""}}]})

    email: Email | None = None
    name: Name | None = None
    metadata: Metadata | None = None
    external_id: ExternalId | None = None
    tax_exempt: TaxExemptField | None = None
    default_tax_rates: TaxRateIds | None = None


class Customer(Resource):
    id: str
    object: Literal["customer"] = "customer"
    email: str
    name: str
    metadata: dict[str, str] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    test_clock: str | None = Field(validation_alias=AliasChoices("test_clock_id", "test_clock"))
    external_id: str | None = None
    livemode: bool = Field(description="false for a test clock's simulated object, true for a real one")
    tax_exempt: TaxExempt
    default_tax_rates: list[str]
    balances: dict[str, int] = Field(
        description="The customer's balance per currency in minor units, the sum of its balance transactions: "
        'negative is credit owed to the customer (e.g. {"USD": -9570}: 95.70), applied to its next invoices'
    )
    created_at: datetime
    updated_at: datetime
