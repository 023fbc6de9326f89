"""`billing renew` in a terminal: the progress bar is on stderr, log lines print above it
(never glued to its end), and stdout carries only the JSON report. The terminal is a real
pseudo-terminal (pty), the renewal a real run over seeded due subscriptions."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time
from datetime import UTC, datetime

from bench.processes import BILLING
from bench.seed import seed_due_subscriptions

LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?:INFO|WARNING|ERROR) ")


def in_a_terminal(database_url: str, *, stdout_too: bool) -> tuple[int, str, str]:
    """Run `billing renew` with stderr (and stdout_too) on a pty; (exit code, terminal text, stdout)."""
    terminal, child = pty.openpty()
    env = {**os.environ, "DATABASE_URL": database_url, "TERM": "xterm-256color", "COLUMNS": "120"}
    process = subprocess.Popen(
        [str(BILLING), "renew", "--batch-size", "100"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=child if stdout_too else subprocess.PIPE,
        stderr=child,
    )
    os.close(child)
    received = b""
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([terminal], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # EIO: the child side is closed
                break
            if not chunk:
                break
            received += chunk
        code = process.wait(timeout=120)
        out = process.stdout.read().decode() if process.stdout else ""
    finally:
        os.close(terminal)
        if process.poll() is None:
            process.kill()
            process.wait(timeout=60)
    return code, received.decode(errors="replace"), out


async def test_log_lines_print_above_the_progress_bar_not_across_it(database_url: str) -> None:
    await seed_due_subscriptions(database_url, 500, datetime.now(UTC))
    code, text, _ = in_a_terminal(database_url, stdout_too=True)
    assert code == 0, text
    assert "renewing" in text and "\x1b[" in text  # a live bar was drawn
    starts = [m.start() for m in LOG_LINE.finditer(text)]
    assert any("renewal run as of" in text[s : s + 200] for s in starts), text
    for start in starts:
        before = text[:start]
        # A line of its own: at the start, after a newline, or after the bar was erased.
        assert before == "" or before.endswith(("\n", "\x1b[2K")), repr(text[max(0, start - 80) : start + 60])


async def test_stdout_is_only_the_report_while_the_bar_is_on_the_terminal(database_url: str) -> None:
    await seed_due_subscriptions(database_url, 200, datetime.now(UTC))
    code, text, out = in_a_terminal(database_url, stdout_too=False)
    assert code == 0, text
    assert "renewing" in text  # the bar is on stderr
    [line] = out.splitlines()
    report = json.loads(line)
    assert report["renewed"] == 200 and report["invoices_created"] == 200
