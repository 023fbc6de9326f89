"""A real webhook receiver for the tests: an aiohttp server on loopback that records every
request and answers from a script (e.g. 500 once, then 200)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    received: list[Received] = field(default_factory=list)
    # Replies to give, in order (status, headers); then 200 for ever.
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(dict(request.headers), await request.read()))
        status, headers = self.script.pop(0) if self.script else (200, {})
        return web.Response(status=status, headers=headers, text="ok" if status < 300 else "x" * 5000)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hooks", self.handle)
        return app

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every request received, verified with the reference implementation."""
        return [Webhook(secret).verify(r.body, r.headers) for r in self.received]

    async def wait_for(self, done: Callable[[], bool], seconds: float = 60.0) -> None:
        """Until `done()` holds (generous bound: the machine may be busy)."""
        deadline = time.monotonic() + seconds
        while not done():
            assert time.monotonic() < deadline, f"gave up after {seconds}s with {len(self.received)} received"
            await asyncio.sleep(0.05)
