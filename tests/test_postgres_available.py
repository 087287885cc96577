"""Smoke test: the PostgreSQL server the suite runs against is reachable.

`make test` (via `.ci/pg.sh`) starts a throwaway cluster and exports its URL as
ACTORFLOW_TEST_POSTGRES_URL. In CI (the `CI` env var is set) a missing URL is a hard
failure, so PostgreSQL-backed tests can never be silently skipped there.
"""

from __future__ import annotations

import asyncio
import os

import pytest

URL_ENV = "ACTORFLOW_TEST_POSTGRES_URL"


@pytest.mark.postgres
def test_postgres_available() -> None:
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        if os.environ.get("CI"):
            pytest.fail(
                f"{URL_ENV} is not set but CI is: PostgreSQL tests must not be skipped in CI "
                "(run the suite with `make test`, which starts a server via .ci/pg.sh)"
            )
        pytest.skip(f"{URL_ENV} not set (use `make test` to start a throwaway PostgreSQL)")

    import asyncpg

    async def probe() -> object:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            return await conn.fetchval("select 1")
        finally:
            await conn.close()

    assert asyncio.run(probe()) == 1
