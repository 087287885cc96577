"""Structured logs: one JSON object per line (``--log-format json``, ``ACTORFLOW_LOG_FORMAT``).

Each line has ``ts`` (ISO 8601, UTC), ``level``, ``logger`` and ``message``; and, where
known, ``run_id`` and ``node`` (the run or node attempt the record was emitted from:
:func:`runtime.logcontext.log_fields`), ``trace_id`` and ``span_id`` (the current
OpenTelemetry span), ``request_id`` (the HTTP request), ``exception`` (the formatted
traceback). Fields passed with ``extra=`` that are JSON values are kept too.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from runtime.logcontext import log_fields

__all__ = ["JsonFormatter"]

#: Attributes every LogRecord has: not ``extra`` fields.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (see the module doc)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(log_fields())
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            line["trace_id"] = f"{span.trace_id:032x}"
            line["span_id"] = f"{span.span_id:016x}"
        request_id = getattr(record, "request_id", None)
        if request_id not in (None, "-"):
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line and _is_json(value):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def _is_json(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | list | dict)
