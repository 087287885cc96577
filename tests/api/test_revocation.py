"""An open feed's key is read again while the feed lasts (api.auth.revocation): at once
when it is revoked in this process, and every few seconds for a revocation made
elsewhere (another instance, ``actorflow keys revoke``)."""

from __future__ import annotations

import anyio

from api.auth.revocation import Revocations


async def test_a_revocation_made_elsewhere_is_found_at_the_next_look() -> None:
    looks: list[str] = []

    async def in_force(key_id: str) -> bool:
        looks.append(key_id)
        return len(looks) < 3          # revoked by someone else before the third look

    with anyio.fail_after(5):
        await Revocations().watch("k1", in_force, every=0.01)
    assert looks == ["k1", "k1", "k1"]


async def test_a_revocation_made_here_wakes_the_feeds_of_that_key_at_once() -> None:
    revocations = Revocations()
    revoked = {"k1": False, "k2": False}
    ended: list[str] = []

    async def in_force(key_id: str) -> bool:
        return not revoked[key_id]

    async def feed(key_id: str) -> None:
        await revocations.watch(key_id, in_force, every=3600)   # no periodic look here
        ended.append(key_id)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(feed, "k1")
            tg.start_soon(feed, "k2")
            await anyio.wait_all_tasks_blocked()
            revoked["k1"] = True
            revocations.revoked("k1")
            await anyio.wait_all_tasks_blocked()
            assert ended == ["k1"]          # the other key's feed goes on
            tg.cancel_scope.cancel()
