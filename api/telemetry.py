"""Traces of the server: its OTLP exporter, and the trace context of incoming requests.

Only the server's entry points (``actorflow serve``, ``actorflow worker``) call
:func:`configure_tracing`, and it sets a tracer provider only if none is set and an
OTLP endpoint is configured (the ``otlp_endpoint`` setting, else the standard
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT`` variables).
An application that embeds the app or the runtime keeps its own provider: the runtime
only uses the global API (:mod:`runtime.tracing`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from runtime.tracing import TRACE_HEADERS, enabled

__all__ = ["configure_tracing", "request_trace", "traced"]

log = logging.getLogger("actorflow.api")

ENDPOINT_ENV = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def configure_tracing(endpoint: str | None) -> TracerProvider | None:
    """Export spans over OTLP/HTTP (protobuf) to ``endpoint`` (a base URL such as
    ``http://collector:4318``, as ``OTEL_EXPORTER_OTLP_ENDPOINT``; ``/v1/traces`` is added
    unless given), else where the standard variables say. Returns the provider it set
    (shut it down at exit to send the last spans), or ``None`` if it set none: one was
    set already, or no endpoint is configured."""
    if enabled():
        log.info("traces: the process has a tracer provider already; actorflow uses it")
        return None
    if not endpoint and not any(os.environ.get(name) for name in ENDPOINT_ENV):
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if endpoint:
        url = endpoint if endpoint.rstrip("/").endswith("/v1/traces") else (
            endpoint.rstrip("/") + "/v1/traces")
        exporter = OTLPSpanExporter(endpoint=url)
    else:
        exporter = OTLPSpanExporter()   # reads the OTEL_EXPORTER_OTLP_* variables
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "actorflow"}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    log.info("traces: exported over OTLP/HTTP to %s", endpoint or "the OTEL_EXPORTER_OTLP_* "
             "endpoint")
    return provider


def request_trace() -> dict[str, str] | None:
    """The W3C trace-context headers of the request being handled (a run started by it
    joins that trace), or ``None``."""
    from quart import request

    from .headers import header

    found = {name: value for name in TRACE_HEADERS if (value := header(request.headers, name))}
    return found or None


@contextmanager
def traced(endpoint: str | None) -> Iterator[None]:
    """:func:`configure_tracing` for the block; the spans still buffered are sent at its end."""
    provider = configure_tracing(endpoint)
    try:
        yield
    finally:
        if provider is not None:
            provider.shutdown()
