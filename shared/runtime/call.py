"""What a function handler receives: the parsed request, its tenant, and its resources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from shared.clock import Clock
from shared.runtime.app_state import CLOCK, ENGINE, READS, SESSIONS, TENANT_ID

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from shared.db.hot_reads import Database
    from shared.db.uow import UnitOfWork


@dataclass(frozen=True)
class Rendered:
    """A response payload already in the API's shape (plain JSON values, in field order),
    read by shared.db.hot_reads: rendered as JSON without a model round."""

    payload: Any


@dataclass(frozen=True)
class Call:
    request: web.Request
    body: Any = None
    query: Any = None

    @property
    def tenant_id(self) -> str:
        return self.request[TENANT_ID]

    @property
    def clock(self) -> Clock:
        return self.request.app[CLOCK]

    def path(self, name: str) -> str:
        return self.request.match_info[name]

    def uow(self) -> UnitOfWork:
        from shared.db.uow import UnitOfWork  # loaded by the functions that use it (cold start)

        return UnitOfWork(self.request.app[SESSIONS])

    @property
    def engine(self) -> AsyncEngine:
        return self.request.app[ENGINE]

    @property
    def reads(self) -> Database:
        """For shared.db.hot_reads: all a driver_only operation may use."""
        return self.request.app[READS]
