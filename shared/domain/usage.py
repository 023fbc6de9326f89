"""Meters and usage events: what an event measures, and which events are accepted.

Pure rules over plain values; the ingestion service applies them to a whole batch and
writes the accepted events with one statement.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

# The largest magnitude of a numeric property (fits NUMERIC comfortably, sums stay exact).
MAX_VALUE = Decimal(10) ** 15


class Aggregation(StrEnum):
    COUNT = "count"  # number of events
    SUM = "sum"  # sum of value_property
    MAX = "max"  # largest value_property
    UNIQUE_COUNT = "unique_count"  # number of distinct values of value_property (any JSON scalar)
    LATEST = "latest"  # value_property of the latest event (by timestamp, then event id)


class Status(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"  # same id, same content: nothing written
    CONFLICT = "conflict"  # same id, different content: nothing written
    REJECTED = "rejected"


@dataclass(frozen=True)
class MeterRule:
    aggregation: Aggregation
    value_property: str | None
    filters: Mapping[str, Any]


@dataclass(frozen=True)
class Measured:
    value: Decimal | None  # sum, max, latest
    unique_value: str | None  # unique_count
    counted: bool  # the meter's filters matched (an unmatched event is stored, not counted)


class Rejected(Exception):
    """An event the batch refuses; `reason` is what the client reads."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _number(value: Any) -> Decimal | None:
    """A JSON number or a decimal string, finite; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        if not number.is_finite():
            return None
    else:
        return None
    return number if abs(number) <= MAX_VALUE else None


def measure(rule: MeterRule, properties: Mapping[str, Any]) -> Measured:
    """What one event contributes to its meter, or Rejected (missing or non-numeric property)."""
    counted = all(properties.get(key) == value for key, value in rule.filters.items())
    if rule.aggregation is Aggregation.COUNT:
        return Measured(None, None, counted)
    name = rule.value_property or ""
    if name not in properties or properties[name] is None:
        raise Rejected(f"missing property '{name}'")
    raw = properties[name]
    if rule.aggregation is Aggregation.UNIQUE_COUNT:
        if isinstance(raw, dict | list):
            raise Rejected(f"property '{name}' must be a string or a number")
        return Measured(None, json.dumps(raw) if not isinstance(raw, str) else raw, counted)
    number = _number(raw)
    if number is None:
        raise Rejected(f"property '{name}' is not a number (or beyond 10^15)")
    return Measured(number, None, counted)


def check_time(timestamp: datetime, now: datetime, max_future: timedelta, billed_until: datetime | None) -> None:
    """An event may be at most `max_future` ahead of the customer's now, and not in a
    period whose usage is already invoiced (before `billed_until`)."""
    if not 2000 <= timestamp.year <= 2200:
        raise Rejected("timestamp must be between the years 2000 and 2200")
    if timestamp > now + max_future:
        raise Rejected(f"timestamp is more than {int(max_future.total_seconds())} s in the future")
    if billed_until is not None and timestamp < billed_until:
        raise Rejected("timestamp is in a period whose invoice is already issued")


# The canonical JSON of an event's content: sorted keys, no spaces, ASCII. The C encoder is
# made once and reused (JSONEncoder.encode makes one per call); same text either way.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)
_c_encoder = getattr(json.encoder, "c_make_encoder", None)
_fast = (
    _c_encoder(None, str, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True)
    if _c_encoder is not None
    else None
)


def canonical(value: Any) -> str:
    """`value` as canonical JSON text (the properties are stored and fingerprinted as this)."""
    if _fast is None or isinstance(value, str):
        return _CANONICAL.encode(value)
    return "".join(_fast(value, 0))


def fingerprint(customer: str, meter: str, timestamp: datetime, properties: str) -> str:
    """The content of an event, hashed: a resend with the same id and fingerprint is a
    duplicate, with another fingerprint a conflict. `properties` is their canonical JSON
    (`canonical`), `timestamp` in UTC. The hash is of the canonical JSON of [customer, meter,
    timestamp (ISO 8601), properties], built by concatenation (the text the encoder makes of
    that list)."""
    text = f'[{_string(customer)},{_string(meter)},"{timestamp.isoformat()}",{properties}]'
    return hashlib.sha256(text.encode()).hexdigest()


_string = json.encoder.encode_basestring_ascii
