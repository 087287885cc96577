"""A chat agent: a model, a tool-calling loop, streamed answers; runs offline.

::

    agent --(answer has tool calls)--> tools --> agent --(no tool calls)--> END

``agent`` sends the conversation (``data.messages``, kept by the ``messages``
reducer) and the tools' schemas to the current provider (offline by default,
deterministic), streaming the answer as ``token`` events; ``tools`` runs each call
the answer asks for and adds the results to the conversation; the router sends the
conversation back to the model until it answers without calling a tool.

Offline, a user turn ``calculator: 2 + 3 * 4`` calls the calculator and the answer is
``calculator says: 14``; with ``ACTORFLOW_LLM_PROVIDER=gemini`` or ``openai`` the model
decides. Run it::

    python -m nodes.workflows.chat_agent "calculator: 2 + 3 * 4" "glossary: join"

Each argument is one turn of a thread (``rt.start(..., thread_id=...)``): a run that
starts from the thread's conversation so far, the new user message appended by the
``messages`` reducer, printing the answer's tokens as they arrive.
"""

from __future__ import annotations

import sys
from typing import Any, Literal

import anyio

from nodes.llm import LLMRequest, Toolbox
from nodes.llm_node import ask_llm
from runtime import (
    END,
    START,
    CompiledGraph,
    EventType,
    Graph,
    NodeContext,
    Runtime,
    WorkflowState,
    compile_expression,
)

__all__ = ["CHAT_AGENT", "TOOLS", "build_chat_agent_graph", "chat_turn"]

CHAT_AGENT = "chat_agent"
SYSTEM = ("You are a concise assistant. Use the calculator for arithmetic and the "
          "glossary for actorflow terms.")

TOOLS = Toolbox()

_GLOSSARY = {
    "actor": "a task with a mailbox; each node of a run is one",
    "join": "the node where parallel branches meet; it runs once, after all arrive",
    "reducer": "how writes to one data key merge (append, add, merge, messages...)",
    "checkpoint": "the state and position saved after every step, to resume from",
}


@TOOLS.register
def calculator(expression: str) -> float | int:
    """Evaluate an arithmetic expression, e.g. 2 + 3 * 4."""
    # The runtime's safe expression language: arithmetic without eval.
    value = compile_expression(expression).evaluate({})
    if not isinstance(value, int | float):
        raise ValueError(f"{expression!r} is not arithmetic")
    return value


@TOOLS.register
def glossary(term: str) -> str:
    """What an actorflow term means."""
    return _GLOSSARY.get(term.strip().lower().rstrip("s"), f"no entry for {term!r}")


async def agent(state: WorkflowState, ctx: NodeContext) -> dict[str, Any]:
    request = LLMRequest(system=SYSTEM, messages=tuple(state["messages"]),
                         tools=TOOLS.specs())
    response, usage = await ask_llm(ctx, request, purpose="chat", stream=True)
    return {"messages": [response.message()], "llm_usage": [usage]}


async def tools(state: WorkflowState) -> dict[str, Any]:
    from nodes.llm import ToolCall

    calls = [ToolCall.model_validate(c) for c in state["messages"][-1].get("tool_calls", [])]
    return {"messages": [await TOOLS.call(c) for c in calls]}


def next_step(state: WorkflowState) -> Literal["tools", "__end__"]:
    """Tools while the model calls them, then the end."""
    return "tools" if state["messages"][-1].get("tool_calls") else END  # type: ignore[return-value]


def build_chat_agent_graph() -> Graph:
    g = Graph(CHAT_AGENT, description="A chat agent: model, tool loop, streamed answers",
              reducers={"messages": "messages", "llm_usage": "append"}, max_steps=50)
    g.add_node("agent", agent, description="the model answers, or calls tools")
    g.add_node("tools", tools, description="run the calls, add their results")
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", next_step)
    g.add_edge("tools", "agent")
    return g


_compiled: CompiledGraph | None = None


def _graph() -> CompiledGraph:
    global _compiled
    if _compiled is None:
        _compiled = build_chat_agent_graph().compile()
    return _compiled


async def chat_turn(rt: Runtime, thread_id: str, text: str, *,
                    on_token: Any = None) -> list[dict[str, Any]]:
    """One turn of the conversation ``thread_id``: its messages so far plus ``text``,
    through the agent; the conversation after it. ``on_token(text)`` gets the answer's
    tokens as they arrive."""
    run = await rt.start(_graph(), {"messages": [{"role": "user", "content": text}]},
                         thread_id=thread_id)
    async for event in run.events():
        if event.type is EventType.TOKEN and on_token is not None:
            on_token(event.data["text"])
    return list((await run.result()).data["messages"])


async def _main(turns: list[str]) -> None:
    async with Runtime() as rt:
        for text in turns:
            print(f"> {text}")
            await chat_turn(rt, "cli", text, on_token=lambda t: print(t, end="", flush=True))
            print()


if __name__ == "__main__":
    anyio.run(_main, sys.argv[1:] or ["calculator: 2 + 3 * 4", "glossary: join"])
