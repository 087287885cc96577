"""A fake OpenTelemetry collector: a real HTTP server on loopback that accepts OTLP/HTTP
trace exports (``POST /v1/traces``, protobuf ``ExportTraceServiceRequest``), decodes them
with the opentelemetry-proto message classes and keeps the spans."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


@dataclass
class CollectedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status: int     # opentelemetry.proto.trace.v1.Status.StatusCode


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


class Collector:
    """The spans received; ``requests`` counts the export requests."""

    def __init__(self) -> None:
        self.spans: list[CollectedSpan] = []
        self.requests = 0
        self.content_types: set[str] = set()
        self._lock = threading.Lock()

    def take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        with self._lock:
            self.requests += 1
            for rs in request.resource_spans:
                resource = {a.key: _value(a.value) for a in rs.resource.attributes}
                for scope in rs.scope_spans:
                    for span in scope.spans:
                        self.spans.append(CollectedSpan(
                            span.name, span.trace_id.hex(), span.span_id.hex(),
                            span.parent_span_id.hex(),
                            {a.key: _value(a.value) for a in span.attributes}, resource,
                            span.status.code))

    def of_trace(self, trace_id: str) -> list[CollectedSpan]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]


@contextmanager
def collecting() -> Iterator[tuple[Collector, str]]:
    """A collector listening on loopback for the block; yields it and its base URL."""
    collector = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if self.path != "/v1/traces":
                self.send_error(404)
                return
            collector.content_types.add(self.headers.get("content-type", ""))
            try:
                collector.take(body)
            except Exception:  # noqa: BLE001 - a body that is not OTLP protobuf: 400
                self.send_error(400, "not an OTLP ExportTraceServiceRequest")
                return
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, name="otlp-collector", daemon=True)
    thread.start()
    try:
        yield collector, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
