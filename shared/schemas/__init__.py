"""HTTP request and response models (pydantic): the API's wire format and its OpenAPI."""
