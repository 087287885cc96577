"""Every async test runs twice: on asyncio (anyio's pytest plugin) and on trio (pytest-trio).

Neither plugin is in auto mode (they would fight over the same tests). Instead each
coroutine test is parametrized over ``anyio_backend``. anyio's plugin runs a
coroutine test whenever that argument is set, so the asyncio case needs nothing
more. The trio case carries the ``trio`` mark: pytest-trio then wraps the test in a
plain function before anyio's hook looks at it, and anyio leaves it alone. (The
``anyio`` mark is deliberately not used: its collection hook would add its own
copies of the test for every backend.)
"""

from __future__ import annotations

import gc
import inspect
import os
from collections.abc import Iterator
from typing import Any

import pytest

BACKENDS = [
    pytest.param("asyncio", id="asyncio"),
    pytest.param("trio", marks=pytest.mark.trio, id="trio"),
]


def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    # Request anyio_backend before collection computes the fixture closure, so the
    # parametrization below applies and pytest sees the argument as used.
    if inspect.iscoroutinefunction(obj) and name.startswith("test"):
        pytest.mark.usefixtures("anyio_backend")(obj)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if inspect.iscoroutinefunction(metafunc.function) and "anyio_backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        metafunc.parametrize("anyio_backend", marker.args if marker else BACKENDS, indirect=True)


@pytest.fixture
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Overrides anyio's own (which is parametrized over every backend)."""
    return str(getattr(request, "param", "asyncio"))


@pytest.fixture
def postgres_url() -> str:
    """The throwaway PostgreSQL of `make test` (or ACTORFLOW_TEST_POSTGRES_URL).

    In CI it never skips: a missing server is a failure.
    """
    url = os.environ.get("ACTORFLOW_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("ACTORFLOW_TEST_POSTGRES_URL is not set in CI; `make test` starts PostgreSQL")
        pytest.skip("no PostgreSQL: run through `make test` or set ACTORFLOW_TEST_POSTGRES_URL")
    return url


def pg_execute(url: str, sql: str) -> None:
    """Run one SQL statement on PostgreSQL (outside any event loop the caller runs)."""
    import asyncio

    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    # A thread of its own: callers may be inside a running event loop.
    import threading

    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(go())
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread, re-raised there
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if errors:
        raise errors[0]


@pytest.fixture
def postgres_database(postgres_url: str):  # type: ignore[no-untyped-def]
    """The URL of a fresh, empty PostgreSQL database, dropped after the test."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    name = f"t_{uuid.uuid4().hex[:16]}"
    pg_execute(postgres_url, f"CREATE DATABASE {name}")
    parts = urlsplit(postgres_url)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    pg_execute(postgres_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """A fresh store of each kind: in memory, a SQLite file, a PostgreSQL database."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture(params=["sqlite", "postgres"])
def durable_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """A fresh durable store: a SQLite file or a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
def app_threshold() -> Iterator[tuple[int, int, int]]:
    """An application's own garbage-collector setting, put back after the test (what
    the runtime and the server must leave alone, or give back)."""
    saved = gc.get_threshold()
    gc.set_threshold(1234, 7, 9)
    try:
        yield gc.get_threshold()
    finally:
        gc.set_threshold(*saved)
