"""Typed application and request state (aiohttp AppKey / RequestKey)."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.clock import Clock
from shared.renewal.clock_advances import Advancer
from shared.runtime.registry import Operation
from shared.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)  # type: ignore[type-abstract]
OPERATIONS = web.AppKey("operations", tuple[Operation, ...])
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
KEY_CACHE = web.AppKey("key_cache", dict[str, tuple[str, float]])
ADVANCES = web.AppKey("advances", Advancer)  # the test-clock advance worker, where it runs

REQUEST_ID = web.RequestKey("request_id", str)
TENANT_ID = web.RequestKey("tenant_id", str)
