"""Planted secrets (a provider API key, the JWT secret, the database password) appear
nowhere a run and a failing provider leave traces: the server log, the run's events
and error, its detail and history, error answers, ``/metrics`` and the audit log.

The fake provider is hostile on purpose: like some real APIs, its 401 answer echoes
the key it was sent.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import jwt
import pytest
from _server import database as fresh_database
from _server import server
from httpx_ws import WebSocketDisconnect, connect_ws

pytestmark = pytest.mark.slow


@contextmanager
def echoing_openai() -> Iterator[str]:
    """Chat Completions that answers 401 quoting the bearer key it received."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            body = json.dumps({"error": {
                "message": f"Incorrect API key provided: {key}. You can find your API key "
                           "at https://platform.openai.com/account/api-keys.",
                "type": "invalid_request_error", "param": None,
                "code": "invalid_api_key"}}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        thread.join(10)
        httpd.server_close()


@contextmanager
def database(kind: str, tmp_path: Path, password: str) -> Iterator[str]:
    with fresh_database(kind, tmp_path) as url:
        if kind == "sqlite":
            yield url
            return
        # The test cluster trusts local connections: a planted password is carried in
        # the URL (and must be hidden everywhere) without being needed.
        parts = urlsplit(url)
        user = parts.username or "postgres"
        host = parts.netloc.rpartition("@")[2]
        yield urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


GRAPH = {"name": "secret_probe", "nodes": [
    {"name": "summarize", "tool": "summarize_chunk", "config": {"use_llm": True}}]}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_planted_secrets_appear_nowhere(kind: str, tmp_path: Path) -> None:
    provider_key = "sk-planted-" + secrets.token_hex(16)
    jwt_secret = "jwt-planted-" + secrets.token_hex(16)
    db_password = "pw-planted-" + secrets.token_hex(8)
    planted = [provider_key, jwt_secret] + ([db_password] if kind == "postgres" else [])
    token = jwt.encode({"sub": "tester", "tenant": "default", "scope": "*",
                        "exp": int(time.time()) + 600}, jwt_secret, algorithm="HS256")
    auth = {"Authorization": f"Bearer {token}"}
    seen: list[str] = []
    with echoing_openai() as llm_url, database(kind, tmp_path, db_password) as url:
        os.environ["OPENAI_API_KEY"] = provider_key
        try:
            with server("asyncio", url, tmp_path, auth="jwt", jwt_secret=jwt_secret,
                        llm_provider="openai", openai_base_url=llm_url,
                        llm_max_retries=0) as srv, \
                    httpx.Client(base_url=srv.url, timeout=30) as http:
                seen += _exercise(http, srv.ws_url, auth, token)
                srv.terminate()
                seen.append(srv.log())
        finally:
            del os.environ["OPENAI_API_KEY"]
    everything = "\n".join(seen)
    assert "Incorrect API key provided: ***" in everything  # the echo arrived, scrubbed
    for secret in planted:
        assert secret not in everything


def _exercise(http: httpx.Client, ws_url: str, auth: dict[str, str],
              token: str) -> list[str]:
    out: list[str] = []
    graph = http.post("/api/v1/graph/create", json=GRAPH, headers=auth)
    assert graph.status_code == 201, graph.text
    run = http.post("/api/v1/graph/run", headers=auth, json={
        "graph_id": graph.json()["graph_id"], "initial_state": {"chunk": "Some text. " * 20}})
    run_id = run.json()["run_id"]
    waited = http.get(f"/api/v1/runs/{run_id}/wait?timeout=20", headers=auth)
    assert waited.json()["status"] == "failed", waited.text
    for path in (f"/api/v1/runs/{run_id}", f"/api/v1/graph/state/{run_id}",
                 f"/api/v1/runs/{run_id}/history", "/api/v1/runs", "/metrics",
                 "/api/v1/audit?limit=1000"):
        answer = http.get(path, headers=auth)
        assert answer.status_code == 200, (path, answer.text)
        out.append(answer.text)
    detail = http.get(f"/api/v1/runs/{run_id}", headers=auth).json()
    assert "invalid_api_key" in json.dumps(detail) or "Incorrect API key" in json.dumps(detail)
    # error answers, with and without a credential
    out.append(http.get("/api/v1/runs", headers={"Authorization": "Bearer " + token[:-3]}).text)
    out.append(http.get("/api/v1/runs/nope", headers=auth).text)
    with connect_ws(f"{ws_url}/api/v1/graph/ws/{run_id}", http, headers=auth) as ws:
        while True:
            try:
                message = ws.receive_text(timeout=10)
            except WebSocketDisconnect:
                break
            out.append(message)
            if json.loads(message)["type"] == "complete":
                break
    return out
