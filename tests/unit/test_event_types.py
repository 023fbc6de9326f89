"""The event type list (shared.domain.events) is complete: every type the code writes is in
it, so a webhook endpoint can subscribe to it by name (and the OpenAPI enumerates it)."""

from __future__ import annotations

import re
from pathlib import Path

from shared.domain.events import EVENT_TYPES, known_or_wildcard

ROOT = Path(__file__).resolve().parents[2]
LITERAL = re.compile(r"[\"']((?:[a-z_]+\.)+[a-z_]+)[\"']")


def test_every_event_type_the_code_writes_is_listed() -> None:
    kinds = {t.split(".")[0] for t in EVENT_TYPES}
    written = {
        literal
        for folder in ("shared", "functions")
        for path in (ROOT / folder).rglob("*.py")
        for literal in LITERAL.findall(path.read_text())
        if literal.split(".")[0] in kinds
    }
    assert written - set(EVENT_TYPES) == set()
    assert {"coupon.deleted", "customer.balance_transaction.created", "plan.updated"} <= written


def test_enabled_events_name_a_listed_type_or_a_pattern() -> None:
    assert known_or_wildcard("tax_rate.updated") == "tax_rate.updated"
    assert known_or_wildcard("customer.discount.*") == "customer.discount.*"
    try:
        known_or_wildcard("tax_rate.update")
    except ValueError as error:
        assert "unknown event type 'tax_rate.update'" in str(error)
    else:
        raise AssertionError("a misspelt type was accepted")
