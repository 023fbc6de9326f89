"""Who is calling: the API key's tenant, id and scope, behind the door's load shedding.

- A valid key is remembered for KEY_CACHE_SECONDS (so a revoked key stops working on every
  process within that time; the process that revokes forgets it at once).
- An unknown or revoked key is remembered for NEGATIVE_CACHE_SECONDS: a retried bad key
  costs no query.
- Failed authentications are limited per client address (token bucket): past the limit,
  any key this process has not found valid in the last VOUCHED_SECONDS is answered 429
  without a query, so a flood of made-up keys cannot queue real tenants behind it in the
  pool, nor lock out the tenants it knows when every client shares one proxy's address.
- Requests are limited per tenant (token bucket, per process): 429 with Retry-After.
Every table here is bounded in size.
"""

from __future__ import annotations

from datetime import datetime

from shared.db import hot_reads
from shared.domain.api_keys import Grant, hash_key
from shared.runtime.rate_limits import Buckets
from shared.runtime.ttl_cache import TtlCache
from shared.settings import Settings

KEY_CACHE_SECONDS = 1.0
NEGATIVE_CACHE_SECONDS = 5.0
VOUCHED_SECONDS = 600.0  # a key found valid this recently is never held back by the failure limit
CACHE_ENTRIES = 10_000
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="billing"'}
MAX_ADDRESS = 64  # characters of a client address kept as a table key


class Refused(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


def client_address(peer: str | None, forwarded_for: list[str], trusted_hops: int) -> str:
    """The caller's address: the peer's, or with `trusted_hops` proxies in front (each
    appending its peer to X-Forwarded-For) the entry that many places from the right.
    Entries further left are the client's own word and are never trusted."""
    chain = (
        [part.strip() for header in forwarded_for for part in header.split(",") if part.strip()] if trusted_hops else []
    )
    chain.append(peer or "unknown")
    return chain[max(0, len(chain) - 1 - trusted_hops)][:MAX_ADDRESS]


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self.known: TtlCache[Grant] = TtlCache(KEY_CACHE_SECONDS, CACHE_ENTRIES)
        self.unknown: TtlCache[bool] = TtlCache(NEGATIVE_CACHE_SECONDS, CACHE_ENTRIES)
        self.recent: TtlCache[bool] = TtlCache(VOUCHED_SECONDS, CACHE_ENTRIES)
        self.failures = Buckets(settings.auth_failures_per_second, settings.auth_failure_burst)
        self.requests = Buckets(settings.rate_limit_per_second, settings.rate_limit_burst)

    async def grant(self, key: str, client: str, engine: hot_reads.Database, now: datetime) -> Grant:
        digest = hash_key(key)
        grant = self.known.get(digest)
        if grant is None:
            # A key this process saw valid lately is looked up whatever its client's record:
            # behind a shared proxy, one attacker must not lock out the tenants we know.
            vouched = self.recent.get(digest) is not None
            # Any other lookup takes a failure token first (given back if the key is good),
            # so concurrent made-up keys from one client cannot all reach the database.
            wait = 0 if vouched else self.failures.take(client)
            if wait:
                raise Refused(
                    429, "too many failed authentications from this address; retry later", {"Retry-After": str(wait)}
                )
            if self.unknown.get(digest) is None:
                grant = await hot_reads.grant(engine, digest)
            if grant is None:
                self.unknown.put(digest, True)
                self.recent.discard(digest)
                raise Refused(401, "the API key is not valid", CHALLENGE)
            if not vouched:
                self.failures.refund(client)
            self.known.put(digest, grant)
            self.recent.put(digest, True)
        if grant.expired(now):
            self.failures.take(client)
            raise Refused(401, "the API key has expired", CHALLENGE)
        return grant

    def admit(self, grant: Grant, write: bool) -> None:
        """The tenant's request budget, then the key's scope."""
        wait = self.requests.take(grant.tenant_id)
        if wait:
            raise Refused(429, "too many requests for this account; retry later", {"Retry-After": str(wait)})
        if write and not grant.may_write:
            raise Refused(403, "this API key may only read (scope 'read')")

    def forget(self, key_hash: str) -> None:
        """A key revoked here stops working here at once."""
        self.known.discard(key_hash)
