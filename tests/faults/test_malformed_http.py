"""Garbage on the port is the client's problem: at most one short line per bad request in
the server's log, never an ERROR or a traceback, and never the raw bytes."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

from bench.processes import serve, wait_ready

GARBAGE = [
    b"GET / HTTP/1.1\r\nHost: x\r\nthis is no header zqgarbage\r\n\r\n",
    b"zqgarbage zqgarbage zqgarbage\r\n\r\n",
    b"GET /health HTTP/7.zq\r\nHost: x\r\n\r\n",
    b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: zqgarbage\r\n\r\n",
    b"GET /" + b"zqgarbage" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Zq: \x00\x01zqgarbage\x02\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nzq",
    b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzqgarbage\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03zqgarbage",
    b"\xff\xfe\xfd zqgarbage \r\n\r\n",
]


def send(port: int, payload: bytes) -> bytes:
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            for _ in range(1000):  # until the server closes the connection
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except (ConnectionResetError, BrokenPipeError):  # the server may hang up before reading it all
            pass
    return received


async def test_malformed_http_logs_no_error_and_no_traceback(database_url: str, tmp_path: Path) -> None:
    log_path = tmp_path / "stderr.log"
    with log_path.open("wb") as stderr:
        process, base = serve({"DATABASE_URL": database_url, "BILLING_TELEMETRY": "off"}, stderr=stderr.fileno())
        try:
            await asyncio.to_thread(wait_ready, base, process)
            port = int(base.rsplit(":", 1)[1])
            for payload in GARBAGE:
                reply = await asyncio.to_thread(send, port, payload)
                # aiohttp may answer an oversized request line as HTTP/1.0 before it knows the version.
                assert not reply or reply.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4")), reply[:200]
            with urllib.request.urlopen(f"{base}/health", timeout=30) as reply:  # still serving
                assert reply.status == 200
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
    text = log_path.read_text(errors="replace")
    assert "Traceback" not in text and "zqgarbage" not in text, text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert not [line for line in lines if line["level"] not in ("debug", "info")], text
    malformed = [line for line in lines if line["logger"].startswith("aiohttp")]
    assert len(malformed) <= len(GARBAGE)
    assert all(len(json.dumps(line)) < 300 for line in malformed), malformed
