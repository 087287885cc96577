"""A tenant's thread list pages over its own threads only: counting pages over every
tenant's told how many threads the others have (the security review)."""

from __future__ import annotations

from _api_support import serving
from _auth_support import bearer, make_key

from runtime import MemoryStore


async def test_a_tenant_lists_and_pages_over_its_own_threads_only(anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys") as http:
        acme, _ = await make_key(store, "acme", scopes={"runs:read", "runs:write"})
        evil, _ = await make_key(store, "evil", scopes={"runs:read", "runs:write"})
        for i in range(3):
            made = await http.post("/api/v1/threads", headers=bearer(evil),
                                   json={"thread_id": f"evil-{i}"})
            assert made.status_code == 201
        assert (await http.post("/api/v1/threads", headers=bearer(acme),
                                json={"thread_id": "acme-0"})).status_code == 201
        first = await (await http.get("/api/v1/threads?limit=1&offset=0",
                                      headers=bearer(acme))).get_json()
        beyond = await (await http.get("/api/v1/threads?limit=1&offset=1",
                                       headers=bearer(acme))).get_json()
        theirs = await (await http.get("/api/v1/threads?limit=10",
                                       headers=bearer(evil))).get_json()
    assert [t["thread_id"] for t in first["items"]] == ["acme-0"]
    assert first["next_offset"] == 1 and beyond == {**beyond, "items": [], "next_offset": None}
    assert sorted(t["thread_id"] for t in theirs["items"]) == ["evil-0", "evil-1", "evil-2"]
