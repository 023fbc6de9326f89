"""CloudEvents over HTTP (binary and structured mode), parsed by the official SDK (<2)."""
from __future__ import annotations

from datetime import datetime, timezone

from aiohttp import web
from cloudevents.exceptions import GenericException
from cloudevents.http import CloudEvent, from_http

from shared.runtime.problems import problem


class NotACloudEvent(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.response = problem(400, detail)


async def read_event(request: web.Request) -> CloudEvent:
    raw = await request.read()
    try:
        event = from_http(dict(request.headers), raw)
    except (GenericException, ValueError, TypeError) as error:
        raise NotACloudEvent(f"not a valid CloudEvent: {error}") from error
    event_time(event)  # a malformed time is the sender's error, reported now
    return event


def event_time(event: CloudEvent) -> datetime | None:
    """The event's `time` attribute as aware UTC, or None when the sender gave none."""
    raw = event.get("time")
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise NotACloudEvent(f"CloudEvent time {raw!r} is not an RFC 3339 timestamp") from None
    if moment.tzinfo is None:
        raise NotACloudEvent(f"CloudEvent time {raw!r} has no timezone")
    return moment.astimezone(timezone.utc)
