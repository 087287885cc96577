"""Nothing a request names is imported: every field of a graph that names code, over HTTP.

A tripwire module sits on ``sys.path`` with everything a reference could want
(a function, an exception, a schema, a reducer, a condition), so a server that
imported it would succeed; importing it records the fact in a file. Every
code-naming field of the graph schema names it, one field per request: each answer
is a 400 naming the field, and the module is never imported.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from _api_support import serving

from api.hitl_schemas import ForkIn, ReplayIn, ResumeIn, StateEditIn
from api.schemas import RunCreate
from api.thread_schemas import ThreadCopyIn, ThreadCreate, ThreadRunCreate
from runtime.definition import CacheDef, EdgeDef, GraphDef, NodeDef, RetryDef, SubgraphDef

TRIPWIRE = "actorflow_tripwire_http"

TRIPWIRE_SOURCE = '''
import pathlib
pathlib.Path(__file__).with_suffix(".imported").write_text("imported")
from pydantic import BaseModel

def fn(state): return {}
def cond(state): return True
def reduce(old, new): return new
class Boom(Exception): pass
class Schema(BaseModel): pass
x = 1
'''

BASE: dict[str, Any] = {
    "name": "refs",
    "nodes": [{"name": "a", "tool": "set", "config": {"values": {"k": 1}}},
              {"name": "b", "tool": "set"}],
    "edges": [{"from": "a", "to": "b"}],
}

#: Every field of the graph schema that names code, how a request sets it to the
#: tripwire, and what the 400 must say about it.
CODE_FIELDS: dict[str, tuple[Any, str]] = {
    "nodes[].fn": (lambda g: g["nodes"][0].update(fn=f"{TRIPWIRE}:fn"), "node 'a': fn"),
    "nodes[].tool": (lambda g: g["nodes"][0].update(tool=f"{TRIPWIRE}:fn"), "unknown tool"),
    "nodes[].retry.retry_on": (
        lambda g: g["nodes"][0].update(retry={"retry_on": [f"{TRIPWIRE}:Boom"]}),
        f"retry_on '{TRIPWIRE}:Boom' is not a known exception name"),
    "state_schema": (lambda g: g.update(state_schema=f"{TRIPWIRE}:Schema"), "state_schema"),
    "reducers": (lambda g: g.update(reducers={"k": f"{TRIPWIRE}:reduce"}), "unknown reducer"),
    "edges[].condition_fn": (
        lambda g: g["edges"].append({"from": "a", "to": "b", "condition_fn": f"{TRIPWIRE}:cond"}),
        "unknown condition"),
    # An inline subgraph is a graph of its own: every field above, one level down.
    "nodes[].subgraph.definition": (
        lambda g: g["nodes"].__setitem__(0, {"name": "a", "subgraph": {
            "graph": "inner", "definition": {
                "name": "inner", "nodes": [{"name": "x", "fn": f"{TRIPWIRE}:fn"}]}}}),
        "subgraph 'a': node 'x': fn"),
    "edges[].router": (
        lambda g: g["edges"].append({"from": "a", "to": "b", "router": f"{TRIPWIRE}:cond"}),
        f"router '{TRIPWIRE}:cond'"),
    "nodes[].cache.key": (
        lambda g: g["nodes"][0].update(cache={"ttl": 5, "key": f"{TRIPWIRE}:fn"}),
        f"cache key '{TRIPWIRE}:fn'"),
}

#: Every other field: plain data or names of nodes, never code.
DATA_FIELDS = {
    GraphDef: {"name", "description", "nodes", "edges", "entry_point", "max_steps"},
    NodeDef: {"name", "description", "config", "timeout", "retry", "concurrency", "writes",
              "on_error", "interrupt_before", "interrupt_after", "subgraph", "goto",
              "cache"},
    # graph: a stored graph's name, looked up in the store (trusted: stored by trusted
    # code or checked at this door); inputs/outputs: data keys.
    SubgraphDef: {"graph", "version", "inputs", "outputs"},
    CacheDef: {"ttl"},
    # condition: a safe expression over state data, parsed, never imported (test below);
    # when: a value a router returns
    EdgeDef: {"source", "target", "condition", "map", "item_key", "max_concurrency", "when"},
    RetryDef: {"max_attempts", "initial_delay", "backoff", "max_delay", "jitter"},
    # The other request bodies: graph_id is looked up in the store, as_node is a node
    # name; interrupt schemas are set by node code (ask(schema=...)), never by a request.
    RunCreate: {"graph_id", "initial_state", "timeout", "max_steps", "config", "wait",
                "wait_timeout"},
    ResumeIn: {"answer", "interrupt_id"},
    StateEditIn: {"values", "as_node"},
    ForkIn: {"step", "values"},
    ReplayIn: {"step"},
    ThreadCreate: {"thread_id", "graph_id", "metadata"},
    ThreadCopyIn: {"thread_id"},
    ThreadRunCreate: {"graph_id", "input", "multitask", "timeout", "max_steps", "config"},
}


@pytest.fixture
def tripwire(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tripwire module, importable; returns the file its import would write."""
    (tmp_path / f"{TRIPWIRE}.py").write_text(TRIPWIRE_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, TRIPWIRE, raising=False)
    return tmp_path / f"{TRIPWIRE}.imported"


def test_every_field_of_every_request_body_is_classified_as_code_or_data() -> None:
    # A new field that names code must be added to CODE_FIELDS (and so to the test below).
    from pydantic import BaseModel

    from api import hitl_schemas, schemas, thread_schemas

    bodies = {m for module in (schemas, hitl_schemas, thread_schemas)
              for m in vars(module).values()
              if isinstance(m, type) and issubclass(m, BaseModel)
              and m.model_config.get("extra") == "forbid"} - {schemas.PageQuery,
                                                             schemas.RunsQuery,
                                                             schemas.RunDetailQuery,
                                                             schemas.WaitQuery}
    assert bodies - {schemas.GraphCreate} <= set(DATA_FIELDS), "a request body is unclassified"
    code = {name.rpartition(".")[2].removesuffix("[]") for name in CODE_FIELDS}
    for model, data in DATA_FIELDS.items():
        fields = set(model.model_fields)
        assert fields - data <= code, f"{model.__name__}: unclassified {fields - data - code}"


@pytest.mark.parametrize("field", list(CODE_FIELDS))
async def test_a_graph_naming_code_in_any_field_is_400_and_nothing_is_imported(
        anyio_backend: str, tripwire: Path, field: str) -> None:
    set_field, expected = CODE_FIELDS[field]
    graph = copy.deepcopy(BASE)
    set_field(graph)
    async with serving(anyio_backend) as client:
        response = await client.post("/api/v1/graph/create", json=graph)
        body = await response.get_json()
    assert response.status_code == 400, body
    assert body["error"]["code"] == "invalid_graph"
    problems = "\n".join(body["error"]["details"]["problems"])
    assert expected in problems
    assert "No module named" not in problems  # nothing about what is installed
    assert TRIPWIRE not in sys.modules
    assert not tripwire.exists()


async def test_a_condition_expression_naming_a_module_is_data_and_imports_nothing(
        anyio_backend: str, tripwire: Path) -> None:
    graph = copy.deepcopy(BASE)
    graph["edges"] = [{"from": "a", "to": "b", "condition": f"{TRIPWIRE}.x > 0"}]
    async with serving(anyio_backend) as client:
        created = await (await client.post("/api/v1/graph/create", json=graph)).get_json()
        started = await client.post("/api/v1/graph/run", json={
            "graph_id": created["graph_id"], "initial_state": {TRIPWIRE: {"x": 1}}})
        run_id = (await started.get_json())["run_id"]
        done = await (await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")).get_json()
    assert done["status"] == "completed"
    assert TRIPWIRE not in sys.modules
    assert not tripwire.exists()


async def test_retry_on_naming_a_module_that_runs_code_on_import_is_refused_unimported(
        anyio_backend: str) -> None:
    # The security probe's payloads: lib2to3.__main__ made the server process exit and
    # "this" printed the Zen of Python, both on import.
    graph = copy.deepcopy(BASE)
    graph["nodes"][0]["retry"] = {"retry_on": ["this:x", "lib2to3.__main__:x"]}
    before = {"this", "lib2to3.__main__"} & set(sys.modules)
    async with serving(anyio_backend) as client:
        response = await client.post("/api/v1/graph/create", json=graph)
        body = await response.get_json()
    assert response.status_code == 400
    assert len(body["error"]["details"]["problems"]) == 2
    assert {"this", "lib2to3.__main__"} & set(sys.modules) == before


async def test_retry_on_takes_builtin_actorflow_and_registered_exception_names(
        anyio_backend: str) -> None:
    from runtime import registry

    class QuotaExceeded(Exception):
        pass

    registry.exception(QuotaExceeded, name="QuotaExceeded_test_code_refs")
    graph = copy.deepcopy(BASE)
    graph["nodes"][0]["retry"] = {
        "retry_on": ["TimeoutError", "NodeTimeoutError", "QuotaExceeded_test_code_refs"]}
    async with serving(anyio_backend) as client:
        created = await client.post("/api/v1/graph/create", json=graph)
        assert created.status_code == 201, await created.get_json()
        graph_id = (await created.get_json())["graph_id"]
        stored = await (await client.get(f"/api/v1/graph/{graph_id}")).get_json()
    # Stored by name, so reading it back imports nothing either.
    assert stored["nodes"][0]["retry"]["retry_on"] == [
        "TimeoutError", "NodeTimeoutError", "QuotaExceeded_test_code_refs"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_real_server_imports_nothing_a_client_names_and_keeps_serving(
        backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The probe's failure was a process exit (lib2to3.__main__ on asyncio): so a real
    # `actorflow serve`, with the tripwire importable from its PYTHONPATH.
    import httpx
    from _server import server, sqlite_url

    (tmp_path / f"{TRIPWIRE}.py").write_text(TRIPWIRE_SOURCE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]))
    with server(backend, sqlite_url(tmp_path), tmp_path) as srv:
        for field, (set_field, expected) in CODE_FIELDS.items():
            graph = copy.deepcopy(BASE)
            set_field(graph)
            answer = httpx.post(f"{srv.url}/api/v1/graph/create", json=graph, timeout=10)
            assert answer.status_code == 400, (field, answer.text)
            assert expected in answer.text
        graph = copy.deepcopy(BASE)
        graph["nodes"][0]["retry"] = {"retry_on": ["lib2to3.__main__:x", "this:x"]}
        assert httpx.post(f"{srv.url}/api/v1/graph/create", json=graph,
                          timeout=10).status_code == 400
        assert httpx.get(f"{srv.url}/health", timeout=10).status_code == 200
        assert "The Zen of Python" not in srv.log()
    assert not (tmp_path / f"{TRIPWIRE}.imported").exists()
