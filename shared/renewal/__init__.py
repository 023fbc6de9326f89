"""The batch renewal engine: claim due subscriptions, play them forward, write in bulk."""

from shared.renewal.engine import Report, Scope, renew

__all__ = ["Report", "Scope", "renew"]
