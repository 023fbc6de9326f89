"""`make bench`'s driver, smoke-tested without running a load: every module it lists has a
run(), and the report and plots are written from figures of the shape the modules return.
(Speed is never measured or asserted here.)"""

from __future__ import annotations

import importlib
from pathlib import Path

from bench import run as driver


def test_every_listed_module_has_a_run_function() -> None:
    for name, module, full, quick in driver.MODULES:
        assert callable(importlib.import_module(module).run), name
        assert set(quick) <= set(full) | {"functions"}, name


def test_the_report_and_plots_are_written(tmp_path: Path) -> None:
    meta = {"date": "2026-01-01 00:00 UTC", "cpus": 2, "postgresql": "18.0", "python": "3.11", "load_average": [0.1]}
    row = {"rps": 100.0, "p50_ms": 5.0, "p99_ms": 9.0, "errors": 0, "ratio_to_ceiling": 0.5}
    results = {
        "endpoints": {
            "requests": 10,
            "rounds": 1,
            "endpoints": {"ceiling": {16: row}, "get_invoice": {16: row}},
            "telemetry_on_off_ratio": {16: 0.9},
        },
        "renewal": {
            "batch_size": 10,
            "workers": 1,
            "sizes": [
                {
                    "subscriptions": n,
                    "renewal_seconds": n / 1e4,
                    "ceiling_seconds": n / 2e4,
                    "subscriptions_per_second": 1e4,
                    "ratio_to_ceiling": 0.5,
                }
                for n in (100, 1000)
            ],
        },
        "cold_start": {"functions": {"get-invoice": {"health_seconds": 0.4, "ready_seconds": 0.5, "rss_mib": 60.0}}},
        "another": {"figure": 1},
    }
    images = driver.plots(results, meta, tmp_path)
    assert sorted(images) == ["cold_start.png", "endpoints.png", "renewal.png"]
    assert all((tmp_path / image).read_bytes().startswith(b"\x89PNG") for image in images)
    text = driver.markdown(results, meta, images, quick=False)
    assert "PostgreSQL 18.0" in text and "| get_invoice | 16 | 100.0 |" in text and "## another" in text
