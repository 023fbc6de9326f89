"""An event's fingerprint is stored with its id and compared on every resend: its text must
never change, or a resend of an event stored before a change would read as a conflict.
The fast path (one reused C encoder, the list built by concatenation) must give exactly the
fingerprint of the original definition, written out here."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.usage import canonical, fingerprint


def reference(customer: str, meter: str, timestamp: datetime, properties: dict[str, Any]) -> str:
    """The definition the stored fingerprints were made with."""
    text = json.dumps(
        [customer, meter, timestamp.isoformat(), properties], sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
) | st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2199, 12, 1)).map(
    lambda d: d.replace(tzinfo=timezone(timedelta(hours=5, minutes=30))).astimezone(UTC)
)


@settings(max_examples=300, deadline=None)
@given(
    customer=st.text(max_size=30),
    meter=st.text(max_size=30),
    timestamp=moments,
    properties=st.dictionaries(st.text(max_size=10), scalars, max_size=6),
)
def test_the_fingerprint_is_the_original_definition(
    customer: str, meter: str, timestamp: datetime, properties: dict[str, Any]
) -> None:
    stored = canonical(properties)
    assert stored == json.dumps(properties, sort_keys=True, separators=(",", ":"))
    assert json.loads(stored) == properties
    assert fingerprint(customer, meter, timestamp, stored) == reference(customer, meter, timestamp, properties)


def test_known_fingerprints_never_change() -> None:
    at = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)
    properties = {"path": "/search", "n": 2.5, "ok": True, "é": None}
    made_before = "0530e2a135582709b95827ba24eb778604aae30300d2b758a9aa2cac90213e09"  # by the original code
    assert fingerprint("cus_1", "api-calls", at, canonical(properties)) == made_before
    assert reference("cus_1", "api-calls", at, properties) == made_before
