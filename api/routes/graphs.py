"""Graphs: create (the seed's), get (the seed's), list, and render as Mermaid."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_querystring, document_response, tag

from runtime.store.base import GraphRecord

from ..auth import readable, tenant
from ..body import json_body, parse_query
from ..current import service
from ..schemas import (
    ErrorBody,
    GraphCreate,
    GraphCreated,
    GraphList,
    GraphOut,
    MermaidOut,
    PageQuery,
)
from . import reply

__all__ = ["graph_out", "graphs"]

graphs = Blueprint("graphs", __name__)


def graph_out(record: GraphRecord) -> GraphOut:
    d = record.definition
    return GraphOut(
        graph_id=record.id, name=record.name, description=record.description,
        nodes=list(d.get("nodes", [])), edges=list(d.get("edges", [])),
        entry_point=d.get("entry_point"), reducers=dict(d.get("reducers") or {}),
        created_at=record.created_at, updated_at=record.updated_at,
    )


@graphs.post("/api/v1/graph/create")
@tag(["graphs"])
@document_response(GraphCreated, 201)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 409)
@json_body(GraphCreate)
async def create_graph(data: GraphCreate) -> Response:
    """Create a workflow graph.

    400 lists every problem found (unknown tools with suggestions, unknown nodes,
    unreachable nodes, parallel write conflicts, bad conditions); 409 if the name
    is taken.
    """
    record = await service().create_graph(data, tenant=tenant())
    return reply(GraphCreated(graph_id=record.id, name=record.name,
                              description=record.description, created_at=record.created_at),
                 201)


@graphs.get("/api/v1/graph/<graph_id>")
@tag(["graphs"])
@document_response(GraphOut)
@document_response(ErrorBody, 404)
async def get_graph(graph_id: str) -> Response:
    """A graph's definition, by id (or name)."""
    return reply(graph_out(await service().get_graph(graph_id, tenant=tenant())))


@graphs.get("/api/v1/graphs")
@tag(["graphs"])
@document_querystring(PageQuery)
@document_response(GraphList)
async def list_graphs() -> Response:
    """Stored graphs, oldest first, a page at a time."""
    q = parse_query(PageQuery)
    records = readable("graph", await service().rt().store.list_graphs(
        limit=q.limit, offset=q.offset, tenant=tenant()))
    return reply(GraphList(
        items=[graph_out(r) for r in records], limit=q.limit, offset=q.offset,
        next_offset=q.offset + q.limit if len(records) == q.limit else None))


@graphs.get("/api/v1/graphs/<graph_id>/mermaid")
@tag(["graphs"])
@document_response(MermaidOut)
@document_response(ErrorBody, 404)
async def graph_mermaid(graph_id: str) -> Response:
    """The graph as a Mermaid flowchart (parallel, conditional and map edges marked)."""
    record, text = await service().mermaid(graph_id, tenant=tenant())
    return reply(MermaidOut(graph_id=record.id, name=record.name, mermaid=text))
