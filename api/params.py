"""Path parameters, checked where the URL is matched, and documented with their bounds.

Werkzeug's converters turn a path segment into a value or, if it does not fit, into
"no such route" (404). A segment that names a route but holds a bad value deserves a
400 that says what is wrong, so these converters raise :class:`BadParameter`
(a werkzeug ``BadRequest``, which Quart raises when it dispatches the request)::

    /api/v1/runs/<run_id>              text: no NUL, no lone surrogate (runtime.portable)
    /api/v1/runs/<run_id>/history/<index:step>     an integer in 0..MAX_COUNT

``install_converters(app)`` must run before any route is added.
"""

from __future__ import annotations

from typing import Any

from quart import Quart
from quart_schema.validation import (
    QUART_SCHEMA_QUERYSTRING_ATTRIBUTE,
    QUART_SCHEMA_REQUEST_ATTRIBUTE,
)
from werkzeug.exceptions import BadRequest
from werkzeug.routing import BaseConverter, IntegerConverter, Rule, UnicodeConverter

from runtime import portable
from runtime.definition import MAX_COUNT

from .openapi import DocsOpenAPIProvider
from .schemas import ErrorBody

__all__ = ["BadParameter", "BoundedOpenAPIProvider", "Index", "Text", "install_converters"]


class BadParameter(BadRequest):
    """A path parameter that fits its route but not its type: 400 ``validation_error``."""

    api_code = "validation_error"

    def __init__(self, where: str, path: str, message: str, kind: str) -> None:
        super().__init__(f"{where} {message}")
        self.details = [{"path": path, "message": message, "type": kind}]


class Text(UnicodeConverter):
    """Any one segment (the default converter), refusing text no store keeps."""

    def to_python(self, value: str) -> str:
        bad = portable.text_problem(value)
        if bad is not None:
            # A converter does not know its parameter's name: the segment it is.
            raise BadParameter(f"path segment '{portable.shown(value)[:60]}'", "path", *bad)
        return value


class Index(IntegerConverter):
    """A step or sequence number: an integer in ``0..MAX_COUNT`` (400 outside)."""

    # Any run of digits (and a sign) routes here, so out-of-range values get a 400
    # rather than a 404; checked by length first, as int() refuses over 4300 digits.
    regex = r"-?\d+"

    def __init__(self, map: Any) -> None:
        super().__init__(map, min=0, max=MAX_COUNT)

    def to_python(self, value: str) -> int:
        digits = value.lstrip("-")
        if value.startswith("-") or len(digits) > len(str(MAX_COUNT)) or int(digits) > MAX_COUNT:
            shown = f"{value[:30]}{'...' if len(value) > 30 else ''}"
            raise BadParameter("path parameter step", "path.step",
                               f"must be an integer from 0 to {MAX_COUNT}, not {shown}",
                               "out_of_range")
        return int(digits)


class BoundedOpenAPIProvider(DocsOpenAPIProvider):
    """The docs' provider (prose in Markdown), also documenting what the door does on
    every route: integer path parameters with their bounds, and the errors the door
    itself answers (400 for a bad parameter or body, 413 and 415 for a body) in the
    one error shape."""

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        func = self._app.view_functions[rule.endpoint]
        body = getattr(func, QUART_SCHEMA_REQUEST_ATTRIBUTE, None) is not None
        query = getattr(func, QUART_SCHEMA_QUERYSTRING_ATTRIBUTE, None) is not None
        statuses = [400, 413, 415] if body else [400] if query or rule.arguments else []
        if statuses:
            error, error_components = self.build_response_object(ErrorBody, None)
            components.update(error_components)
            for operations in paths.values():
                for operation in operations.values():
                    responses = operation["responses"] = dict(operation["responses"])
                    for status in statuses:
                        responses.setdefault(status, error)
        return paths, components

    def build_path_parameter(self, name: str, converter: BaseConverter) -> dict[str, Any]:
        parameter = super().build_path_parameter(name, converter)
        if isinstance(converter, IntegerConverter):
            bounds = {"minimum": converter.min, "maximum": converter.max}
            parameter["schema"].update({k: v for k, v in bounds.items() if v is not None})
        return parameter


def install_converters(app: Quart) -> None:
    """Make :class:`Text` the default converter and add ``index``."""
    for name in ("default", "string"):
        app.url_map.converters[name] = Text
    app.url_map.converters["index"] = Index


