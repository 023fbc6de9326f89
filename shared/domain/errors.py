"""Domain errors. The runtime maps each class to one problem+json type in one place."""

from __future__ import annotations


class DomainError(Exception):
    """Base for every error a use case raises on purpose."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(DomainError):
    """The object does not exist for this tenant (another tenant's object is 'not found')."""


class Conflict(DomainError):
    """The request is valid but conflicts with the current state (duplicate, illegal transition)."""


class Invalid(DomainError):
    """The request is well-formed but breaks a business rule (e.g. currency mismatch)."""
