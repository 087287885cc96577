"""OpenTelemetry spans of runs and node attempts, through the global API only.

The runtime is embedded in other applications, and the tracer provider is theirs: it
only ever calls ``opentelemetry.trace.get_tracer`` and never sets a provider (DBOS's
embedded engine replaced its host's: dbos-transact-ts#1199). Whatever provider the host
sets, even after the Runtime started, receives the spans; with none set, runs skip
tracing at the cost of one check per run and one context-variable read per node actor
(the node actors of a run read whether it is traced once, :func:`traced`).

- A span ``actorflow.run`` per execution of a run (a resumed or recovered run gets a new
  one in the same trace), with ``actorflow.run_id``, ``actorflow.graph``,
  ``actorflow.resumed`` and ``actorflow.outcome`` (the status it stopped in).
- A span ``actorflow.node`` per node attempt, its child, with ``actorflow.run_id``,
  ``actorflow.node``, ``actorflow.attempt``, ``actorflow.outcome`` (completed, failed,
  retrying, interrupted, cancelled). It is the current span while the node runs, so
  the node's outgoing HTTP calls carry it (:func:`inject_headers`).

The trace a run belongs to is the caller's: the W3C ``traceparent`` (and ``tracestate``)
given to ``Runtime.start(trace_parent=...)`` (the HTTP API passes the request's), else the
span current where ``start`` is called. It is kept in the run's record
(:func:`capture_parent`), so whichever process resumes the run continues that trace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, MutableMapping
from contextvars import ContextVar, Token
from typing import TypeVar

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import ProxyTracerProvider, Span, Status, StatusCode

__all__ = ["capture_parent", "enabled", "inject_headers"]

T = TypeVar("T")

_TRACER = trace.get_tracer("actorflow.runtime")   # a proxy: follows the provider set later
#: Whether the current run is traced (read per node attempt: a context variable is the
#: cheapest check there is; node workers inherit it from their run's task).
_TRACED: ContextVar[bool] = ContextVar("actorflow_traced", default=False)
#: The W3C trace-context headers kept with a run.
TRACE_HEADERS = ("traceparent", "tracestate")


def enabled() -> bool:
    """Whether an application has set a tracer provider (else every span is a no-op)."""
    return not isinstance(trace.get_tracer_provider(), ProxyTracerProvider)


def capture_parent(headers: Mapping[str, str] | None = None) -> dict[str, str] | None:
    """The trace context a new run belongs to, as headers to store with it: the W3C
    headers among ``headers`` if there are, else the current span's, else ``None``."""
    if headers is not None:
        found = {k: headers[k] for k in TRACE_HEADERS if headers.get(k)}
        if "traceparent" in found:
            return found
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {k: v for k, v in carrier.items() if k in TRACE_HEADERS} or None


def inject_headers(headers: MutableMapping[str, str]) -> None:
    """Add the current trace context (``traceparent``...) to an outgoing request's headers."""
    if trace.get_current_span().get_span_context().is_valid:
        propagate.inject(headers)


class RunSpan:
    """The span of one execution of a run, current in the run's task while it lives."""

    __slots__ = ("_ctx_token", "_flag_token", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self._ctx_token = otel_context.attach(trace.set_span_in_context(span))
        self._flag_token: Token[bool] = _TRACED.set(True)

    def end(self, outcome: str, error: BaseException | None) -> None:
        _TRACED.reset(self._flag_token)
        otel_context.detach(self._ctx_token)
        _finish(self.span, outcome, error)


def start_run(run_id: str, graph: str, parent: Mapping[str, str] | None,
              resumed: bool) -> RunSpan | None:
    """The run's span, current from now on in this task; ``None`` when tracing is off."""
    if not enabled():
        return None
    context = propagate.extract(parent) if parent else otel_context.Context()
    span = _TRACER.start_span("actorflow.run", context=context, attributes={
        "actorflow.run_id": run_id, "actorflow.graph": graph, "actorflow.resumed": resumed})
    return RunSpan(span)


def traced() -> bool:
    """Whether the run executing in this task (or its parent task) is traced."""
    return _TRACED.get()


def start_attempt(run_id: str, node: str, attempt: int, index: int | None) -> Span | None:
    """A node attempt's span (child of the run's), or ``None`` if the run is not traced."""
    if not _TRACED.get():
        return None
    attributes: dict[str, str | int] = {"actorflow.run_id": run_id, "actorflow.node": node,
                                        "actorflow.attempt": attempt}
    if index is not None:
        attributes["actorflow.index"] = index
    return _TRACER.start_span("actorflow.node", attributes=attributes)


async def within(span: Span, call: Awaitable[T]) -> T:
    """Await ``call`` with ``span`` current (its outgoing HTTP calls carry it)."""
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        return await call
    finally:
        otel_context.detach(token)


def end_attempt(span: Span | None, outcome: str, error: BaseException | None = None) -> None:
    if span is not None:
        _finish(span, outcome, error)


def abandon_attempt(span: Span | None) -> None:
    """End a span the attempt left open (it was cancelled)."""
    if span is not None and span.is_recording():
        _finish(span, "cancelled", None)


def _finish(span: Span, outcome: str, error: BaseException | None) -> None:
    span.set_attribute("actorflow.outcome", outcome)
    if error is not None:
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"[:500]))
    span.end()
