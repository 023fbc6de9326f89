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
    db_pool_size: int = 5
    db_max_overflow: int = 5
    telemetry: bool = True
    # The combined server (no FUNCTION_TARGET) serves internal routes (public=False operations,
    # /metrics) only on this second listener; None port = PORT + 1.
    internal_host: str = "127.0.0.1"
    internal_port: int | None = None
    # A renewal trigger's as-of time may be at most this old.
    renew_max_age_hours: int = 24

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
            db_pool_size=_int(env, "BILLING_DB_POOL_SIZE", 5),
            db_max_overflow=_int(env, "BILLING_DB_MAX_OVERFLOW", 5),
            telemetry=(env.get("BILLING_TELEMETRY") or "on").lower() not in ("off", "0", "false", "no"),
            internal_host=env.get("BILLING_INTERNAL_HOST") or "127.0.0.1",
            internal_port=_int(env, "BILLING_INTERNAL_PORT", 0) or None,
            renew_max_age_hours=max_age,
        )
