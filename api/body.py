"""Request bodies and query strings, validated by pydantic models.

``@json_body(Model)`` replaces quart-schema's ``validate_request`` so that each way
a body can be wrong gets its own answer in the one error shape: 415 for a body
that is not ``application/json``, 400 ``malformed_json`` (with line and column)
for JSON that does not parse, 400 ``validation_error`` (with field paths) for JSON
that does not fit the model, and 413 (raised by Quart) above the size limit. It
still registers the model with quart-schema, so OpenAPI documents the body.

Before any model sees it, the JSON must keep the bounds every handler and store can
hold (400 ``json_limit`` above them): nesting at most ``MAX_JSON_DEPTH`` levels,
integers of at most ``runtime.portable.MAX_INT_DIGITS`` digits, numbers within a
double's range; and the one rule of :mod:`runtime.portable` (400
``validation_error`` with the path): no NUL or lone surrogate in any text, no NaN or
Infinity. Query strings keep that rule too (``parse_query``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from quart import g, request
from quart_schema import DataSource
from quart_schema.validation import QUART_SCHEMA_REQUEST_ATTRIBUTE

from runtime import portable
from runtime.config_check import json_kind

from .errors import ApiError, validation_details
from .headers import header

__all__ = ["MAX_JSON_DEPTH", "json_body", "parse_query", "read_json", "read_whole_body",
           "text_error"]

#: Deepest nesting of arrays and objects in a request body. Far above what a graph or
#: a state needs, far below where parsing and serializing recurse out of stack.
MAX_JSON_DEPTH = 64

M = TypeVar("M", bound=BaseModel)
Handler = Callable[..., Awaitable[Any]]


def json_body(model: type[BaseModel]) -> Callable[[Handler], Handler]:
    """Parse and validate the JSON body; the handler gets it as ``data=``."""

    def decorate(func: Handler) -> Handler:
        @wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            raw = await _read_json()
            try:
                data = model.model_validate(raw)
            except ValidationError as exc:
                raise ApiError(400, "validation_error", _mismatch(model, raw, exc),
                               validation_details(exc)) from exc
            return await func(*args, data=data, **kwargs)

        setattr(wrapper, QUART_SCHEMA_REQUEST_ATTRIBUTE, (model, DataSource.JSON))
        return wrapper

    return decorate


def _mismatch(model: type[BaseModel], raw: Any, exc: ValidationError) -> str:
    """What is wrong with the body, in one sentence: its first problem, where."""
    if not isinstance(raw, dict):
        return (f"the request body must be a JSON object (the {model.__name__} schema in "
                f"/docs), not {json_kind(raw)}")
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"]) or "(body)"
    more = f" (and {len(errors) - 1} more in details)" if len(errors) > 1 else ""
    return (f"the request body does not match the {model.__name__} schema (see /docs): "
            f"{where}: {first['msg']}{more}")


async def read_json() -> Any:
    """The body as parsed JSON (415, 400 ``malformed_json`` as for ``json_body``)."""
    return await _read_json()


async def _read_json() -> Any:
    mimetype = request.mimetype
    if not (mimetype == "application/json" or mimetype.endswith("+json")):
        await request.get_data()  # read (within the size limit) so the connection stays usable
        raise ApiError(415, "unsupported_media_type",
                       "send the body as JSON with Content-Type: application/json",
                       {"content_type": request.content_type})
    body = g.get("request_body")  # read by read_whole_body already
    if body is None:
        body = await request.get_data(as_text=False)
    if not body:
        raise ApiError(400, "malformed_json", "the request body is empty; send a JSON object")
    try:
        value = json.loads(body, parse_constant=_no_constant, parse_int=_bounded_int,
                           parse_float=_finite_float)
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed_json", "the request body is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"the request body is not valid JSON: {exc.msg}",
                       {"line": exc.lineno, "column": exc.colno}) from exc
    except RecursionError as exc:  # the parser recursed out of stack: far too deep
        raise _too_deep("(body)") from exc
    found = portable.problem(value, max_depth=MAX_JSON_DEPTH)
    if found is not None:
        if found.kind == "too_deep":
            raise _too_deep(found.path)
        raise ApiError(400, "validation_error", f"the request body holds a value no store "
                       f"keeps: {found.path} {found.message}",
                       [{"path": found.path, "message": found.message, "type": found.kind}])
    return value


def _no_constant(token: str) -> Any:
    raise ApiError(400, "malformed_json", f"the request body is not valid JSON: {token} is "
                   "not a JSON number; send a finite number or null", {"token": token})


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > portable.MAX_INT_DIGITS:
        raise ApiError(400, "json_limit", f"the request body holds an integer of "
                       f"{len(text.lstrip('-'))} digits; at most {portable.MAX_INT_DIGITS} "
                       "are accepted", {"limit": portable.MAX_INT_DIGITS, "what": "int_digits"})
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ApiError(400, "json_limit", f"the request body holds the number {text[:40]}, "
                       "beyond the range of a double (about 1.8e308)",
                       {"limit": 1.7976931348623157e308, "what": "float_range"})
    return value


def _too_deep(path: str) -> ApiError:
    shown = path if len(path) <= 80 else f"{path[:80]}..."
    return ApiError(400, "json_limit", f"the request body is nested more than "
                    f"{MAX_JSON_DEPTH} levels deep (at {shown}); flatten it",
                    {"limit": MAX_JSON_DEPTH, "what": "depth", "path": path})


def text_error(where: str, text: str) -> ApiError | None:
    """400 if ``text`` (a path or query parameter) breaks the one rule for text."""
    bad = portable.text_problem(text)
    if bad is None:
        return None
    return ApiError(400, "validation_error", f"{where} {bad[0]}",
                    [{"path": where, "message": bad[0], "type": bad[1]}])


async def read_whole_body() -> None:
    """Read each request's body (within the size limit, else 413) before it is answered.

    A route that takes no body may still be sent one. Left unread, Hypercorn's trio
    worker waits for it to be consumed, and the next request on that keep-alive
    connection hangs (schemathesis found it). Run as a ``before_request`` hook; a
    handler that wants the body gets it from ``g.request_body``
    (:func:`read_json` does).
    """
    # Read from the headers (not ``request.content_length``), which costs nothing when
    # they are absent: see api/headers.py.
    chunked = "chunked" in header(request.headers, "Transfer-Encoding").lower()
    if chunked or header(request.headers, "Content-Length") not in ("", "0"):
        # Kept for the handler: each get_data() is an asyncio.wait_for (a new task and
        # a timer) or a trio cancel scope even when the body is already there.
        g.request_body = await _whole_body()


async def _whole_body() -> bytes:
    """The request's body: at once when it has all arrived (as it has for most small
    bodies by the time the handler runs), else through ``get_data``, which bounds
    the wait for the rest by ``BODY_TIMEOUT``. Awaiting a complete body still
    raises what Quart raises (413 above the size limit)."""
    body = request.body
    complete = getattr(body, "_complete", None)  # Quart's Body (and QuartTrio's)
    is_set = getattr(complete, "is_set", None)
    if callable(is_set) and is_set():
        return bytes(await body)
    return await request.get_data(cache=True, as_text=False, parse_form_data=False)


def parse_query(model: type[M]) -> M:
    """The query string as ``model`` (400 with field paths when it does not fit)."""
    values: dict[str, Any] = {}
    for key in request.args:
        items = request.args.getlist(key)
        for item in (key, *items):
            error = text_error(f"query.{portable.shown(key)}", item)
            if error is not None:
                raise error
        values[key] = items if len(items) > 1 else items[0]
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ApiError(400, "validation_error", "invalid query parameters",
                       validation_details(exc)) from exc
