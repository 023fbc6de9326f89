"""Typed application and request state (aiohttp AppKey / RequestKey)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from shared.clock import Clock
from shared.runtime.auth import Authenticator
from shared.runtime.registry import Operation
from shared.settings import Settings

if TYPE_CHECKING:  # the workers (and the renewal engine under them) load only where they run
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from shared.db.hot_reads import Database
    from shared.events.dispatcher import Dispatcher
    from shared.renewal.clock_advances import Advancer

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
OPERATIONS = web.AppKey("operations", tuple[Operation, ...])
# The SQLAlchemy engine and sessions: absent where every operation is driver_only (the
# process then never imports SQLAlchemy, see shared.runtime.registry).
ENGINE: web.AppKey[AsyncEngine] = web.AppKey("engine")
SESSIONS: web.AppKey[async_sessionmaker[AsyncSession]] = web.AppKey("sessions")
# Where the hot reads, authentication and /ready get a connection: the engine, or the
# plain asyncpg pool of a driver-only process (shared.db.driver_pool).
READS: web.AppKey[Database] = web.AppKey("reads")
ADVANCES: web.AppKey[Advancer] = web.AppKey("advances")  # the test-clock advance worker, where it runs
DISPATCHER: web.AppKey[Dispatcher] = web.AppKey("dispatcher")  # the event dispatcher, where it runs in the background
AUTH = web.AppKey("auth", Authenticator)  # key caches and rate limits of this process

REQUEST_ID = web.RequestKey("request_id", str)
TENANT_ID = web.RequestKey("tenant_id", str)
# The API key that authenticated the request, and its scope ("read" | "write").
API_KEY_ID = web.RequestKey("api_key_id", str)
API_KEY_SCOPE = web.RequestKey("api_key_scope", str)
