"""A renewal trigger's time: RFC 3339 only, within a recent window, never a 500 or a traceback."""

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from shared.clock import FrozenClock
from tests.api.test_renewal_triggers import PING
from tests.client import Api
from tests.conftest import START

RANGE_EDGES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
NOT_RFC3339 = [
    "2026-03-12",
    "2026-03-12T10:00:00",
    "2026-03-12 10:00:00Z",
    "20260312T100000Z",
    "2026-02-30T00:00:00Z",
    "2026-03-12T10:00:00+25:00",
    "2026-03-12T10:00:60Z",
]


async def post_ping(api: Api, time: str, *, structured: bool = False):  # type: ignore[no-untyped-def]
    anonymous = api.with_key(None)
    if structured:
        event = {"specversion": "1.0", "type": "dev.knative.sources.ping", "source": "/ping", "id": "p", "time": time}
        return await anonymous.call(
            "POST",
            "/cloudevents/renew",
            raw=json.dumps(event).encode(),
            headers={"Content-Type": "application/cloudevents+json"},
        )
    return await anonymous.call("POST", "/cloudevents/renew", raw=b"{}", headers={**PING, "ce-time": time})


async def test_times_at_the_datetime_range_edge_or_not_rfc3339_are_400(api: Api, clock: FrozenClock) -> None:
    subscription = await api.subscribe(await api.customer(), await api.plan())
    clock.set(START + timedelta(days=40))
    for time in RANGE_EDGES + NOT_RFC3339:
        for structured in (False, True):
            reply = await post_ping(api, time, structured=structured)
            assert reply.status == 400, (time, structured, reply)
            assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert len(await api.periods(subscription)) == 1


async def test_times_outside_the_window_are_422_and_renew_nothing(api: Api, clock: FrozenClock) -> None:
    subscription = await api.subscribe(await api.customer(), await api.plan())  # period ends Feb 28 10:00
    clock.set(START + timedelta(days=40))  # Mar 12 10:00
    for time in ("2026-03-11T09:59:59Z", "2026-03-01T00:00:00Z", "2026-03-12T10:05:01Z", "2030-01-01T00:00:00Z"):
        reply = await post_ping(api, time)
        assert reply.status == 422, (time, reply)
        assert reply["errors"][0]["field"] == "time"
    assert len(await api.periods(subscription)) == 1
    # The edges of the window are accepted: 24 hours back, 5 minutes ahead (capped at now).
    oldest = await post_ping(api, "2026-03-11T10:00:00Z")
    assert oldest.status == 200 and oldest["as_of"] == "2026-03-11T10:00:00Z"
    ahead = await post_ping(api, "2026-03-12T11:05:00+01:00")
    assert ahead.status == 200 and ahead["as_of"] == "2026-03-12T10:00:00Z"
    assert len(await api.periods(subscription)) == 2


async def test_the_window_is_a_setting(database_url: str, aiohttp_client, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    from shared.runtime.app import make_app
    from shared.settings import Settings

    assert Settings.from_env({}).renew_max_age_hours == 24
    settings = Settings.from_env({"DATABASE_URL": database_url, "BILLING_RENEW_MAX_AGE_HOURS": "48"})
    api = Api(await aiohttp_client(make_app(settings, clock=clock)), None, database_url)
    assert (await post_ping(api, "2026-01-29T10:00:01Z")).status == 200
    assert (await post_ping(api, "2026-01-29T09:59:59Z")).status == 422
    with pytest.raises(SystemExit):
        Settings.from_env({"BILLING_RENEW_MAX_AGE_HOURS": "0"})


@pytest.mark.parametrize("at", RANGE_EDGES + ["next tuesday", "2026-03-12T10:00:00"])
def test_renew_at_a_bad_time_is_a_one_line_error(at: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # An unreachable database: the time must be refused before any connection is tried.
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none", "BILLING_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "shared.runtime.cli", "renew", "--at", at],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2  # a usage error, like every bad argument
    assert "Traceback" not in done.stderr
    usage, error = [line for line in done.stderr.splitlines() if line.strip()]
    assert usage.startswith("usage: billing renew") and error.startswith("billing renew: error: argument --at:"), (
        done.stderr
    )


async def test_empty_required_cloudevent_attributes_are_400(api: Api) -> None:
    for name in ("ce-id", "ce-source", "ce-type"):
        reply = await api.with_key(None).call("POST", "/cloudevents/renew", raw=b"{}", headers={**PING, name: ""})
        assert reply.status == 400, (name, reply)
