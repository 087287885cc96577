"""LISTEN survives a dropped connection: the store listens again and says so."""

from __future__ import annotations

import anyio

from runtime.store.portal import threadsafe_caller, threadsafe_setter
from runtime.store.sql import SQLStore

KILL_LISTENERS = ("SELECT pg_terminate_backend(pid) AS gone FROM pg_stat_activity "
                  "WHERE query LIKE 'LISTEN %' AND datname = current_database()")


async def test_notifications_arrive_again_after_the_listening_connection_is_killed(
        postgres_database: str) -> None:
    heard: list[str] = []
    arrived = anyio.Event()  # (callbacks run on the store's loop: thread-safe wrappers)
    back = anyio.Event()

    def hear(payload: str) -> None:
        heard.append(payload)
        arrived.set()

    async with SQLStore(postgres_database) as listener, SQLStore(postgres_database) as sender:
        assert await listener.listen({"af_test": threadsafe_caller(hear)},
                                     on_reconnect=threadsafe_setter(back))
        await sender.notify("af_test", "before")
        with anyio.fail_after(30):
            await arrived.wait()
        rows = await sender._run(lambda s: s.fetch(KILL_LISTENERS))
        assert [r["gone"] for r in rows] == [True]
        with anyio.fail_after(60):
            await back.wait()
        arrived = anyio.Event()
        await sender.notify("af_test", "after")
        with anyio.fail_after(30):
            await arrived.wait()
    assert heard == ["before", "after"]
