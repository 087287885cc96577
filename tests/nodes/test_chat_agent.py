"""The chat agent example: model, tool-calling loop and streamed answers, offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from nodes.llm import OfflineProvider
from nodes.llm_node import use_provider
from nodes.workflows.chat_agent import build_chat_agent_graph, chat_turn
from runtime import Runtime


async def test_a_turn_calls_the_tool_then_streams_the_answer() -> None:
    tokens: list[str] = []
    # Uncached, so the answer streams word by word (a cached one comes in one piece).
    with use_provider(OfflineProvider()):
        async with Runtime() as rt:
            messages = await chat_turn(rt, "t", "calculator: 2 + 3 * 4",
                                       on_token=tokens.append)
    user, call, result, answer = messages
    assert user == {"role": "user", "content": "calculator: 2 + 3 * 4", "id": "m0"}
    assert call["tool_calls"] == [{"id": "call_1", "name": "calculator",
                                   "arguments": {"expression": "2 + 3 * 4"}}]
    assert result == {"role": "tool", "tool_call_id": "call_1", "name": "calculator",
                      "content": "14", "id": "m2"}
    assert answer["content"] == "calculator says: 14" and "tool_calls" not in answer
    assert "".join(tokens) == "calculator says: 14" and len(tokens) > 1


async def test_a_conversation_goes_on_over_turns_of_a_thread() -> None:
    async with Runtime() as rt:
        await chat_turn(rt, "t", "glossary: joins")
        messages = await chat_turn(rt, "t", "calculator: 10 / 4")
        assert (await rt.threads.state("t"))["messages"] == messages
        assert len(await rt.threads.runs("t")) == 2
    assert [m["id"] for m in messages] == [f"m{i}" for i in range(8)]
    assert messages[3]["content"].startswith("glossary says: the node where")
    assert messages[-1]["content"] == "calculator says: 2.5"


async def test_a_bad_tool_argument_is_told_to_the_model_and_the_run_ends() -> None:
    async with Runtime() as rt:
        messages = await chat_turn(rt, "t", "calculator: 2 +")
    assert messages[2]["content"].startswith("error: ExpressionError")
    assert messages[-1]["content"].startswith("calculator says: error")


def test_the_graph_draws_its_loop() -> None:
    chart = build_chat_agent_graph().compile().to_mermaid()
    assert '-->|"next_step"| n_tools' in chart and '-->|"next_step"| __end__' in chart


def test_the_example_runs_offline_from_the_command_line() -> None:
    out = subprocess.run([sys.executable, "-m", "nodes.workflows.chat_agent",
                          "calculator: 6 * 7"], capture_output=True, text=True, timeout=120,
                         check=False, cwd=Path(__file__).parents[2],
                         env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["> calculator: 6 * 7", "calculator says: 42"]
