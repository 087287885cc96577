"""HTTP and WebSocket routes, one blueprint per resource."""

from __future__ import annotations

from pydantic import BaseModel
from quart import Quart, Response, jsonify

__all__ = ["register_routes", "reply"]


def reply(model: BaseModel, status: int = 200) -> Response:
    """A pydantic model as a JSON response."""
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    return response


def register_routes(app: Quart) -> None:
    """Attach every blueprint to ``app``."""
    from .access import access
    from .graphs import graphs
    from .hitl import hitl
    from .runs import runs
    from .system import system
    from .threads import threads
    from .validate import validate
    from .ws import ws

    for bp in (graphs, validate, runs, hitl, threads, ws, system, access):
        app.register_blueprint(bp)
