"""Listening sockets for `billing serve`, bound before anything slow starts.

A taken port is then one line naming the process that holds it (found through /proc on
Linux; elsewhere the line just says the port is in use), instead of a traceback after the
"serving" line. A port the user did not choose is replaced by the next free one.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from pathlib import Path

NEXT_PORTS = 100  # how far past a taken default port to look for a free one
_LISTEN = "0A"  # the LISTEN state in /proc/net/tcp
_CMDLINE_CHARS = 80


class PortInUse(Exception):
    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.port = port


@dataclass
class Listener:
    sockets: list[socket.socket]
    port: int
    note: str | None = None  # why this is not the port asked for

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def _process(pid: str) -> str:
    try:
        argv = (Path("/proc") / pid / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return f"pid {pid}"
    command = " ".join(part.decode(errors="replace") for part in argv if part)
    if len(command) > _CMDLINE_CHARS:
        command = command[: _CMDLINE_CHARS - 1] + "…"
    return f"pid {pid} ({command})" if command else f"pid {pid}"


def holder(port: int, proc: Path = Path("/proc")) -> str | None:
    """The process listening on TCP `port` ("pid 42 (python -m http.server)"), or None
    when it cannot be told (no /proc, another user's or container's process)."""
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    try:
        pids = [entry.name for entry in proc.iterdir() if entry.name.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            descriptors = list((proc / pid / "fd").iterdir())
        except OSError:  # gone, or not ours to look at
            continue
        for descriptor in descriptors:
            try:
                if os.readlink(descriptor) in inodes:
                    return _process(pid)
            except OSError:
                continue
    return None


def listen(host: str, port: int) -> list[socket.socket]:
    """Listen on every address `host` resolves to; PortInUse if any of them is taken."""
    addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, address in dict.fromkeys((a[0], a[4][:2]) for a in addresses):
            sockets.append(socket.create_server(address, family=family))
    except OSError as error:
        for sock in sockets:
            sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(port) from None
        raise
    return sockets


def _in_use(port: int) -> str:
    found = holder(port)
    return f"port {port} is in use by {found}" if found else f"port {port} is in use"


def claim(host: str, port: int, *, setting: str, chosen: bool, avoid: frozenset[int] = frozenset()) -> Listener:
    """Listen on host:port. A port the user `chosen` (set `setting`) must be free: else one
    line naming its holder, and exit. Otherwise the next free port will do, and says so."""
    if not 0 <= port <= 65535:
        raise SystemExit(f"billing serve: {setting} must be a port number from 1 to 65535, got {port}")
    candidates = [port] if chosen else [p for p in range(port, min(port + NEXT_PORTS, 65536)) if p not in avoid]
    for candidate in candidates:
        try:
            sockets = listen(host, candidate)
        except PortInUse:
            continue
        except OSError as error:  # a host that is not ours, a privileged port, an unknown name
            raise SystemExit(
                f"billing serve: cannot listen on {host}:{candidate} ({setting}): {error.strerror or error}"
            ) from None
        bound = sockets[0].getsockname()[1]
        note = None if candidate == port else f"{_in_use(port)}; {setting} is not set, so using {bound} instead"
        return Listener(sockets, bound, note)
    if chosen:
        raise SystemExit(f"billing serve: {_in_use(port)} on {host or '*'}: stop it, or set another {setting}")
    raise SystemExit(f"billing serve: ports {port}-{candidates[-1]} are all in use on {host or '*'}: set {setting}")
