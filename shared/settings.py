"""Process settings, read once from the environment (Functions Framework contract included)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None


def _rate(env: dict[str, str], name: str, default: float) -> float:
    """A non-negative number per second (0 disables the limit it sets)."""
    raw = env.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from None
    if not value >= 0 or value == float("inf"):
        raise SystemExit(f"{name} must be a finite number >= 0, got {raw!r}")
    return value


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise SystemExit(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def _positive(env: dict[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise SystemExit(f"{name} must be at least 1, got {value}")
    return value


def _hops(env: dict[str, str], name: str) -> int:
    value = _int(env, name, 0)
    if value < 0:
        raise SystemExit(f"{name} must be 0 or more, got {value}")
    return value


def _flag(env: dict[str, str], name: str) -> bool:
    raw = (env.get(name) or "false").lower()
    if raw not in ("true", "false", "1", "0", "on", "off", "yes", "no"):
        raise SystemExit(f"{name} must be true or false, got {raw!r}")
    return raw in ("true", "1", "on", "yes")


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    host: str = "0.0.0.0"
    port: int = 8080
    # Functions Framework contract: which function(s) this process serves, and how.
    function_target: str | None = None
    signature_type: str | None = None
    bootstrap_api_key: str | None = None
    data_dir: Path = field(default_factory=lambda: Path(".data"))
    max_body_bytes: int = 64 * 1024
    # Ten connections kept open (the pool never closes one it opened, but for a broken one);
    # an overflow connection is closed when it comes back to a full pool and opened again by
    # the next burst: a new PostgreSQL backend every ~14 GETs at concurrency 16.
    db_pool_size: int = 10
    db_max_overflow: int = 0
    telemetry: bool = True
    # Test-clock advances run in the background: a worker owns one for a lease of real
    # time (renewed while it works); a crashed worker's lease runs out and another resumes.
    clock_lease_seconds: int = 30
    clock_poll_seconds: int = 5  # how often a process looks for advances nobody holds
    renewal_invoice_budget: int = 5000  # most invoices one renewal batch builds (bounded memory)
    # Per-tenant request limit in this process (token bucket); 0 per second disables it.
    rate_limit_per_second: float = 100.0
    rate_limit_burst: int = 200
    # Failed authentications allowed per client address before 429 (token bucket); 0 disables.
    auth_failures_per_second: float = 1.0
    auth_failure_burst: int = 20
    # Proxies in front of the process that append to X-Forwarded-For (0: the peer address is the client).
    trusted_proxy_hops: int = 0
    db_pool_timeout: float = 5.0  # seconds to wait for a pooled connection (or a new one), then 503
    # The combined server (no FUNCTION_TARGET) serves internal routes (public=False operations,
    # /metrics) only on this second listener; None port = PORT + 1.
    internal_host: str = "127.0.0.1"
    internal_port: int | None = None
    # A renewal trigger's as-of time may be at most this old.
    renew_max_age_hours: int = 24
    # Webhooks: plain http and loopback/private/link-local targets (local runs and tests only).
    webhook_allow_private: bool = False
    event_retention_days: int = 30  # events (and their deliveries) older than this are pruned
    dispatch_poll_seconds: float = 5.0  # the dispatcher's poll, besides LISTEN/NOTIFY wake-ups
    dispatch_batch: int = 100  # deliveries one dispatcher claim takes
    # How long a claimed attempt is the claimer's; keep it above the 10 s send timeout.
    dispatch_lease_seconds: float = 60.0
    k_sink: str | None = None  # Knative SinkBinding: every event also goes there as a CloudEvent
    # A usage event may be at most this far ahead of its customer's now.
    usage_max_future_seconds: int = 300

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        signature = env.get("FUNCTION_SIGNATURE_TYPE") or None
        if signature not in (None, "http", "cloudevent"):
            raise SystemExit(f"FUNCTION_SIGNATURE_TYPE must be 'http' or 'cloudevent', got {signature!r}")
        max_age = _int(env, "BILLING_RENEW_MAX_AGE_HOURS", 24)
        if max_age < 1:
            raise SystemExit(f"BILLING_RENEW_MAX_AGE_HOURS must be at least 1, got {max_age}")
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            host=env.get("HOST") or "0.0.0.0",
            port=_int(env, "PORT", 8080),
            function_target=env.get("FUNCTION_TARGET") or None,
            signature_type=signature,
            bootstrap_api_key=env.get("BILLING_BOOTSTRAP_API_KEY") or None,
            data_dir=Path(env.get("BILLING_DATA_DIR") or ".data"),
            max_body_bytes=_int(env, "BILLING_MAX_BODY_BYTES", 64 * 1024),
            db_pool_size=_int(env, "BILLING_DB_POOL_SIZE", 10),
            db_max_overflow=_int(env, "BILLING_DB_MAX_OVERFLOW", 0),
            telemetry=(env.get("BILLING_TELEMETRY") or "on").lower() not in ("off", "0", "false", "no"),
            clock_lease_seconds=_positive(env, "BILLING_CLOCK_LEASE_SECONDS", 30),
            clock_poll_seconds=_positive(env, "BILLING_CLOCK_POLL_SECONDS", 5),
            renewal_invoice_budget=_positive(env, "BILLING_RENEWAL_INVOICE_BUDGET", 5000),
            rate_limit_per_second=_rate(env, "BILLING_RATE_LIMIT_PER_SECOND", 100.0),
            rate_limit_burst=_positive(env, "BILLING_RATE_LIMIT_BURST", 200),
            auth_failures_per_second=_rate(env, "BILLING_AUTH_FAILURES_PER_SECOND", 1.0),
            auth_failure_burst=_positive(env, "BILLING_AUTH_FAILURE_BURST", 20),
            trusted_proxy_hops=_hops(env, "BILLING_TRUSTED_PROXY_HOPS"),
            db_pool_timeout=_seconds(env, "BILLING_DB_POOL_TIMEOUT", 5.0),
            internal_host=env.get("BILLING_INTERNAL_HOST") or "127.0.0.1",
            internal_port=_int(env, "BILLING_INTERNAL_PORT", 0) or None,
            renew_max_age_hours=max_age,
            webhook_allow_private=_flag(env, "BILLING_WEBHOOK_ALLOW_PRIVATE"),
            event_retention_days=_positive(env, "BILLING_EVENT_RETENTION_DAYS", 30),
            dispatch_poll_seconds=_seconds(env, "BILLING_DISPATCH_POLL_SECONDS", 5.0),
            dispatch_batch=_positive(env, "BILLING_DISPATCH_BATCH", 100),
            dispatch_lease_seconds=_seconds(env, "BILLING_DISPATCH_LEASE_SECONDS", 60.0),
            k_sink=env.get("K_SINK") or None,
            usage_max_future_seconds=_positive(env, "BILLING_USAGE_MAX_FUTURE_SECONDS", 300),
        )
