import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.ids import _encode, new_id

_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789abcdefghjkmnpqrstvwxyz")


def reference(value: int) -> str:
    """The format as first written: RFC 4648 base32 of 16 bytes, Crockford's alphabet, 26 characters."""
    return base64.b32encode(value.to_bytes(16, "big")).translate(_CROCKFORD)[:26].decode()


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**48 - 1), st.integers(0, 2**80 - 1), st.integers(0, 2**80 - 1))
def test_the_encoding_is_the_reference_format(millis: int, first: int, second: int) -> None:
    # Two values in one millisecond (the cached head), then the extremes.
    for value in (millis << 80 | first, millis << 80 | second, 0, 2**128 - 1):
        assert _encode(value) == reference(value)


def test_ids_are_prefixed_and_sort_in_creation_order() -> None:
    ids = [new_id("cus") for _ in range(5000)]  # many share a millisecond
    assert all(i.startswith("cus_") and len(i) == 30 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ids_sort_by_time_across_milliseconds() -> None:
    import time

    first = new_id("in")
    time.sleep(0.002)
    assert new_id("in") > first
