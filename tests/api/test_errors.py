"""One error shape everywhere: 400, 404, 405, 409, 413, 415, 500, never a stack trace."""

from __future__ import annotations

from _api_support import SEED_CREATE, make_settings, serving
from quart import Blueprint

from api import create_app
from api.auth import PUBLIC, declare
from runtime import MemoryStore


async def test_non_json_content_type_is_415(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        response = await client.post("/api/v1/graph/create", data="name=x",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 415
        assert (await response.get_json())["error"]["code"] == "unsupported_media_type"


async def test_malformed_json_is_400_with_its_position(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        response = await client.post("/api/v1/graph/create", data='{"name": ',
                                     headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        error = (await response.get_json())["error"]
        assert error["code"] == "malformed_json"
        assert error["details"]["line"] == 1


async def test_body_over_the_limit_is_413(anyio_backend: str) -> None:
    async with serving(anyio_backend, max_body_bytes=1000) as client:
        graph = dict(SEED_CREATE, description="x" * 2000)
        response = await client.post("/api/v1/graph/create", json=graph)
        assert response.status_code == 413
        error = (await response.get_json())["error"]
        assert error["code"] == "payload_too_large"
        assert error["details"] == {"limit_bytes": 1000}
        # The one error shape: its request id, in the body and the header, and what
        # to do about it.
        assert error["request_id"] and response.headers["X-Request-ID"] == error["request_id"]
        assert "ACTORFLOW_MAX_BODY_BYTES" in error["message"]


async def test_wrong_method_is_405_with_allowed_methods(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        response = await client.delete("/api/v1/graph/create")
        assert response.status_code == 405
        error = (await response.get_json())["error"]
        assert error["code"] == "method_not_allowed"
        assert "POST" in error["details"]["allowed"]


async def test_unknown_path_is_404_in_the_error_shape(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        response = await client.get("/api/v2/nothing")
        assert response.status_code == 404
        assert (await response.get_json())["error"]["code"] == "not_found"


async def test_unexpected_errors_are_500_without_internals(anyio_backend: str) -> None:
    app = create_app(make_settings(anyio_backend), store=MemoryStore())
    boom = Blueprint("boom", __name__)

    @boom.get("/boom")
    async def explode() -> str:
        raise RuntimeError("secret internal detail")

    app.register_blueprint(boom)
    declare(app, "boom.explode", PUBLIC)
    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/boom")
        assert response.status_code == 500
        text = (await response.get_data()).decode()
        assert "secret" not in text and "Traceback" not in text
        assert (await response.get_json())["error"]["code"] == "internal_error"


async def test_a_body_that_does_not_fit_says_where_in_its_message(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        listed = await client.post("/api/v1/graph/run", json=[1, 2])
        wrong = await client.post("/api/v1/graph/run",
                                  json={"graph_id": "g", "initial_state": [1]})
    error = (await listed.get_json())["error"]
    assert listed.status_code == 400 and error["code"] == "validation_error"
    assert error["message"].startswith("the request body must be a JSON object")
    assert error["message"].endswith("not an array")
    error = (await wrong.get_json())["error"]
    assert wrong.status_code == 400
    assert "schema (see /docs): initial_state: " in error["message"]
    assert error["details"][0]["path"] == "initial_state"
