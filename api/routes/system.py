"""Operations: health, Prometheus metrics, and tool discovery."""

from __future__ import annotations

import anyio
from quart import Blueprint, Response
from quart_schema import document_response, hide, tag

from runtime import StoreError
from runtime import registry as default_registry
from runtime.store import DEFAULT_TENANT
from runtime.store.availability import Availability

from ..auth import tenant
from ..current import metrics, service
from ..errors import ApiError
from ..metrics import CONTENT_TYPE
from ..schemas import HealthOut, OutageOut, ToolList, ToolOut
from . import reply

__all__ = ["system"]

#: A health check answers within this, even when the database hangs.
HEALTH_TIMEOUT = 5.0

system = Blueprint("system", __name__)


@system.get("/health")
@tag(["operations"])
@document_response(HealthOut)
@document_response(HealthOut, 503)
async def health() -> Response:
    """200 when the database is reachable and runs are accepted; 503 otherwise."""
    svc = service()
    database = False
    outage: OutageOut | None = None
    if svc.runtime is not None:
        store = svc.runtime.store
        with anyio.move_on_after(HEALTH_TIMEOUT):
            try:
                database = bool(await store.healthy())
            except StoreError:
                database = False
        availability = getattr(store, "availability", None)
        if not database and isinstance(availability, Availability) and availability.outage:
            outage = OutageOut.model_validate(availability.outage.public())
    ok = database and svc.accepting
    return reply(HealthOut(status="ok" if ok else "unavailable", database=database,
                           accepting_runs=svc.accepting, backend=svc.settings.backend,
                           outage=outage),
                 200 if ok else 503)


@system.get("/metrics")
@hide
async def prometheus() -> Response:
    """Prometheus text exposition. The figures span every tenant (runs by status, node
    names): only the operator's admin credential, of the default tenant, reads them."""
    if tenant() != DEFAULT_TENANT:
        raise ApiError(403, "forbidden", "/metrics counts the runs and names the nodes of "
                       "every tenant; only an admin credential of the default tenant (the "
                       "operator's) reads it", {"tenant": tenant()})
    await metrics().count()
    return Response(metrics().render(), content_type=CONTENT_TYPE)


@system.get("/api/v1/tools")
@tag(["tools"])
@document_response(ToolList)
async def tools() -> Response:
    """Every registered tool (usable as a node's ``tool``) and condition."""
    rt = service().runtime
    reg = (rt.registry if rt is not None else None) or default_registry
    return reply(ToolList(tools=[ToolOut(**t.to_dict()) for t in reg.list()],
                          conditions=reg.conditions()))
