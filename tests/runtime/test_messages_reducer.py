"""The ``messages`` reducer: append, replace by id, remove, as chat agents need."""

from __future__ import annotations

from typing import Any

import pytest

from runtime import END, REDUCERS, Graph, RunFailed, Runtime, WorkflowState

messages = REDUCERS["messages"]


def test_messages_are_appended_with_stable_ids() -> None:
    out = messages(None, {"role": "user", "content": "hi"})
    out = messages(out, [{"role": "assistant", "content": "hello"},
                         {"role": "user", "content": "bye", "id": "u2"}])
    assert out == [{"role": "user", "content": "hi", "id": "m0"},
                   {"role": "assistant", "content": "hello", "id": "m1"},
                   {"role": "user", "content": "bye", "id": "u2"}]


def test_a_message_with_a_known_id_replaces_it_in_place() -> None:
    out = messages(None, [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    out = messages(out, {"id": "m0", "role": "user", "content": "A"})
    assert [m["content"] for m in out] == ["A", "b"]


def test_remove_by_id_and_remove_all() -> None:
    out = messages(None, [{"content": "a"}, {"content": "b"}, {"content": "c"}])
    out = messages(out, {"remove": "m1"})
    assert [m["id"] for m in out] == ["m0", "m2"]
    # A new message never takes an id that is still there.
    out = messages(out, {"content": "d"})
    assert [m["id"] for m in out] == ["m0", "m2", "m2'"]
    assert messages(out, {"remove": "__all__"}) == []
    with pytest.raises(TypeError, match="no message with id 'zz'"):
        messages(out, {"remove": "zz"})


def test_the_old_list_is_never_changed_in_place() -> None:
    old = [{"id": "m0", "content": "a"}]
    messages(old, {"id": "m0", "content": "b"})
    assert old == [{"id": "m0", "content": "a"}]


async def test_a_graph_keeps_a_conversation_through_the_reducer() -> None:
    async def bot(state: WorkflowState) -> dict[str, Any]:
        last = state["messages"][-1]["content"]
        return {"messages": [{"role": "assistant", "content": last.upper()}]}

    async def redact(state: WorkflowState) -> dict[str, Any]:
        return {"messages": {"id": "m0", "role": "user", "content": "[redacted]"}}

    g = Graph("chat", reducers={"messages": "messages"})
    g.add_node("bot", bot)
    g.add_node("redact", redact)
    g.add_edge("bot", "redact")
    g.add_edge("redact", END)
    async with Runtime() as rt:
        final = await (await rt.start(g.compile(), {
            "messages": [{"role": "user", "content": "hi"}]})).result()
    assert final.data["messages"] == [
        {"role": "user", "content": "[redacted]", "id": "m0"},
        {"role": "assistant", "content": "HI", "id": "m1"}]


async def test_removing_an_unknown_id_fails_the_run_naming_the_key() -> None:
    g = Graph("bad", reducers={"messages": "messages"})
    g.add_node("n", lambda s: {"messages": {"remove": "nope"}})
    g.add_edge("n", END)
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {"messages": []})
        with pytest.raises(RunFailed, match="reducer for data key 'messages' failed"):
            await run.result()
