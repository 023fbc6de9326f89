"""Named crash points for fault-injection tests: `hit(name)` SIGKILLs the process when
`name` is listed in BILLING_FAILPOINTS (comma-separated). A SIGKILL is the harshest
ending there is: no exception handler, finally block or atexit hook runs, exactly as
when the machine or container dies.

The setting is read once, at import: with it unset (production), `hit` is a lookup in an
empty frozenset. Unknown names refuse to start, so a typo cannot make a test pass vacuously.
"""

from __future__ import annotations

import os
import signal

# Where a writer of invoices can die, in the order it passes them.
NUMBERS_LOCKED = "numbers-locked"  # holds the tenant's invoice-numbering lock, nothing written
INVOICES_WRITTEN = "invoices-written"  # invoices sent to the database, not committed
COMMITTED = "committed"  # committed, the response (or the run's report) not given yet
USAGE_WRITTEN = "usage-written"  # a usage batch sent to the database, not committed

KNOWN = frozenset({NUMBERS_LOCKED, INVOICES_WRITTEN, COMMITTED, USAGE_WRITTEN})


def _enabled(raw: str) -> frozenset[str]:
    names = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = names - KNOWN
    if unknown:
        raise SystemExit(f"BILLING_FAILPOINTS names unknown failpoint(s) {sorted(unknown)}; known: {sorted(KNOWN)}")
    return names


_ENABLED = _enabled(os.environ.get("BILLING_FAILPOINTS", ""))


def hit(name: str) -> None:
    """Die here, at once, if this failpoint is enabled."""
    if name in _ENABLED:
        os.write(2, f"failpoint {name}: SIGKILL\n".encode())  # unbuffered: the tests read it
        os.kill(os.getpid(), signal.SIGKILL)
