"""What one dispatcher run (the PingSource-triggered function) did."""

from __future__ import annotations

from typing import Literal

from shared.schemas.common import Resource


class DispatchRun(Resource):
    object: Literal["dispatch_run"] = "dispatch_run"
    claimed: int
    delivered: int
    failed: int
    sink_sent: int
    pruned: int
