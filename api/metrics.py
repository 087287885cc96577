"""Prometheus metrics of one server process (``GET /metrics``).

- ``actorflow_runs{status}``: runs this process holds, by status (read at scrape time);
  ``waiting`` counts the runs waiting for an answer in the database, since a waiting
  run holds no process (every instance reports that same count: aggregate with max).
- ``actorflow_runs_finished_total{status}``: runs that ended here, by outcome.
- ``actorflow_node_duration_seconds{node}``: node attempt durations.
- ``actorflow_websocket_clients``: WebSocket log-feed clients connected now.
- ``actorflow_ws_event_lag_seconds``: from an event's publication to its WebSocket send.
- ``actorflow_http_requests_total{method,status}``: requests answered.
- ``actorflow_node_cache_hits_total`` / ``actorflow_node_cache_misses_total``: lookups of
  nodes with a cache policy in this process (``CachePolicy``), read at scrape time.
- ``actorflow_circuit_state{provider,endpoint}``: each LLM / market-data provider's circuit
  breaker (:mod:`nodes.circuit`): 0 closed, 1 half-open, 2 open; read at scrape time.
- ``actorflow_circuit_fast_failures_total{provider,endpoint}``: calls refused while open.

Run events are observed where they leave the runtime: :class:`ObservedStore` wraps
the store the Runtime writes events to, so metrics need no hook in the runtime.
Each app has its own registry, so several apps (tests) can live in one process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import anyio
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from nodes.circuit import circuit_board
from runtime import Event, EventType, RunStatus, Runtime, Store, StoreError

__all__ = ["CONTENT_TYPE", "Metrics", "ObservedStore"]

log = logging.getLogger("actorflow.api")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: A scrape answers within this even when the database hangs (with the last counts).
COUNT_TIMEOUT = 5.0


class _RunsByStatus(Collector):
    def __init__(self, runtime: Callable[[], Runtime | None]) -> None:
        self._runtime = runtime
        #: Runs waiting for an answer in the store, as last counted (see Metrics.count).
        self.waiting = 0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("actorflow_runs", "Runs held by this process, by status",
                                   labels=["status"])
        rt = self._runtime()
        counts = {s.value: 0 for s in RunStatus}
        if rt is not None:
            for run in rt.runs():
                counts[run.status.value] += 1
        counts[RunStatus.WAITING.value] = self.waiting
        for status, n in counts.items():
            family.add_metric([status], n)
        yield family


#: Distinct node names given their own duration series; later ones share OTHER_LABEL.
MAX_NODE_LABELS = 500
OTHER_LABEL = "_other"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class _NodeCache(Collector):
    def __init__(self, runtime: Callable[[], Runtime | None]) -> None:
        self._runtime = runtime

    def collect(self) -> Iterator[CounterMetricFamily]:
        rt = self._runtime()
        cache = rt.node_cache if rt is not None else None
        yield CounterMetricFamily("actorflow_node_cache_hits", "Node cache lookups that hit",
                                  value=cache.hits if cache is not None else 0)
        yield CounterMetricFamily("actorflow_node_cache_misses",
                                  "Node cache lookups that missed (the node ran)",
                                  value=cache.misses if cache is not None else 0)


class _Circuits(Collector):
    """The process's circuit breakers (one board per process, whatever the app)."""

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        labels = ["provider", "endpoint"]
        state = GaugeMetricFamily(
            "actorflow_circuit_state",
            "Circuit breaker of a provider: 0 closed, 1 half-open, 2 open", labels=labels)
        refused = CounterMetricFamily(
            "actorflow_circuit_fast_failures",
            "Provider calls refused at once while its circuit breaker was open", labels=labels)
        try:
            breakers = circuit_board().breakers()
        except ValueError:  # a bad ACTORFLOW_CIRCUIT_* fails the provider calls, not a scrape
            breakers = []
        for breaker in breakers:
            key = [breaker.provider, breaker.endpoint]
            state.add_metric(key, breaker.state.value)
            refused.add_metric(key, breaker.fast_failures)
        yield state
        yield refused


class Metrics:
    """The metrics of one app; ``observe`` is fed every run event."""

    def __init__(self, runtime: Callable[[], Runtime | None]) -> None:
        self.registry = CollectorRegistry()
        self._runtime = runtime
        self._runs = _RunsByStatus(runtime)
        self.registry.register(self._runs)
        self.registry.register(_NodeCache(runtime))
        self.registry.register(_Circuits())
        self.finished = Counter("actorflow_runs_finished", "Runs that ended in this process",
                                ["status"], registry=self.registry)
        self.node_seconds = Histogram(
            "actorflow_node_duration_seconds", "Node attempt durations", ["node"],
            buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120),
            registry=self.registry)
        self.ws_clients = Gauge("actorflow_websocket_clients",
                                "WebSocket log-feed clients connected", registry=self.registry)
        self.ws_lag = Histogram(
            "actorflow_ws_event_lag_seconds", "From event publication to WebSocket send",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5),
            registry=self.registry)
        self.ws_frames = Counter("actorflow_ws_frames", "Live-log frames written below "
                                 "Quart's per-message send", registry=self.registry)
        self.ws_writes = Counter("actorflow_ws_writes", "Socket writes that carried them "
                                 "(several frames of a client that is behind in one)",
                                 registry=self.registry)
        self.requests = Counter("actorflow_http_requests", "HTTP requests answered",
                                ["method", "status"], registry=self.registry)
        #: The request counter's child per (method label, status): ``labels()`` takes a
        #: lock and builds its key on every call, once per request. Bounded: the method
        #: labels are a fixed set, and so are the status codes the app answers with.
        self._request_counts: dict[tuple[str, int], Any] = {}
        self._node_labels: set[str] = set()
        #: The same for the node-duration histogram (one child per node label, at most
        #: MAX_NODE_LABELS + 1) and the finished-runs counter (one per end status).
        self._node_children: dict[str, Any] = {}
        self._finished_children: dict[str, Any] = {}

    def _node_label(self, node: str) -> str:
        """The node's own label for the first MAX_NODE_LABELS names, then one shared:
        every distinct label is a series scraped forever, and graph authors choose names."""
        if node in self._node_labels or len(self._node_labels) < MAX_NODE_LABELS:
            self._node_labels.add(node)
            return node
        return OTHER_LABEL

    def request_method(self, method: str) -> str:
        """The method as a label (any other spelling a client sends counts as OTHER)."""
        return method if method in HTTP_METHODS else "OTHER"

    def count_request(self, method: str, status: int) -> None:
        """One request answered with ``status``."""
        key = (self.request_method(method), status)
        child = self._request_counts.get(key)
        if child is None:
            child = self._request_counts[key] = self.requests.labels(key[0], str(status))
        child.inc()

    def observe(self, event: Event) -> None:
        """Called for every event a run publishes; must never raise."""
        try:
            if event.type is EventType.NODE_COMPLETED and event.node is not None:
                ms = event.data.get("duration_ms")
                if isinstance(ms, int | float):
                    child = self._node_children.get(event.node)
                    if child is None:
                        label = self._node_label(event.node)
                        child = self.node_seconds.labels(label)
                        if label == event.node:  # a name past the cap is not kept
                            self._node_children[event.node] = child
                    child.observe(ms / 1000)
            elif event.type.terminal:
                # "completed", "failed", "cancelled" or "released".
                status = event.type.value
                counter = self._finished_children.get(status)
                if counter is None:
                    counter = self._finished_children[status] = self.finished.labels(
                        status.removeprefix("run_"))
                counter.inc()
        except Exception:  # metrics must never break a run
            log.exception("could not record metrics for an event")

    async def count(self) -> None:
        """Count what only the store knows (runs waiting for an answer); called before
        each scrape. A store that fails keeps the last count (the log says why)."""
        rt = self._runtime()
        if rt is None:
            return
        with anyio.move_on_after(COUNT_TIMEOUT):
            try:
                self._runs.waiting = await rt.store.count_runs(RunStatus.WAITING.value)
            except StoreError:
                log.warning("could not count the waiting runs for /metrics", exc_info=True)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class ObservedStore:
    """A store that shows every event it is given to ``on_event`` first.

    Everything else is the wrapped store's, unchanged.
    """

    def __init__(self, inner: Store, on_event: Callable[[Event], None]) -> None:
        self._inner = inner
        self._on_event = on_event

    @property
    def inner(self) -> Store:
        return self._inner

    def append_event(self, event: Event) -> None:
        self._on_event(event)
        self._inner.append_event(event)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
