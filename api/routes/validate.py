"""``POST /api/v1/graph/validate``: compile a definition without storing it."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import DataSource, document_response, tag
from quart_schema.validation import QUART_SCHEMA_REQUEST_ATTRIBUTE

from ..auth import tenant
from ..body import read_json
from ..current import service
from ..problems import GraphValidation, locate, shape_problems
from ..schemas import ErrorBody, GraphCreate
from . import reply

__all__ = ["validate"]

validate = Blueprint("validate", __name__)


@validate.post("/api/v1/graph/validate")
@tag(["graphs"])
@document_response(GraphValidation)
@document_response(ErrorBody, 400)
async def validate_graph() -> Response:
    """Check a graph definition as ``POST /api/v1/graph/create`` would, and store nothing.

    Answers 200 with ``valid`` and every problem found (the same ones create refuses
    with 400), each with where it is: the node, the edge's index in ``edges``, the field
    path and, for a condition, the column. A body that is not JSON is still a 400.
    """
    definition = await read_json()
    body, problems = shape_problems(definition)
    if body is not None:
        _, problems = await service().compile_graph(body, tenant=tenant())
    return reply(GraphValidation(valid=not problems,
                                 problems=[locate(p, definition) for p in problems]))


# The body is a graph definition, as for create; OpenAPI documents it so.
setattr(validate_graph, QUART_SCHEMA_REQUEST_ATTRIBUTE, (GraphCreate, DataSource.JSON))
