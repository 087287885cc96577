"""The app factory: a Quart app (QuartTrio on trio) serving the REST API and WebSocket feed.

::

    app = create_app(Settings(database_url="sqlite:///actorflow.db", backend="trio"))

One :class:`runtime.Runtime` per app, opened in the app's serving lifespan and
closed when serving stops: runs execute in its task group, never in ad-hoc
background tasks. ``ApiService.drain()`` (on SIGTERM, see :mod:`api.server`) stops
new runs (503) and releases the running ones, which resume on the next start.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any
from importlib.metadata import PackageNotFoundError, version

import anyio
from quart import Quart, Response, request
from quart_schema import Info, QuartSchema

from runtime import Runtime, Store

from .asgi_http import lean_http_class
from .auth import install_auth
from .body import read_whole_body
from .current import METRICS_KEY, SERVICE_KEY
from .docs import docs
from .errors import install_error_handlers
from .examples import save_examples
from .metrics import Metrics, ObservedStore
from .params import BoundedOpenAPIProvider, install_converters
from .routes import register_routes
from .runtime_errors import install_runtime_errors
from .service import ApiService
from .settings import Settings
from .studio import studio
from .transport import install_transport
from .ws_broadcast import Broadcasts
from .ws_outbox import SharedText

__all__ = ["create_app"]

#: Seconds QuartTrio waits for the serving lifespan to finish after serving stops,
#: on top of Hypercorn's graceful timeout (releasing runs writes to the store).
SHUTDOWN_MARGIN = 15.0


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> Quart:
    """A new app for ``settings`` (default: from ``ACTORFLOW_*`` variables).

    ``store`` overrides ``settings.database_url`` (tests pass a MemoryStore).
    """
    settings = settings or Settings.from_env()
    app = _app_class(settings.backend)("actorflow", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = settings.graceful_timeout + SHUTDOWN_MARGIN
    QuartSchema(app, info=Info(title="actorflow", version=_version(),
                               description="Workflow graphs as actor runs: REST API and "
                               "WebSocket live logs"),
                swagger_ui_path=None, redoc_ui_path=None, scalar_ui_path=None,
                openapi_provider_class=BoundedOpenAPIProvider)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # the seed's field order
    _responses_pass_through(app)
    lean_http_class(app)  # a response's send bounded without a task (asyncio; asgi_http.py)
    service = ApiService(settings)
    metrics = Metrics(lambda: service.runtime)
    app.extensions[SERVICE_KEY] = service
    app.extensions[METRICS_KEY] = metrics
    install_error_handlers(app)
    install_runtime_errors(app)
    app.before_request(read_whole_body)
    install_converters(app)  # before any route: rules bind their converters when added
    # After the body is read (a refusal must not leave a body on the wire: see body.py);
    # request ids and Host before authentication.
    install_transport(app, settings)
    install_auth(app, settings)
    register_routes(app)
    app.register_blueprint(docs)
    app.register_blueprint(studio)

    @app.after_request
    async def _count(response: Response) -> Response:
        metrics.count_request(request.method, response.status_code)
        return response

    @app.while_serving
    async def _runtime() -> AsyncGenerator[None, None]:
        # The runtime's task group is entered and left in this one generator, which
        # Quart drives from its lifespan task on both backends.
        _load_tools()
        base = store if store is not None else settings.open_store()
        cluster = settings.cluster_settings()
        async with Runtime(ObservedStore(base, metrics.observe),
                           max_concurrent_runs=settings.max_concurrent_runs,
                           keep_finished=settings.keep_finished_runs,
                           cluster=cluster,
                           orphan_check=settings.orphan_check()) as rt:
            await save_examples(rt)
            from nodes.llm_node import use_store_cache

            use_store_cache(rt.store)  # LLM responses cached in the database too
            from nodes.finance.current import use_store_cache as use_market_cache

            use_market_cache(rt.store)  # market-data answers too, with their TTL
            service.runtime = rt
            service.draining = False
            await _prune_audit(rt.store, settings)
            async with anyio.create_task_group() as casts:
                service.broadcasts = Broadcasts(
                    casts, SharedText(settings.ws_max_event_bytes), settings.ws_buffer)
                try:
                    yield
                finally:
                    await service.drain()   # a released run ends its broadcast (1012)
                    casts.cancel_scope.cancel()
                    service.broadcasts = None
        service.runtime = None

    return app


def _responses_pass_through(app: Quart) -> None:
    """A handler's finished ``Response`` goes straight to Quart's ``make_response``.

    QuartSchema wraps ``make_response`` to turn returned pydantic models and
    dataclasses into JSON; most routes return a Response already (``reply``), which
    it would only inspect (several config lookups and type checks per request).
    """
    converting = app.make_response
    if getattr(converting, "__wrapped__", None) is None:
        return  # not QuartSchema's wrapper (a future version): leave it be

    async def make_response(result: Any) -> Any:
        if isinstance(result, Response):
            return result  # what Quart's own make_response does with one
        return await converting(result)

    app.make_response = make_response  # type: ignore[method-assign]


def _app_class(backend: str) -> type[Quart]:
    if backend == "trio":
        from quart_trio import QuartTrio

        return QuartTrio
    return Quart


async def _prune_audit(store: Store, settings: Settings) -> None:
    """Drop audit entries past the retention (at each start: cheap, and enough for a
    retention counted in days)."""
    if settings.audit_retention_days > 0:
        from runtime.store import AccessStore

        if isinstance(store, AccessStore):
            await store.prune_audit(older_than_seconds=settings.audit_retention_days * 86400)


def _load_tools() -> None:
    """Register the built-in tools of :mod:`nodes` (importing it registers them)."""
    import nodes  # noqa: F401


def _version() -> str:
    try:
        return version("actorflow")
    except PackageNotFoundError:
        return "0.0.0"
