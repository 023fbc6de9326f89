"""CPU seconds a piece of work cost, client and database together: on a machine shared with
other work, wall-clock rates of two runs are compared under different loads, while the CPU
each one used barely depends on them. Linux only (/proc); the database must run on this
machine (the embedded server, or a local one), else only the client's CPU is counted.

    meter = await ServerCpu.of(conn)   # any connection to the server
    before = meter.seconds()
    ...                                # the work
    used = meter.seconds() - before    # this process + the server's processes
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import asyncpg

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from the 3rd (state) on


class ServerCpu:
    def __init__(self, postmaster: int | None) -> None:
        self.postmaster = postmaster

    @classmethod
    async def of(cls, conn: asyncpg.Connection) -> ServerCpu:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        fields = _stat(backend)
        return cls(int(fields[1]) if fields else None)  # the backend's parent: the postmaster

    def server_seconds(self) -> float:
        """The server's CPU so far: the postmaster's own and its reaped children's, plus its
        live children's (backends, checkpointer, WAL writer...)."""
        if self.postmaster is None:
            return 0.0
        own = _stat(self.postmaster)
        if own is None:
            return 0.0
        ticks = sum(int(own[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                fields = _stat(int(entry.name))
                if fields is not None and fields[1] == str(self.postmaster):
                    ticks += int(fields[11]) + int(fields[12])
        return ticks / _TICK

    def seconds(self) -> float:
        return time.process_time() + self.server_seconds()
