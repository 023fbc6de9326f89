"""The hot reads (shared.db.hot_reads: fixed SQL on the driver connection, rows rendered
as JSON without a model round) answer byte for byte what the ORM path and the response
models answer, and every statement they send is scoped to the tenant."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from shared.db import hot_reads
from shared.db.tables import Invoice as InvoiceRow
from shared.db.tables import Subscription as SubscriptionRow
from shared.db.uow import UnitOfWork
from shared.domain.invoices import InvoiceStatus
from shared.domain.subscriptions import SubscriptionStatus
from shared.runtime.app_state import ENGINE, SESSIONS
from shared.schemas.common import ListOf
from shared.schemas.invoices import Invoice
from shared.schemas.subscriptions import Subscription
from shared.services.api_keys import hash_key
from tests.api.test_tenant_scoping import unscoped
from tests.client import Api


def test_every_hot_read_statement_filters_on_the_tenant() -> None:
    sent = hot_reads.statements()
    assert len(sent) >= 15
    assert [s for s in sent if unscoped(s)] == []
    assert all("tenant_id = $1" in s for s in sent)


async def _orm(sessions: Any, tenant: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """What the ORM loads (Repository.get or .page), independent of the hot reads' SQL."""
    async with UnitOfWork(sessions).reading() as uow:
        return await getattr(uow.repo(tenant), method)(*args, **kwargs)


def _json(model: type[BaseModel], value: Any) -> bytes:
    return model.model_validate(value, from_attributes=True).model_dump_json().encode()


async def test_hot_reads_render_what_the_models_render(api: Api) -> None:
    app = api.client.server.app
    engine, sessions = app[ENGINE], app[SESSIONS]
    usd = await api.plan(code="usd", amount=1999, currency="USD")
    jpy = await api.plan(code="jpy", amount=1500, currency="JPY")
    kwd = await api.plan(code="kwd", amount=12345, currency="KWD")
    ada = await api.customer(email="ada@example.com")
    first = await api.subscribe(ada, usd)
    await api.subscribe(ada, jpy, trial_period_days=0)
    clock = await api.test_clock("2026-01-01T00:00:00Z")
    simulated = await api.customer(email="sim@example.com", test_clock=clock["id"])
    await api.subscribe(simulated, kwd)
    [paid, *_] = await api.invoices(subscription_id=first["id"])
    assert (await api.post(f"/v1/invoices/{paid['id']}/pay")).status == 200
    grant = await hot_reads.grant(engine, hash_key(api.key or ""))
    assert grant is not None
    tenant = grant.tenant_id

    everything = await api.invoices()
    assert len(everything) == 3 and {i["currency"] for i in everything} == {"USD", "JPY", "KWD"}
    for invoice in everything:
        got = await api.client.get(f"/v1/invoices/{invoice['id']}", headers={"Authorization": f"Bearer {api.key}"})
        orm = await _orm(sessions, tenant, "get", InvoiceRow, invoice["id"])
        assert await got.read() == _json(Invoice, orm), invoice["id"]

    subs = (await api.get("/v1/subscriptions", limit=100))["data"]
    assert len(subs) == 3 and any(s["test_clock"] for s in subs)
    for sub in subs:
        got = await api.client.get(f"/v1/subscriptions/{sub['id']}", headers={"Authorization": f"Bearer {api.key}"})
        row = await _orm(sessions, tenant, "get", SubscriptionRow, sub["id"])
        assert await got.read() == _json(Subscription, row)

    newest = everything[0]["id"]
    invoice_pages: list[dict[str, Any]] = [
        {"limit": 10},
        {"limit": 1},
        {"limit": 2, "starting_after": newest},
        {"limit": 10, "customer_id": ada["id"]},
        {"limit": 10, "subscription_id": first["id"], "status": InvoiceStatus.PAID},
        {"limit": 10, "status": InvoiceStatus.OPEN},
        {"limit": 10, "customer_id": "cus_nobody"},
    ]
    for query in invoice_pages:
        params = {k: getattr(v, "value", v) for k, v in query.items()}
        got = await api.client.get("/v1/invoices", params=params, headers={"Authorization": f"Bearer {api.key}"})
        page = await _orm(sessions, tenant, "page", InvoiceRow, **query)
        assert await got.read() == _json(ListOf[Invoice], page), query

    subscription_pages: list[dict[str, Any]] = [
        {"limit": 10},
        {"limit": 1},
        {"limit": 5, "starting_after": subs[0]["id"]},
        {"limit": 10, "customer_id": simulated["id"]},
        {"limit": 10, "status": SubscriptionStatus.ACTIVE},
    ]
    for query in subscription_pages:
        params = {k: getattr(v, "value", v) for k, v in query.items()}
        got = await api.client.get("/v1/subscriptions", params=params, headers={"Authorization": f"Bearer {api.key}"})
        page = await _orm(sessions, tenant, "page", SubscriptionRow, **query)
        assert await got.read() == _json(ListOf[Subscription], page), query

    # Unknown and foreign objects, and unknown cursors: the same problems as before.
    other = await api.as_new_tenant()
    assert (await other.get(f"/v1/invoices/{newest}")).status == 404
    assert (await other.get(f"/v1/subscriptions/{first['id']}")).status == 404
    missing = await other.get("/v1/invoices", starting_after=newest)
    assert missing.status == 404 and "starting_after" in str(missing.body), missing
    missing = await api.get("/v1/subscriptions", starting_after="sub_nosuch")
    assert missing.status == 404 and "no such subscription" in str(missing.body), missing
