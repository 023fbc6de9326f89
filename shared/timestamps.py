"""RFC 3339 timestamps from outside (CloudEvent `time`, `billing renew --at`) and the window
a renewal's as-of time must fall in. Pure: no clock is read here."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# RFC 3339 section 5.6 exactly: datetime.fromisoformat alone also takes dates without a time,
# basic formats, a space separator or no offset, none of which a sender should rely on.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)
# A renewal may be triggered "as of" a little ahead of this server's clock (clock skew between
# the scheduler and us); the run is still capped at now.
MAX_AHEAD = timedelta(minutes=5)


class BadTimestamp(ValueError):
    pass


def parse_rfc3339(raw: str) -> datetime:
    """An RFC 3339 timestamp with an offset, as aware UTC."""
    if not _RFC3339.fullmatch(raw):
        raise BadTimestamp(f"{raw[:64]!r} is not an RFC 3339 timestamp (e.g. 2026-02-01T00:00:00Z)")
    text = raw.upper().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
        return moment.astimezone(UTC)
    except ValueError:
        raise BadTimestamp(f"{raw[:64]!r} is not a valid date and time") from None
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before datetime.min in UTC
        raise BadTimestamp(f"{raw[:64]!r} is outside the supported date range") from None


def check_as_of(moment: datetime, now: datetime, max_age: timedelta) -> None:
    """A renewal as-of time must be recent: not older than `max_age`, not more than
    MAX_AHEAD in the future. An old trigger replayed (or forged) must not bill the past."""
    if moment < now - max_age:
        hours = max_age.total_seconds() / 3600
        raise BadTimestamp(f"{moment.isoformat()} is more than {hours:g} hours before now ({now.isoformat()})")
    if moment > now + MAX_AHEAD:
        raise BadTimestamp(
            f"{moment.isoformat()} is more than {MAX_AHEAD.seconds // 60} minutes after now ({now.isoformat()})"
        )
