"""How fast does a renewal run bill due subscriptions?

    python -m bench.renewal [--subscriptions 100000] [--batch-size 1000] [--months-due 1]

Seeds one tenant with N monthly subscriptions that are `months-due` periods behind, then
times one full run of the batch engine (claim, invoice, lines, advance, commit per batch).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import scratch_database
from bench.seed import seed_due_subscriptions
from shared.db.engine import async_url
from shared.renewal import Scope, renew
from shared.renewal.engine import DEFAULT_WORKERS

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


async def run(url: str, count: int, batch_size: int, months_due: int, workers: int) -> dict:
    started = time.perf_counter()
    await seed_due_subscriptions(url, count, NOW, months_due=months_due)
    seeded = time.perf_counter() - started
    engine = create_async_engine(async_url(url), pool_size=workers + 1)
    try:
        report = await renew(engine, Scope(), NOW, batch_size=batch_size, workers=workers)
    finally:
        await engine.dispose()
    assert report.invoices_created == count * months_due, report
    return {
        "benchmark": "renewal",
        "subscriptions": count,
        "periods_each": months_due,
        "batch_size": batch_size,
        "workers": workers,
        "invoices_created": report.invoices_created,
        "seed_seconds": round(seeded, 2),
        "renewal_seconds": round(report.duration_seconds, 2),
        "subscriptions_per_second": round(count / report.duration_seconds),
        "invoices_per_second": round(report.invoices_created / report.duration_seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--months-due", type=int, default=1)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    args = parser.parse_args()
    with scratch_database() as url:
        print(json.dumps(asyncio.run(run(url, args.subscriptions, args.batch_size, args.months_due, args.workers))))


if __name__ == "__main__":
    main()
