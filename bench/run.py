"""`make bench`: every benchmark module, medians of several runs, bench/results.md and PNG plots.

    python -m bench.run [--quick] [--out bench]

Each module in MODULES has a `run(**kwargs) -> dict` returning its figures; to add one,
append (name, module path, full-size kwargs, quick kwargs). Figures are stamped with the CPU
count, the PostgreSQL version and the date. Every target is a ratio to a ceiling measured
in the same run (bench.ceiling for HTTP, bench.renewal's raw asyncpg writer for renewal).
Bounded in count and time; loopback only; never part of `make test` beyond a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# (name, module, kwargs for `make bench`, kwargs for --quick). Other modules (events, usage,
# money...) plug in here with the same shape: a run(**kwargs) returning a dict.
MODULES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    (
        "endpoints",
        "bench.endpoints",
        {"requests": 2000, "concurrencies": (16, 64), "rounds": 3},
        {"requests": 100, "concurrencies": (4,), "rounds": 1},
    ),
    (
        "renewal",
        "bench.renewal",
        {"sizes": (10_000, 100_000, 1_000_000), "rounds": 3},
        {"sizes": (200, 1000), "rounds": 1},
    ),
    ("cold_start", "bench.cold_start", {"repeats": 5}, {"functions": ("get-invoice",), "repeats": 1}),
    # Modules whose run(url, ...) takes a database get a fresh scratch one (see _call).
    (
        "events",
        "bench.events",
        {"subscriptions": 100_000, "deliveries": 2000, "samples": 200},
        {"subscriptions": 500, "deliveries": 50, "samples": 20},
    ),
    ("money", "bench.money", {"count": 100_000, "rounds": 3}, {"count": 500, "rounds": 1}),
    (
        "usage",
        "bench.usage",
        {"events": 1_000_000, "customers": 1000, "stored": 10_000_000, "subscriptions": 100_000, "samples": 200},
        {"events": 2000, "customers": 50, "stored": 0, "subscriptions": 200, "samples": 20},
    ),
]


def _call(module: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A module's run(**kwargs); one whose first parameter is `url` gets a freshly migrated
    scratch database; a coroutine is run to completion."""
    import inspect

    from bench.common import scratch_database

    run = importlib.import_module(module).run
    if next(iter(inspect.signature(run).parameters), None) == "url":
        with scratch_database() as url:
            result = run(url, **kwargs)
            return asyncio.run(result) if inspect.iscoroutine(result) else result
    return run(**kwargs)


def postgres_version() -> str:
    from bench.common import scratch_database

    async def ask(url: str) -> str:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    with scratch_database() as url:
        return asyncio.run(ask(url))


def stamp() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "postgresql": postgres_version(),
        "python": sys.version.split()[0],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def plots(results: dict[str, Any], meta: dict[str, Any], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    caption = f"{meta['cpus']} CPUs, PostgreSQL {meta['postgresql']}, {meta['date']}"
    made = []
    endpoints = results.get("endpoints", {}).get("endpoints")
    if endpoints:
        names = list(endpoints)
        concurrencies = list(next(iter(endpoints.values())))
        fig, (rps_ax, lat_ax) = plt.subplots(1, 2, figsize=(13, 5))
        width = 0.8 / len(concurrencies)
        for i, c in enumerate(concurrencies):
            xs = [n + i * width for n in range(len(names))]
            rps_ax.bar(xs, [endpoints[name][c]["rps"] for name in names], width, label=f"concurrency {c}")
            lat_ax.bar(xs, [endpoints[name][c]["p50_ms"] for name in names], width, label=f"p50, c={c}")
            lat_ax.scatter(xs, [endpoints[name][c]["p99_ms"] for name in names], marker="_", s=200, label=f"p99, c={c}")
        for ax, title in ((rps_ax, "requests/s (ceiling = bare aiohttp + asyncpg)"), (lat_ax, "latency ms")):
            ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
            ax.set_title(title)
            ax.legend()
        fig.suptitle(caption)
        fig.tight_layout()
        fig.savefig(out / "endpoints.png", dpi=90)
        plt.close(fig)
        made.append("endpoints.png")
    renewal = results.get("renewal", {}).get("sizes")
    if renewal:
        fig, ax = plt.subplots(figsize=(7, 5))
        sizes = [r["subscriptions"] for r in renewal]
        ax.loglog(sizes, [r["renewal_seconds"] for r in renewal], "o-", label="renewal engine")
        ax.loglog(sizes, [r["ceiling_seconds"] for r in renewal], "s--", label="raw asyncpg ceiling")
        ax.set_xlabel("due subscriptions")
        ax.set_ylabel("seconds")
        ax.set_title(f"Renewal time vs N\n{caption}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "renewal.png", dpi=90)
        plt.close(fig)
        made.append("renewal.png")
    cold = results.get("cold_start", {}).get("functions")
    if cold:
        fig, (time_ax, rss_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
        names = list(cold)
        time_ax.bar(names, [cold[n]["health_seconds"] for n in names], label="to /health")
        time_ax.scatter(
            names, [cold[n]["ready_seconds"] for n in names], color="k", marker="_", s=300, label="to /ready (DB)"
        )
        time_ax.set_title("cold start, s")
        time_ax.legend()
        rss_ax.bar(names, [cold[n]["rss_mib"] for n in names])
        rss_ax.set_title("RSS, MiB")
        for ax in (time_ax, rss_ax):
            ax.tick_params(axis="x", rotation=30)
        fig.suptitle(caption)
        fig.tight_layout()
        fig.savefig(out / "cold_start.png", dpi=90)
        plt.close(fig)
        made.append("cold_start.png")
    return made


def markdown(results: dict[str, Any], meta: dict[str, Any], images: list[str], quick: bool) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"{meta['date']} · {meta['cpus']} CPUs · PostgreSQL {meta['postgresql']} · Python {meta['python']} · "
        f"load average at start {meta['load_average']}" + (" · QUICK (smoke) run: not figures" if quick else ""),
        "",
        "Reproduce: `make bench` (every figure a median of several runs; targets are ratios to a ceiling "
        "measured in the same run).",
        "",
    ]
    endpoints = results.get("endpoints", {}).get("endpoints")
    if endpoints:
        e = results["endpoints"]
        lines += [
            "## HTTP endpoints",
            "",
            f"{e['requests']} requests per point (writes: a quarter), median of {e['rounds']} round(s).",
            "",
        ]
        lines += ["| endpoint | concurrency | req/s | p50 ms | p99 ms | errors | × ceiling |"]
        lines += ["| --- | --- | --- | --- | --- | --- | --- |"]
        for name, by_c in endpoints.items():
            for c, row in by_c.items():
                lines.append(
                    f"| {name} | {c} | {row['rps']} | {row['p50_ms']} | {row['p99_ms']} | {row['errors']} | "
                    f"{row['ratio_to_ceiling']} |"
                )
        lines += ["", f"Telemetry on/off (GET invoice req/s): {results['endpoints']['telemetry_on_off_ratio']}", ""]
    renewal = results.get("renewal", {}).get("sizes")
    if renewal:
        lines += [
            "## Renewal",
            "",
            f"Batch {results['renewal']['batch_size']}, {results['renewal']['workers']} workers; one run per size unless stated.",
            "",
        ]
        lines += ["| due subscriptions | engine s | ceiling s | engine subs/s | × ceiling |"]
        lines += ["| --- | --- | --- | --- | --- |"]
        for r in renewal:
            lines.append(
                f"| {r['subscriptions']} | {r['renewal_seconds']} | {r['ceiling_seconds']} | "
                f"{r['subscriptions_per_second']} | {r['ratio_to_ceiling']} |"
            )
        lines.append("")
    cold = results.get("cold_start", {}).get("functions")
    if cold:
        lines += [
            "## Cold start and RSS",
            "",
            "| function | to /health s | to /ready s | RSS MiB |",
            "| --- | --- | --- | --- |",
        ]
        for name, row in cold.items():
            lines.append(f"| {name} | {row['health_seconds']} | {row['ready_seconds']} | {row['rss_mib']} |")
        lines.append("")
    known = {"endpoints", "renewal", "cold_start"}
    for name, figures in results.items():
        if name not in known:
            lines += [f"## {name}", "", "```json", json.dumps(figures, indent=2, default=str), "```", ""]
    lines += [f"![{image}]({image})" for image in images]
    return "\n".join(lines) + "\n"


def run(quick: bool = False, out: Path = Path("bench"), only: list[str] | None = None) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    meta = stamp()
    results: dict[str, Any] = {}
    for name, module, full, small in MODULES:
        if only and name not in only:
            continue
        started = time.perf_counter()
        results[name] = _call(module, small if quick else full)
        print(f"{name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    images = plots(results, meta, out)
    (out / "results.md").write_text(markdown(results, meta, images, quick))
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2, default=str))
    return {"meta": meta, **results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, not figures")
    parser.add_argument("--out", type=Path, default=Path("bench"))
    parser.add_argument("--only", action="append", help="run only these modules (by name)")
    args = parser.parse_args()
    figures = run(args.quick, args.out, args.only)
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
