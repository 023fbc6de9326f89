"""Renewal runs raise the cyclic collector's threshold while any of them runs in the process
and give the previous one back when the last ends, however they overlap or fail."""

import asyncio
import gc

import pytest

from shared.renewal import engine


async def test_overlapping_runs_hold_the_raised_threshold_until_the_last_ends() -> None:
    before = gc.get_threshold()
    first_done, second_may_end = asyncio.Event(), asyncio.Event()
    seen: list[int] = []

    @engine._fewer_collections
    async def run(name: str) -> str:
        seen.append(gc.get_threshold()[0])
        if name == "first":
            first_done.set()
        else:
            await second_may_end.wait()
            seen.append(gc.get_threshold()[0])
        return name

    second = asyncio.create_task(run("second"))
    await asyncio.sleep(0)
    assert await run("first") == "first"
    assert gc.get_threshold()[0] == engine._RUN_GC_THRESHOLD  # the second still runs
    second_may_end.set()
    assert await second == "second"
    assert seen == [engine._RUN_GC_THRESHOLD] * 3
    assert gc.get_threshold() == before


async def test_a_failed_run_gives_the_threshold_back() -> None:
    before = gc.get_threshold()

    @engine._fewer_collections
    async def run() -> None:
        raise RuntimeError("batch kept conflicting")

    with pytest.raises(RuntimeError):
        await run()
    assert gc.get_threshold() == before
