"""CloudEvents over HTTP (binary and structured mode), parsed by the official SDK (<2)."""

from __future__ import annotations

import json
from datetime import datetime

from aiohttp import web
from cloudevents.exceptions import GenericException
from cloudevents.http import CloudEvent, from_http

from shared.runtime.problems import problem
from shared.timestamps import BadTimestamp, parse_rfc3339


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
    empty = [name for name in ("id", "source", "type") if not str(event.get(name) or "")]
    if empty:  # the CloudEvents spec: non-empty strings; the SDK lets empty ones through
        raise NotACloudEvent(f"CloudEvent attribute(s) {empty} must not be empty")
    if not _sender_gave_time(request, raw):
        # The SDK fills in its own wall-clock time; the service's clock decides "now" instead.
        del event["time"]
    event_time(event)  # a malformed time is the sender's error, reported now
    return event


def _sender_gave_time(request: web.Request, raw: bytes) -> bool:
    if "ce-time" in request.headers:  # binary mode (headers are case-insensitive)
        return True
    if request.content_type == "application/cloudevents+json":  # structured mode
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError):
            return False
        return isinstance(document, dict) and "time" in document
    return False


def event_time(event: CloudEvent) -> datetime | None:
    """The event's `time` attribute as aware UTC, or None when the sender gave none."""
    raw = event.get("time")
    if raw is None:
        return None
    try:
        return parse_rfc3339(str(raw))
    except BadTimestamp as error:
        raise NotACloudEvent(f"CloudEvent time: {error}") from None
