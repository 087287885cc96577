"""JWT bearer tokens (HS256; RS256 and ES256 against a JWKS served on loopback), a Python
authentication handler, and resource rules in Python."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from _api_support import SEED_CREATE, serving
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from api.auth import state

ISSUER = "https://issuer.test"
SECRET = "a-shared-secret-of-at-least-32-bytes"
AUDIENCE = "actorflow"


class Jwks:
    """A JWKS document served over real HTTP on loopback, with a fetch counter."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0

    def add(self, kid: str, public: Any, alg: str) -> None:
        algo = RSAAlgorithm if alg == "RS256" else ECAlgorithm
        jwk = json.loads(algo.to_jwk(public))
        self.keys.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})


@contextmanager
def jwks_server(jwks: Jwks) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            jwks.fetches += 1
            body = json.dumps({"keys": jwks.keys}).encode()
            self.send_response(200)
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
        yield f"http://127.0.0.1:{httpd.server_address[1]}/.well-known/jwks.json"
    finally:
        httpd.shutdown()
        thread.join(10)
        httpd.server_close()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": "user-1", "tenant": "acme", "scope": "runs:read graphs:read",
            "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _whoami(client: Any, token: str) -> tuple[int, dict[str, Any]]:
    answer = await client.get("/api/v1/auth/whoami", headers=auth(token))
    return answer.status_code, await answer.get_json()


async def test_rs256_and_es256_tokens_are_checked_against_a_cached_jwks(
        anyio_backend: str) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwks = Jwks()
    jwks.add("rsa-1", rsa_key.public_key(), "RS256")
    jwks.add("ec-1", ec_key.public_key(), "ES256")
    with jwks_server(jwks) as url:
        async with serving(anyio_backend, auth="jwt", jwt_jwks_url=url,
                           jwt_audience=AUDIENCE, jwt_issuer=ISSUER) as client:
            rs = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
            es = jwt.encode(claims(sub="user-2", scope=["runs:read"]), ec_key,
                            algorithm="ES256", headers={"kid": "ec-1"})
            for _ in range(3):
                status, who = await _whoami(client, rs)
                assert status == 200
                assert who == {"subject": "user-1", "tenant": "acme", "kind": "jwt",
                               "scopes": ["graphs:read", "runs:read"], "auth": "jwt"}
            status, who = await _whoami(client, es)
            assert status == 200 and who["subject"] == "user-2"
            assert jwks.fetches == 1  # fetched once, then served from the cache


async def test_bad_tokens_are_refused_saying_why(anyio_backend: str) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = Jwks()
    jwks.add("k1", key.public_key(), "RS256")
    now = int(time.time())
    cases = {
        "expired": (claims(exp=now - 60), key, "Signature has expired"),
        "not yet valid": (claims(nbf=now + 3600), key, "not yet valid"),
        "wrong audience": (claims(aud="someone-else"), key, "Audience"),
        "wrong issuer": (claims(iss="https://evil.test"), key, "issuer"),
        "no exp": (claims(exp=None), key, "exp"),
        "forged": (claims(), stranger, "Signature verification failed"),
        "no tenant": (claims(tenant=None), key, "'tenant' claim"),
        "unknown scope": (claims(scope="runs:read root"), key, "root"),
    }
    with jwks_server(jwks) as url:
        async with serving(anyio_backend, auth="jwt", jwt_jwks_url=url,
                           jwt_audience=AUDIENCE, jwt_issuer=ISSUER) as client:
            for name, (body, signer, reason) in cases.items():
                token = jwt.encode(body, signer, algorithm="RS256", headers={"kid": "k1"})
                status, answer = await _whoami(client, token)
                assert status == 401, name
                assert reason in answer["error"]["message"], (name, answer)
            status, answer = await _whoami(client, "not.a.jwt")
            assert status == 401


async def test_a_rotated_signing_key_is_fetched_when_a_token_names_it(
        anyio_backend: str) -> None:
    old = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = Jwks()
    jwks.add("old", old.public_key(), "RS256")
    with jwks_server(jwks) as url:
        async with serving(anyio_backend, auth="jwt", jwt_jwks_url=url,
                           jwt_audience=AUDIENCE, jwt_issuer=ISSUER,
                           jwks_refetch_seconds=0) as client:
            assert (await _whoami(client, jwt.encode(claims(), old, algorithm="RS256",
                                                     headers={"kid": "old"})))[0] == 200
            token = jwt.encode(claims(), new, algorithm="RS256", headers={"kid": "new"})
            status, answer = await _whoami(client, token)
            assert status == 401 and "'new'" in answer["error"]["message"]
            jwks.add("new", new.public_key(), "RS256")
            assert (await _whoami(client, token))[0] == 200
            assert jwks.fetches == 3


async def test_hs256_tokens_need_the_shared_secret(anyio_backend: str) -> None:
    async with serving(anyio_backend, auth="jwt", jwt_secret=SECRET,
                       jwt_audience=AUDIENCE) as client:
        good = jwt.encode(claims(iss=None), SECRET, algorithm="HS256")
        assert (await _whoami(client, good))[0] == 200
        bad = jwt.encode(claims(iss=None), "another-secret-of-32-bytes-or-more!", algorithm="HS256")
        assert (await _whoami(client, bad))[0] == 401
        unsigned = jwt.encode(claims(iss=None), None, algorithm="none")
        assert (await _whoami(client, unsigned))[0] == 401
        listed = await client.get("/api/v1/runs", headers=auth(good))
        assert listed.status_code == 200
        created = await client.post("/api/v1/graph/create", json=SEED_CREATE,
                                    headers=auth(good))
        assert created.status_code == 403  # the token has no graphs:write


async def test_a_python_handler_decides_sync_or_async(anyio_backend: str) -> None:
    async with serving(anyio_backend, auth="handler",
                       auth_handler="_auth_handlers:by_team_header") as client:
        answer = await client.get("/api/v1/auth/whoami", headers={"X-Team": "red"})
        assert (await answer.get_json())["tenant"] == "red"
        refused = await client.get("/api/v1/auth/whoami", headers={"X-Team": "blue"})
        assert refused.status_code == 401
    async with serving(anyio_backend, auth="handler",
                       auth_handler="_auth_handlers:by_token_async") as client:
        answer = await client.get("/api/v1/auth/whoami",
                                  headers={"Authorization": "Token blue-secret"})
        assert (await answer.get_json())["subject"] == "bob"


async def test_a_failing_handler_refuses_and_keeps_its_error_in_the_log(
        anyio_backend: str, caplog: Any) -> None:
    async with serving(anyio_backend, auth="handler",
                       auth_handler="_auth_handlers:broken") as client:
        answer = await client.get("/api/v1/runs")
        assert answer.status_code == 401
        text = json.dumps(await answer.get_json())
        assert "handler-internal-detail" not in text
    assert "handler-internal-detail" in caplog.text


async def test_resource_rules_stamp_on_create_and_filter_on_read(anyio_backend: str) -> None:
    from _auth_support import bearer, make_key

    from runtime.store import MemoryStore

    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys",
                       auth_rules="_auth_handlers:owner_rules") as client:
        alice, _ = await make_key(store, "acme", name="alice")
        bob, _ = await make_key(store, "acme", name="bob")
        created = await (await client.post("/api/v1/graph/create", json=SEED_CREATE,
                                           headers=bearer(alice))).get_json()
        started = await (await client.post("/api/v1/graph/run", headers=bearer(alice),
                                           json={"graph_id": created["graph_id"]})).get_json()
        run_id = started["run_id"]
        record = await store.get_run(run_id)
        assert record is not None and record.initial_state["config"]["owner"] == "alice"
        assert (await client.get(f"/api/v1/runs/{run_id}", headers=bearer(alice))
                ).status_code == 200
        assert (await client.get(f"/api/v1/runs/{run_id}", headers=bearer(bob))
                ).status_code == 404
        listed = await (await client.get("/api/v1/runs", headers=bearer(bob))).get_json()
        assert run_id not in json.dumps(listed)
        assert state(client.app).rules is not None


def test_a_short_hs256_secret_is_refused_at_start() -> None:
    import pytest

    from api import Settings, SettingsError
    from api.auth import check_auth_settings

    with pytest.raises(SettingsError, match="at least 32 bytes"):
        check_auth_settings(Settings(auth="jwt", jwt_secret="short"))


def test_a_handler_or_rules_path_that_does_not_import_is_refused_at_start() -> None:
    import pytest

    from api import Settings, SettingsError
    from api.auth import check_auth_settings

    with pytest.raises(SettingsError, match="ACTORFLOW_AUTH_HANDLER"):
        check_auth_settings(Settings(auth="handler", auth_handler="_auth_handlers:nope"))
    with pytest.raises(SettingsError, match="ACTORFLOW_AUTH_RULES"):
        check_auth_settings(Settings(auth="keys", auth_rules="no_such_module:rules"))
