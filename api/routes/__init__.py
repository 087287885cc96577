"""HTTP and WebSocket routes, one blueprint per resource."""

from __future__ import annotations

from pydantic import BaseModel
from quart import Quart, Response, current_app

__all__ = ["register_routes", "reply"]


def reply(model: BaseModel, status: int = 200) -> Response:
    """A pydantic model as a JSON response.

    Serialized by pydantic-core in one step (field order kept, compact, UTF-8), not
    dumped to a dict of JSON-ready values and encoded again by ``json``: the same
    JSON document (non-ASCII text as UTF-8 rather than ``\\u`` escapes, which JSON
    parsers read alike) for a fraction of the allocations.
    """
    return current_app.response_class(  # TrioResponse under QuartTrio
        model.model_dump_json(), status=status, mimetype="application/json")


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
