"""Request bodies and query strings, validated by pydantic models.

``@json_body(Model)`` replaces quart-schema's ``validate_request`` so that each way
a body can be wrong gets its own answer in the one error shape: 415 for a body
that is not ``application/json``, 400 ``malformed_json`` (with line and column)
for JSON that does not parse, 400 ``validation_error`` (with field paths) for JSON
that does not fit the model, and 413 (raised by Quart) above the size limit. It
still registers the model with quart-schema, so OpenAPI documents the body.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from quart import request
from quart_schema import DataSource
from quart_schema.validation import QUART_SCHEMA_REQUEST_ATTRIBUTE

from .errors import ApiError, validation_details

__all__ = ["json_body", "parse_query"]

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
                raise ApiError(400, "validation_error",
                               f"the request body does not match {model.__name__}",
                               validation_details(exc)) from exc
            return await func(*args, data=data, **kwargs)

        setattr(wrapper, QUART_SCHEMA_REQUEST_ATTRIBUTE, (model, DataSource.JSON))
        return wrapper

    return decorate


async def _read_json() -> Any:
    mimetype = request.mimetype
    if not (mimetype == "application/json" or mimetype.endswith("+json")):
        await request.get_data()  # read (within the size limit) so the connection stays usable
        raise ApiError(415, "unsupported_media_type",
                       "send the body as JSON with Content-Type: application/json",
                       {"content_type": request.content_type})
    body = await request.get_data(as_text=False)
    if not body:
        raise ApiError(400, "malformed_json", "the request body is empty; send a JSON object")
    try:
        return json.loads(body)
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed_json", "the request body is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"the request body is not valid JSON: {exc.msg}",
                       {"line": exc.lineno, "column": exc.colno}) from exc


def parse_query(model: type[M]) -> M:
    """The query string as ``model`` (400 with field paths when it does not fit)."""
    values: dict[str, Any] = {}
    for key in request.args:
        items = request.args.getlist(key)
        values[key] = items if len(items) > 1 else items[0]
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ApiError(400, "validation_error", "invalid query parameters",
                       validation_details(exc)) from exc
