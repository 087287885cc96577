"""Tool calling: registered tools' schemas go to the provider (Gemini
``functionDeclarations``, OpenAI ``tools``), its tool calls come back, and a
conversation carries the results; against fakes speaking each wire format."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from llm_fake_servers import make_provider, make_server, serving

from nodes.llm import LLMRequest, ToolCall, Toolbox

BACKENDS = pytest.mark.parametrize("backend", ["asyncio", "trio"])
KINDS = pytest.mark.parametrize("kind", ["gemini", "openai"])


def _toolbox() -> Toolbox:
    tools = Toolbox()

    @tools.register
    def lookup(query: str, limit: int = 3) -> dict[str, Any]:
        """Look a topic up in the glossary."""
        return {"topic": query, "hits": limit}

    return tools


def test_a_tool_s_schema_comes_from_its_signature() -> None:
    [spec] = _toolbox().specs()
    assert spec.name == "lookup" and spec.description == "Look a topic up in the glossary."
    assert spec.parameters == {"type": "object", "required": ["query"], "properties": {
        "query": {"type": "string"}, "limit": {"type": "integer", "default": 3}}}


@BACKENDS
@KINDS
@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_tools_go_to_the_provider_and_calls_come_back_then_the_result_is_answered(
        backend: str, kind: str, stream: bool) -> None:
    async def main() -> None:
        tools = _toolbox()
        server = make_server(kind)
        async with serving(server) as url, make_provider(kind, url) as provider:
            conversation: list[dict[str, Any]] = [
                {"role": "user", "content": "use lookup actors and anyio", "id": "m0"}]

            async def ask() -> Any:
                request = LLMRequest(messages=tuple(conversation), tools=tools.specs())
                if stream:
                    pieces: list[str] = []
                    return await provider.stream(request, pieces.append)
                return await provider.complete(request)

            first = await ask()
            assert first.tool_calls == (ToolCall(
                id=first.tool_calls[0].id, name="lookup",
                arguments={"query": "actors and anyio"}),)
            conversation.append(first.message())
            conversation.append(await tools.call(first.tool_calls[0]))
            second = await ask()
        assert second.tool_calls == ()
        assert second.text == 'result: {"topic": "actors and anyio", "hits": 3}'
        declared, answered = server.requests[0].body, server.requests[1].body
        if kind == "gemini":
            [decl] = declared["tools"][0]["functionDeclarations"]
            assert decl["name"] == "lookup" and decl["parameters"]["required"] == ["query"]
            model_turn, result_turn = answered["contents"][1:]
            assert model_turn["role"] == "model"
            assert model_turn["parts"][0]["functionCall"]["name"] == "lookup"
            assert result_turn["parts"][0]["functionResponse"]["name"] == "lookup"
        else:
            [decl] = declared["tools"]
            assert decl["type"] == "function" and decl["function"]["name"] == "lookup"
            assistant, tool = answered["messages"][1:]
            assert assistant["tool_calls"][0]["function"]["name"] == "lookup"
            assert tool["role"] == "tool" and tool["tool_call_id"] == "call_1"

    anyio.run(main, backend=backend)


@BACKENDS
def test_a_bad_call_becomes_an_error_the_model_can_read(backend: str) -> None:
    async def main() -> None:
        tools = _toolbox()
        bad = await tools.call(ToolCall(id="c", name="lookup", arguments={"limit": "x"}))
        assert bad["tool_call_id"] == "c" and bad["content"].startswith("error: bad arguments")
        unknown = await tools.call(ToolCall(id="d", name="nope"))
        assert unknown["content"] == "error: no tool 'nope' (tools: lookup)"

    anyio.run(main, backend=backend)
