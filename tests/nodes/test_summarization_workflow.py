"""The summarization workflow run end to end through the runtime (asyncio and trio).

Real text that ships with every CPython: long standard-library module docstrings.
LLM mode runs against a fake OpenAI-compatible server on loopback.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from nodes.llm_node import use_provider
from nodes.workflows import build_summarization_graph, summarization_json
from runtime import Event, EventType, Graph, RunFailed, Runtime, WorkflowState
from tests.nodes.llm.llm_fake_servers import FakeOpenAI, Recorded, make_provider, serving
from tests.nodes.prose_oracle import assert_prose_summary

FIXTURES = Path(__file__).parent / "fixtures"
MODULES = ["argparse", "socketserver", "json", "csv", "heapq", "http.cookies", "re", "pdb"]
CORPUS = "\n\n".join(importlib.import_module(m).__doc__ or "" for m in MODULES)


async def summarize(data: dict[str, Any], graph: Graph | None = None
                    ) -> tuple[WorkflowState, list[Event]]:
    async with Runtime() as rt:
        run = await rt.start(graph or build_summarization_graph(), data)
        state = await run.result()
        events = [e async for e in run.events(0)]
    return state, events


def completed(events: list[Event], node: str) -> list[Event]:
    return [e for e in events if e.type is EventType.NODE_COMPLETED and e.node == node]


def most_running(events: list[Event], node: str) -> int:
    running = peak = 0
    for e in events:
        if e.node == node and e.type is EventType.NODE_STARTED:
            running += 1
            peak = max(peak, running)
        elif e.node == node and e.type in (EventType.NODE_COMPLETED, EventType.NODE_FAILED):
            running -= 1
    return peak


class FakeSummarizer(FakeOpenAI):
    """Answers every summary request with the first half of the text it was given."""

    def answer(self, request: Recorded) -> tuple[int, Any]:
        status, body = super().answer(request)
        if status == 200:
            prompt = request.body["messages"][-1]["content"]
            words = prompt.split("The text:\n\n", 1)[1].split()
            body["choices"][0]["message"]["content"] = " ".join(words[: len(words) // 2])
        return status, body


@pytest.mark.parametrize("max_length", [300, 1000])
async def test_long_docstrings_summary_fits_and_uses_only_source_sentences(
    max_length: int,
) -> None:
    assert len(CORPUS) > 10_000
    state, events = await summarize(
        {"text": CORPUS, "max_length": max_length, "chunk_chars": 2000})
    # Docstrings are reStructuredText: their prose, not their examples, is summarized.
    assert state.data["source_format"] == "rst"
    assert_prose_summary(state.data["summary"], CORPUS, "rst", max_length)
    chunks = state.data["chunks"]
    assert len(chunks) > 4 and all(len(c) <= 2000 for c in chunks)
    # One summarize_chunk per chunk, run by the map edge, each with its index.
    assert sorted(e.data["index"] for e in completed(events, "summarize_chunk")) == list(
        range(len(chunks)))
    assert len(state.data["chunk_summaries"]) == len(chunks)
    assert most_running(events, "summarize_chunk") <= 4
    assert state.data["refine_iterations"] == 1  # extractive refinement fits in one pass


async def test_a_markdown_design_document_is_summarized_from_its_prose() -> None:
    source = (FIXTURES / "design_document.md").read_text()[:20_000]
    state, _ = await summarize({"text": source, "max_length": 1000})
    assert state.data["source_format"] == "markdown"
    summary = state.data["summary"]
    assert_prose_summary(summary, source, "markdown", 1000)
    assert "[API Design](#api-design)" not in summary and "graph.add_node" not in summary


async def test_the_format_setting_overrides_detection() -> None:
    text = "See the [guide](https://example.org/guide) for the details of every option."
    state, _ = await summarize({"text": text})
    assert state.data["source_format"] == "markdown"
    assert state.data["summary"] == "See the guide for the details of every option."
    state, _ = await summarize({"text": text, "format": "text"})
    assert state.data["source_format"] == "text"
    assert state.data["summary"] == text  # as written: plain text has no links


async def test_an_unknown_format_fails_the_run_naming_the_choices() -> None:
    with pytest.raises(RunFailed, match="format must be one of auto, markdown, rst, text"):
        await summarize({"text": "Some text here.", "format": "html"})


async def test_text_that_fits_is_kept_whole() -> None:
    text = "Short texts need no summary. They are returned as they are."
    state, events = await summarize({"text": text, "max_length": 500})
    assert state.data["summary"] == text
    assert state.data["refine_iterations"] == 0
    assert len(completed(events, "refine_summary")) == 1


async def test_missing_text_fails_the_run_saying_what_to_send() -> None:
    with pytest.raises(RunFailed, match="input 'text' is missing"):
        await summarize({"max_length": 100})


async def test_the_graph_json_loads_back_and_runs() -> None:
    state, _ = await summarize({"text": CORPUS, "max_length": 400},
                               Graph.from_json(summarization_json()))
    assert 0 < len(state.data["summary"]) <= 400


async def test_with_an_llm_refinement_loops_within_its_bound_and_the_limit_holds() -> None:
    server = FakeSummarizer()
    async with serving(server) as url, make_provider("openai", url) as provider:
        with use_provider(provider):
            state, events = await summarize({"text": CORPUS, "max_length": 300,
                                             "chunk_chars": 3000, "use_llm": True})
    data = state.data
    assert 0 < len(data["summary"]) <= 300
    # The model reads the text as written, markup and examples included.
    assert " ".join(data["chunks"]).split() == CORPUS.split()
    chunks = len(data["chunks"])
    # Halving never reaches 300 chars within 3 refinements: the last one falls back
    # to the extractive summarizer, so the limit holds whatever the model answers.
    assert data["refine_iterations"] == 3
    purposes = [u["purpose"] for u in data["llm_usage"]]
    assert purposes == ["summarize"] * chunks + ["refine"] * 3
    assert len(server.requests) == chunks + 3
    assert all(u["total_tokens"] > 0 and u["cost_usd"] > 0 for u in data["llm_usage"])
    assert 1 < most_running(events, "summarize_chunk") <= 4
    assert len([e for e in events if e.type is EventType.LOG and "llm" in e.data]) == chunks + 3
