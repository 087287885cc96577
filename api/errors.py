"""One JSON error shape for every failure: ``{"error": {"code", "message", "details"}}``.

::

    ApiError                 raised by handlers; carries status, code, message, details
    HTTPException (werkzeug) 404/405/413/... from routing and body limits, mapped here
    Exception                anything else: 500 with a generic message, logged server-side

Responses never carry stack traces or internal messages; the log does.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from quart import Quart, Response, has_request_context, jsonify, request
from werkzeug.exceptions import HTTPException

__all__ = ["ApiError", "error_response", "install_error_handlers", "validation_details"]

log = logging.getLogger("actorflow.api")

#: Stable machine-readable codes for the HTTP errors werkzeug raises.
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    503: "unavailable",
}


class ApiError(Exception):
    """An error answered to the client as is. ``details`` must be JSON-ready."""

    def __init__(self, status: int, code: str, message: str,
                 details: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> Response:
    """The one error body, as a response."""
    from .transport import assign_request_id, current_request_id

    body: dict[str, Any] = {"code": code, "message": message, "details": details}
    rid = current_request_id()
    if rid is None and has_request_context():
        rid = assign_request_id(request)   # refused before admission (a 413)
    if rid is not None:
        body["request_id"] = rid  # quote it when reporting: the server log has the same id
    response = jsonify({"error": body})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic errors as ``[{"path": "nodes.0.name", "message", "type"}]``."""
    return [
        {"path": ".".join(str(p) for p in err["loc"]) or "(body)",
         "message": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def install_error_handlers(app: Quart) -> None:
    """Map every error raised while handling a request to the one JSON shape."""

    @app.errorhandler(ApiError)
    async def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(HTTPException)
    async def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = exc.description or exc.name
        details: Any = None
        if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            details = {"allowed": sorted(exc.valid_methods)}  # type: ignore[attr-defined]
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = (f"request body is larger than the limit of {limit} bytes; send less "
                       "(large inputs belong in a file or store the nodes read), or raise the "
                       "server's limit (ACTORFLOW_MAX_BODY_BYTES, --max-body-bytes)")
            details = {"limit_bytes": limit}
        # A converter's BadParameter (api.params) brings its own code and details.
        code = getattr(exc, "api_code", None) or _HTTP_CODES.get(status, "http_error")
        details = getattr(exc, "details", details)
        response = error_response(status, code, message, details)
        if status == 405 and details:
            response.headers["Allow"] = ", ".join(details["allowed"])
        if status == 413:
            # The rest of the body is still on the wire: this connection cannot carry
            # another request (Hypercorn's trio worker would wait on it forever).
            response.headers["Connection"] = "close"
        return response

    @app.errorhandler(Exception)
    async def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error while serving a request", exc_info=exc)
        return error_response(500, "internal_error",
                              "the server failed to handle this request; see the server log")
