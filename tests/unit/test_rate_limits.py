"""Token buckets, the TTL cache and the client address: bounded, and exact on a scripted clock."""

import pytest

from shared.runtime.auth import client_address
from shared.runtime.rate_limits import Buckets
from shared.runtime.ttl_cache import TtlCache
from shared.settings import Settings


class Ticks:
    """A monotonic time source that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    ticks = Ticks()
    buckets = Buckets(rate=2.0, burst=3, now=ticks)
    assert [buckets.take("t") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("t") == 1  # half a second to the next token: Retry-After rounds up
    assert buckets.wait("t") == 1
    ticks.now += 0.5
    assert buckets.wait("t") == 0 and buckets.take("t") == 0
    assert buckets.take("u") == 0  # every key has its own bucket
    ticks.now += 3600
    assert [buckets.take("t") for _ in range(4)] == [0, 0, 0, 1]  # never more than the burst


def test_slow_rates_give_long_retry_afters_and_zero_disables() -> None:
    ticks = Ticks()
    slow = Buckets(rate=0.01, burst=1, now=ticks)
    assert slow.take("t") == 0 and slow.take("t") == 100
    off = Buckets(rate=0, burst=1, now=ticks)
    assert all(off.take("t") == 0 for _ in range(100)) and len(off) == 0


def test_a_refund_gives_back_what_was_taken_but_never_beyond_the_burst() -> None:
    ticks = Ticks()
    buckets = Buckets(rate=0.001, burst=2, now=ticks)
    buckets.take("t"), buckets.take("t")
    assert buckets.wait("t") > 0
    buckets.refund("t")
    assert buckets.take("t") == 0
    buckets.refund("t"), buckets.refund("t"), buckets.refund("t")
    assert [buckets.take("t") for _ in range(3)][2] > 0


def test_the_bucket_table_is_bounded_least_recently_seen_first() -> None:
    buckets = Buckets(rate=1.0, burst=1, max_keys=100, now=Ticks())
    buckets.take("busy")
    for n in range(1000):
        buckets.take(f"client-{n}")
        buckets.take("busy")  # seen all the time: never evicted, so it stays empty
        assert len(buckets) <= 100
    assert buckets.wait("busy") > 0


def test_the_ttl_cache_expires_entries_and_is_bounded() -> None:
    ticks = Ticks()
    cache: TtlCache[str] = TtlCache(1.0, 50, now=ticks)
    cache.put("a", "A")
    ticks.now += 0.99
    assert cache.get("a") == "A"
    ticks.now += 0.01
    assert cache.get("a") is None and len(cache) == 0
    for n in range(500):
        cache.put(str(n), "x")
        assert len(cache) <= 50
    assert cache.get("499") == "x" and cache.get("0") is None
    cache.discard("499")
    assert cache.get("499") is None


@pytest.mark.parametrize(
    ("peer", "forwarded", "hops", "client"),
    [
        ("10.0.0.9", [], 0, "10.0.0.9"),
        ("10.0.0.9", ["203.0.113.7"], 0, "10.0.0.9"),  # no trusted proxy: the header is the client's word
        ("10.0.0.9", ["203.0.113.7"], 1, "203.0.113.7"),
        ("10.0.0.9", ["1.1.1.1, 203.0.113.7"], 1, "203.0.113.7"),  # a forged entry on the left is ignored
        ("10.0.0.9", ["1.1.1.1", "203.0.113.7, 10.0.0.8"], 2, "203.0.113.7"),
        ("10.0.0.9", [], 3, "10.0.0.9"),  # fewer entries than hops: the furthest one known
        (None, [], 0, "unknown"),
        ("10.0.0.9", ["x" * 1000], 1, "x" * 64),
    ],
)
def test_the_client_address_trusts_only_the_configured_proxies(peer, forwarded, hops, client) -> None:  # type: ignore[no-untyped-def]
    assert client_address(peer, forwarded, hops) == client


def test_limit_settings_come_from_the_environment() -> None:
    default = Settings.from_env({})
    assert (default.rate_limit_per_second, default.rate_limit_burst) == (100.0, 200)
    assert (default.auth_failures_per_second, default.auth_failure_burst, default.trusted_proxy_hops) == (1.0, 20, 0)
    custom = Settings.from_env(
        {
            "BILLING_RATE_LIMIT_PER_SECOND": "0",
            "BILLING_RATE_LIMIT_BURST": "5",
            "BILLING_AUTH_FAILURES_PER_SECOND": "0.5",
            "BILLING_AUTH_FAILURE_BURST": "3",
            "BILLING_TRUSTED_PROXY_HOPS": "2",
        }
    )
    assert (custom.rate_limit_per_second, custom.rate_limit_burst) == (0.0, 5)
    assert (custom.auth_failures_per_second, custom.auth_failure_burst, custom.trusted_proxy_hops) == (0.5, 3, 2)
    for name, raw in [
        ("BILLING_RATE_LIMIT_PER_SECOND", "-1"),
        ("BILLING_RATE_LIMIT_PER_SECOND", "fast"),
        ("BILLING_RATE_LIMIT_PER_SECOND", "nan"),
        ("BILLING_RATE_LIMIT_PER_SECOND", "inf"),
        ("BILLING_RATE_LIMIT_BURST", "0"),
        ("BILLING_AUTH_FAILURE_BURST", "-3"),
        ("BILLING_TRUSTED_PROXY_HOPS", "-1"),
    ]:
        with pytest.raises(SystemExit, match=name):
            Settings.from_env({name: raw})
