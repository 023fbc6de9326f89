"""Tenant names: pure rules, no I/O."""

from __future__ import annotations

import unicodedata

from shared.domain.errors import Invalid

MAX_NAME_LENGTH = 256


def tenant_name(raw: str) -> str:
    """The name as stored: surrounding whitespace removed, then 1-256 characters on one line
    (no control characters: names are printed in logs and CLI lines). Unique regardless of
    case, which the database enforces (`uq_tenants_name` on lower(name))."""
    name = raw.strip()
    if not name:
        raise Invalid("a tenant name must not be empty or only whitespace", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(
            f"a tenant name has at most {MAX_NAME_LENGTH} characters (this one has {len(name)})", field="name"
        )
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise Invalid("a tenant name must not contain control characters (tabs, line breaks, NUL ...)", field="name")
    return name
