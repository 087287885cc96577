"""The guarded door on a real ``actorflow serve``: keys made by the CLI, used, rotated and
revoked over HTTP; WebSocket tickets; Host and Origin checks; TLS; refusing to serve
unauthenticated beyond loopback."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from _auth_support import APPROVAL
from _server import ACTORFLOW, free_port, server, sqlite_url
from httpx_ws import WebSocketDisconnect, WebSocketUpgradeError, connect_ws

pytestmark = pytest.mark.slow

BACKENDS = ["asyncio", "trio"]
ALL = "graphs:read,graphs:write,runs:read,runs:write,runs:resume"


def _cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTORFLOW_")}
    return subprocess.run([ACTORFLOW, *args, "--database-url", url], capture_output=True,
                          text=True, timeout=60, env=env)


def _new_key(url: str, tenant: str, scopes: str, name: str = "ci") -> str:
    made = _cli("keys", "create", "--name", name, "--tenant", tenant, "--scopes", scopes,
                url=url)
    assert made.returncode == 0, made.stderr
    assert "shown this once" in made.stderr
    return made.stdout.strip()


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_keys_made_by_the_cli_open_the_door_until_rotated_or_revoked(
        backend: str, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    ci = _new_key(url, "acme", ALL)
    admin = _new_key(url, "acme", "admin", name="ops")
    with server(backend, url, tmp_path, auth="keys") as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        refused = http.get("/api/v1/runs")
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert http.get("/api/v1/runs", headers=_auth(ci)).status_code == 200
        assert http.get("/api/v1/runs", headers=_auth(ci + "x")).status_code == 401
        assert http.get("/api/v1/keys", headers=_auth(ci)).status_code == 403
        listed = http.get("/api/v1/keys", headers=_auth(admin)).json()["items"]
        by_name = {k["name"]: k for k in listed}
        assert by_name["ci"]["last_used_at"] is not None and by_name["ci"]["tenant"] == "acme"
        assert all("key" not in k and "hash" not in k for k in listed)
        rotated = http.post(f"/api/v1/keys/{by_name['ci']['id']}/rotate", json={},
                            headers=_auth(admin))
        assert rotated.status_code == 201
        new = rotated.json()["key"]
        assert http.get("/api/v1/runs", headers=_auth(ci)).status_code == 401
        assert http.get("/api/v1/runs", headers=_auth(new)).status_code == 200
        revoked = _cli("keys", "revoke", rotated.json()["id"], url=url)
        assert revoked.returncode == 0, revoked.stderr
        # revocation holds at once: keys are looked up per request, never cached
        assert http.get("/api/v1/runs", headers=_auth(new)).status_code == 401
    stored = Path(url.removeprefix("sqlite:///")).read_bytes()
    for key in (ci, admin, new):
        assert key.encode() not in stored
    listing = _cli("keys", "list", "--json", url=url)
    rows = {r["id"]: r for r in json.loads(listing.stdout)}
    assert rows[rotated.json()["id"]]["revoked_at"] is not None


def test_an_admin_key_makes_keys_of_its_own_tenant_only(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    admin = _new_key(url, "acme", "admin")
    with server("asyncio", url, tmp_path, auth="keys") as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        made = http.post("/api/v1/keys", headers=_auth(admin),
                         json={"name": "bot", "scopes": ["runs:read"]})
        assert made.status_code == 201, made.text
        assert made.json()["tenant"] == "acme"
        who = http.get("/api/v1/auth/whoami", headers=_auth(made.json()["key"])).json()
        assert who == {"subject": "bot", "tenant": "acme", "scopes": ["runs:read"],
                       "kind": "key", "auth": "keys"}
        bad = http.post("/api/v1/keys", headers=_auth(admin),
                        json={"name": "bot", "scopes": ["runs:raed"]})
        assert bad.status_code == 400 and "runs:raed" in bad.json()["error"]["message"]


def _start_waiting(http: httpx.Client, key: str) -> str:
    graph = http.post("/api/v1/graph/create", json=APPROVAL, headers=_auth(key)).json()
    run = http.post("/api/v1/graph/run", json={"graph_id": graph["graph_id"]},
                    headers=_auth(key)).json()
    waited = http.get(f"/api/v1/runs/{run['run_id']}/wait?timeout=10", headers=_auth(key))
    assert waited.json()["status"] == "waiting"
    return str(run["run_id"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_browser_opens_the_feed_with_a_single_use_ticket(backend: str,
                                                          tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    key = _new_key(url, "acme", ALL)
    with server(backend, url, tmp_path, auth="keys") as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        run_id = _start_waiting(http, key)
        feed = f"{srv.ws_url}/api/v1/graph/ws/{run_id}"
        with pytest.raises(WebSocketUpgradeError) as no_ticket:
            with connect_ws(feed, http):
                pass
        assert no_ticket.value.response.status_code == 401
        issued = http.post("/api/v1/ws-tickets", headers=_auth(key))
        assert issued.status_code == 201
        ticket = issued.json()["ticket"]
        assert key not in ticket
        with connect_ws(f"{feed}?ticket={ticket}", http) as ws:
            first = json.loads(ws.receive_text(timeout=10))
        assert first["type"] == "log" and first["seq"] == 0
        with pytest.raises(WebSocketUpgradeError) as reused:
            with connect_ws(f"{feed}?ticket={ticket}", http):
                pass
        assert reused.value.response.status_code == 401
        # the header works for clients that can set one
        with connect_ws(feed, http, headers=_auth(key)) as ws:
            assert json.loads(ws.receive_text(timeout=10))["seq"] == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_revoking_a_key_ends_its_open_feeds_and_its_unused_tickets(backend: str,
                                                                   tmp_path: Path) -> None:
    # A waiting run's feed stays open as long as the run waits: before, the revoked
    # key's socket went on receiving the run's events (the security review).
    url = sqlite_url(tmp_path)
    key = _new_key(url, "acme", ALL, name="temp")
    admin = _new_key(url, "acme", "admin", name="admin")
    with server(backend, url, tmp_path, auth="keys") as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        run_id = _start_waiting(http, key)
        feed = f"{srv.ws_url}/api/v1/graph/ws/{run_id}"
        ticket = http.post("/api/v1/ws-tickets", headers=_auth(key)).json()["ticket"]
        listed = http.get("/api/v1/keys", headers=_auth(admin)).json()
        [key_id] = [k["id"] for k in listed["items"] if k["name"] == "temp"]
        with connect_ws(feed, http, headers=_auth(key)) as ws:
            while json.loads(ws.receive_text(timeout=10))["type"] != "waiting":
                pass
            revoked = http.post(f"/api/v1/keys/{key_id}/revoke", headers=_auth(admin))
            assert revoked.status_code == 200, revoked.text
            goodbye = json.loads(ws.receive_text(timeout=10))
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text(timeout=10)
        assert goodbye["type"] == "error" and goodbye["code"] == "revoked"
        assert closed.value.code == 4401
        with pytest.raises(WebSocketUpgradeError) as stale:
            with connect_ws(f"{feed}?ticket={ticket}", http):
                pass
        assert stale.value.response.status_code == 401   # issued before the revocation


def test_host_and_websocket_origin_are_checked_against_dns_rebinding(tmp_path: Path) -> None:
    with server("asyncio", sqlite_url(tmp_path), tmp_path) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        rebound = http.get("/api/v1/runs", headers={"Host": "evil.example"})
        assert rebound.status_code == 400
        assert rebound.json()["error"]["code"] == "bad_host"
        assert http.get("/api/v1/runs", headers={"Host": f"localhost:{srv.port}"}
                        ).status_code == 200
        with pytest.raises(WebSocketUpgradeError) as foreign:
            with connect_ws(f"{srv.ws_url}/api/v1/graph/ws/nope", http,
                            headers={"Origin": "http://evil.example"}):
                pass
        assert foreign.value.response.status_code == 403
        # Another server of this machine (same host name, another port or scheme) is
        # another origin: its pages may not read this server's live logs.
        for neighbour in (f"http://localhost:{srv.port + 1}", f"http://127.0.0.1:{srv.port + 1}",
                          "http://127.0.0.1", "https://localhost"):
            with pytest.raises(WebSocketUpgradeError) as other:
                with connect_ws(f"{srv.ws_url}/api/v1/graph/ws/nope", http,
                                headers={"Origin": neighbour}):
                    pass
            assert other.value.response.status_code == 403, neighbour
        with connect_ws(f"{srv.ws_url}/api/v1/graph/ws/nope", http,
                        headers={"Origin": f"http://127.0.0.1:{srv.port}"}) as ws, \
                pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text(timeout=10)
        assert closed.value.code == 4404  # same origin: accepted, then "no such run"


def test_cors_answers_only_the_configured_origins(tmp_path: Path) -> None:
    with server("asyncio", sqlite_url(tmp_path), tmp_path,
                cors_origins="https://studio.example") as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        preflight = {"Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization,content-type"}
        ok = http.options("/api/v1/graph/run",
                          headers={"Origin": "https://studio.example", **preflight})
        assert ok.headers["Access-Control-Allow-Origin"] == "https://studio.example"
        assert "authorization" in ok.headers["Access-Control-Allow-Headers"].lower()
        other = http.options("/api/v1/graph/run",
                             headers={"Origin": "https://evil.example", **preflight})
        assert "Access-Control-Allow-Origin" not in other.headers
        plain = http.get("/api/v1/runs", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in plain.headers


def test_responses_carry_security_headers_and_request_ids(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    with server("asyncio", url, tmp_path, auth="keys") as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        refused = http.get("/api/v1/runs", headers={"X-Request-ID": "rid-guard-42"})
        assert refused.headers["X-Request-ID"] == "rid-guard-42"
        assert refused.json()["error"]["request_id"] == "rid-guard-42"
        assert refused.headers["X-Content-Type-Options"] == "nosniff"
        assert refused.headers["X-Frame-Options"] == "DENY"
        assert "default-src 'none'" in refused.headers["Content-Security-Policy"]
        generated = http.get("/health").headers["X-Request-ID"]
        assert len(generated) == 32
        docs = http.get("/docs")  # the docs page loads without a key
        assert docs.status_code == 200 and "Content-Security-Policy" not in docs.headers
        assert http.get("/openapi.json").status_code == 200
        _wait_for(lambda: "[rid-guard-42]" in srv.log())
    line = next(ln for ln in srv.log().splitlines() if "[rid-guard-42]" in ln)
    assert "refused GET /api/v1/runs with 401" in line


def test_a_refused_path_cannot_write_a_line_of_its_own_into_the_log(tmp_path: Path) -> None:
    # Unauthenticated, with a line break in the path: before, the log showed a forged
    # "INFO ... admin login ok" line on its own (the security review).
    forged = "2026-12-01 00:00:00,000 INFO actorflow.auth FORGED admin login ok"
    with server("asyncio", sqlite_url(tmp_path), tmp_path, auth="keys") as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        refused = http.get("/api/v1/runs/x%0a" + forged.replace(" ", "%20"),
                           headers={"X-Request-ID": "rid-forge-1"})
        assert refused.status_code == 401
        _wait_for(lambda: "[rid-forge-1]" in srv.log())
    lines = srv.log().splitlines()
    assert not any(ln.startswith(forged[:23]) for ln in lines), lines[-5:]
    [line] = [ln for ln in lines if "[rid-forge-1]" in ln]
    assert "refused GET /api/v1/runs/x\\x0a2026-12-01 00:00:00,000 INFO" in line


def _wait_for(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_tls_by_certfile_and_keyfile(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTORFLOW_")}
    log = (tmp_path / "tls.log").open("wb")
    proc = subprocess.Popen([ACTORFLOW, "serve", "--port", str(port), "--database-url",
                             sqlite_url(tmp_path), "--certfile", str(certfile), "--keyfile",
                             str(keyfile)], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        with httpx.Client(verify=context, timeout=5) as https:
            def healthy() -> bool:
                try:
                    return https.get(f"https://127.0.0.1:{port}/health").status_code == 200
                except httpx.HTTPError:
                    assert proc.poll() is None, (tmp_path / "tls.log").read_text()
                    return False
            _wait_for(healthy, 30)
            answer = https.get(f"https://localhost:{port}/api/v1/runs")
            assert answer.status_code == 200
            assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
        with httpx.Client(timeout=5) as plain, pytest.raises(httpx.HTTPError):
            plain.get(f"http://127.0.0.1:{port}/health")
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_serving_beyond_loopback_without_auth_is_refused_with_the_reason() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTORFLOW_")}
    done = subprocess.run([ACTORFLOW, "serve", "--host", "0.0.0.0", "--port",
                           str(free_port()), "--database-url", "memory://"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2
    assert "refusing to serve on 0.0.0.0 without authentication" in done.stderr
    assert "--auth keys" in done.stderr and "--insecure" in done.stderr
    jwt = subprocess.run([ACTORFLOW, "serve", "--auth", "jwt", "--database-url", "memory://"],
                         capture_output=True, text=True, timeout=60, env=env)
    assert jwt.returncode == 2 and "--jwt-secret" in jwt.stderr


def test_the_cli_rotates_a_key_with_a_grace_period(tmp_path: Path) -> None:
    import anyio

    from api.auth import KeyRing
    from runtime.store import open_store

    url = sqlite_url(tmp_path)
    old = _new_key(url, "acme", ALL)
    listed = json.loads(_cli("keys", "list", "--json", url=url).stdout)
    rotated = _cli("keys", "rotate", listed[0]["id"], "--grace", "3600", url=url)
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip()
    assert new.startswith("af_") and new != old and "3600" in rotated.stderr

    async def check() -> tuple[Any, Any]:
        store = open_store(url)
        await store.open()
        try:
            ring = KeyRing(store)  # type: ignore[arg-type]
            return await ring.verify(old), await ring.verify(new)
        finally:
            await store.close()

    still, fresh = anyio.run(check)
    assert still is not None and fresh is not None  # the old one works during the grace
    assert fresh.tenant == "acme" and fresh.scopes == still.scopes


def test_listing_no_keys_says_so_and_how_to_make_one(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    empty = _cli("keys", "list", url=url)
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.startswith("no API keys; create one with `actorflow keys create")
    assert json.loads(_cli("keys", "list", "--json", url=url).stdout) == []
    _new_key(url, "acme", "runs:read")
    listed = _cli("keys", "list", url=url).stdout
    assert "no API keys" not in listed and "acme" in listed
    other = _cli("keys", "list", "--tenant", "zeta", url=url).stdout
    assert other.startswith("no API keys of tenant zeta")
