"""No input may produce a 500: random JSON at every write operation gets a 2xx or a 4xx."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.runtime.registry import all_operations
from tests.client import Api

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "email",
        "name",
        "metadata",
        "code",
        "amount",
        "currency",
        "interval",
        "interval_count",
        "trial_period_days",
        "customer_id",
        "plan_id",
    ]
)
bodies = st.dictionaries(field_names, json_values, max_size=6) | json_values

WRITES = [op for op in all_operations() if op.method in ("POST", "PATCH")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(index=st.integers(0, len(WRITES) - 1), body=bodies)
async def test_random_bodies_never_cause_a_server_error(api: Api, index: int, body: object) -> None:
    op = WRITES[index]
    path = op.path.replace("{id}", "cus_x")
    reply = await api.call(op.method, path, raw=json.dumps(body).encode())
    assert reply.status < 500, (op.name, body, reply)
    if reply.status >= 400:
        assert reply.headers["Content-Type"].startswith("application/problem+json")
