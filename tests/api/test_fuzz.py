"""Schemathesis against a real ``actorflow serve`` (Hypercorn on a loopback port).

Every operation of the OpenAPI document gets generated requests, valid and invalid
alike, in schemathesis' four phases: examples, coverage (the boundary values of each
declared bound, and just past them), fuzzing (``MAX_EXAMPLES`` per operation) and
stateful (chains that feed the ids one answer returns into the next request, so runs
and graphs that exist are reached too). No answer may be a 5xx, and every answer must
have a declared status, content type and body schema.

It runs schemathesis' command line (``st run``), its stable public interface: the
pytest integration (``schemathesis.pytest.from_fixture``) reads a private attribute
that pytest 9.2 removed, and hypothesis strategies alone (``operation.as_strategy``)
have neither the coverage nor the stateful phase, which are what found the 500s this
suite now guards against (offsets past 2**63 on SQLite, an integer past 4300 digits
in a graph). The seed is fixed, so a run is repeatable; ``st replay`` and the
``curl`` lines in the report reproduce a failure.

On both server backends with SQLite, and on PostgreSQL under `make test`; about 15 s
per server on 2 cores.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from _api_support import serving
from _server import Server, fresh_postgres, server, sqlite_url

pytestmark = pytest.mark.slow

ST = str(Path(sys.executable).with_name("st"))
#: Generated requests per operation in the fuzzing phase (the other phases add theirs).
MAX_EXAMPLES = 15
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance"]
FUZZ_TIMEOUT = 300


@pytest.fixture(params=[("asyncio", "sqlite"), ("trio", "sqlite"),
                        pytest.param(("asyncio", "postgres"), marks=pytest.mark.postgres)],
                ids=lambda p: "-".join(p))
def live_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    backend, database = request.param
    with ExitStack() as stack:
        if database == "sqlite":
            url = sqlite_url(tmp_path)
        else:
            pg = os.environ.get("ACTORFLOW_TEST_POSTGRES_URL")
            if not pg:
                pytest.skip("no PostgreSQL: run through `make test`")
            url = stack.enter_context(fresh_postgres(pg))
        # Long polls capped at 2 s, well inside the per-request timeout below: a generated
        # `wait` on a run that waits for an answer must not read as a hung server.
        yield stack.enter_context(server(backend, url, tmp_path, max_wait_seconds=2))


def test_generated_requests_get_no_server_error_and_only_declared_answers(
        live_server: Server, tmp_path: Path) -> None:
    # One worker: with two, hypothesis parses lambda sources with ast.parse in two threads
    # at once, which CPython 3.11 can fail ("AST constructor recursion depth mismatch").
    command = [ST, "run", f"{live_server.url}/openapi.json", "--seed", "1",
               "--phases", "examples,coverage,fuzzing,stateful",
               "--max-examples", str(MAX_EXAMPLES), "--workers", "1",
               "--checks", ",".join(CHECKS), "--no-color", "--request-timeout", "30"]
    # cwd: schemathesis keeps its example database (.hypothesis) where it runs.
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True,
                          timeout=FUZZ_TIMEOUT, check=False)
    assert done.returncode == 0, f"{done.stdout[-12_000:]}\n{done.stderr[-2000:]}"
    selected = re.search(r"Selected: (\d+)/(\d+)", done.stdout)
    tested = re.search(r"Tested: (\d+)", done.stdout)
    assert selected and tested, done.stdout[-3000:]
    assert selected[1] == selected[2] == tested[1], done.stdout[-3000:]  # every operation
    assert live_server.proc.poll() is None, f"the server died:\n{live_server.log()}"


async def test_every_http_route_is_in_the_openapi_document_so_it_is_fuzzed(
        anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        spec = await (await client.get("/openapi.json")).get_json()
        rules = list(client.app.url_map.iter_rules())  # type: ignore[attr-defined]
    documented = {(method.upper(), path) for path, ops in spec["paths"].items()
                  for method in ops}
    left_out = {(method, _openapi_path(rule.rule)) for rule in rules if not rule.websocket
                for method in rule.methods or () if method not in ("HEAD", "OPTIONS")}
    # Not API operations: the docs UI, the document itself, Prometheus' text format, the
    # Studio's page and files (at / and /studio).
    left_out = {(m, p) for m, p in left_out - documented
                if not p.startswith(("/docs", "/openapi.json", "/metrics", "/studio"))
                and p != "/"}
    assert left_out == set()


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]*:)?([^>]+)>", r"{\1}", rule)
