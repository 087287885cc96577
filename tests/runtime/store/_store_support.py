"""Shared helpers for the store tests (not a conftest: the lead owns those).

``store_url(kind, tmp_path)`` yields a fresh, empty database per test:
memory, a SQLite file under tmp_path, or a PostgreSQL schema of its own (the
store is pointed at it through ``search_path``) that is dropped afterwards.
PostgreSQL comes from ACTORFLOW_TEST_POSTGRES_URL; without it the tests skip,
except under CI, where they fail.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.store import open_store
from runtime.store.base import Store

PG_ENV = "ACTORFLOW_TEST_POSTGRES_URL"
PG_CTL_ENV = "ACTORFLOW_TEST_PG_CTL"
BACKENDS = ["asyncio", "trio"]
KINDS = ["memory", "sqlite", "postgres"]
SQL_KINDS = ["sqlite", "postgres"]


def pg_url() -> str:
    url = os.environ.get(PG_ENV, "").strip()
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set but CI is: PostgreSQL store tests must run in CI")
        pytest.skip(f"{PG_ENV} not set (run `make test` for a throwaway PostgreSQL)")
    return url


def _pg(url: str, sql: str) -> None:
    from conftest import pg_execute

    pg_execute(url, sql)


@contextlib.contextmanager
def store_spec(kind: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(url, SQLStore options) of a fresh empty database of ``kind``."""
    if kind == "memory":
        yield "memory://", {}
    elif kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}", {}
    else:
        url = pg_url()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        _pg(url, f"CREATE SCHEMA {schema}")
        try:
            yield url, {"options": {"server_settings": {"search_path": schema}}}
        finally:
            _pg(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def make_store(url: str, options: dict[str, Any], **extra: Any) -> Store:
    if url.startswith("memory"):
        return open_store(url)
    return open_store(url, **options, **extra)


def store_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("actorflow-store")]


def run_with_store(kind: str, backend: str, tmp_path: Path, body: Any, **extra: Any) -> None:
    """Run ``await body(store)`` on ``backend`` with a fresh opened store of ``kind``,
    then check that closing it left no worker thread behind."""
    with store_spec(kind, tmp_path) as (url, options):
        async def main() -> None:
            store = make_store(url, options, **extra)
            await store.open()
            try:
                await body(store)
            finally:
                await store.close()

        import anyio

        anyio.run(main, backend=backend)
    assert store_threads() == []
