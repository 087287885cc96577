"""The summarization workflow's tools (the seed's "Future: Summarization Workflow").

==========================  ====================================================
tool                        reads -> writes
==========================  ====================================================
``split_text``              ``text`` -> ``chunks`` (paragraph/sentence boundaries,
                            at most ``chunk_chars`` each, default 2000), and the
                            settings ``max_length`` (default 1000),
                            ``max_refine_iterations`` (3), ``refine_iterations`` (0);
                            ``source_format`` (the ``format`` setting, or the one
                            detected: ``markdown``, ``rst`` or ``text``)
``summarize_chunk``         map target, one run per chunk (``data.chunk``):
                            ``chunk_summaries`` += [summary]
``merge_summaries``         ``chunk_summaries`` -> ``summary`` (in order, repeated
                            sentences dropped)
``refine_summary``          ``summary`` -> a shorter ``summary``,
                            ``refine_iterations`` += 1; loops while longer than
                            ``max_length`` (bounded by ``max_refine_iterations``)
==========================  ====================================================

Offline (the default) every step is extractive: sentences are scored and
whole source sentences are kept (:func:`nodes.analysis.extractive_summary`), so
the summary says nothing the text did not. The chunks are then the document's
prose (:func:`nodes.analysis.prose_text`): a Markdown or reStructuredText document
is parsed first, and only whole sentences of its paragraphs are kept, never a
heading, a table, a code line or a list fragment. An LLM reads the text as written
(it understands markup, and lists often carry the facts). With ``use_llm`` true the chunk
summaries and refinements are asked of the configured provider, each call
recorded in ``llm_usage``; the last allowed refinement falls back to the
extractive summarizer if the model's answer is still too long, so
``len(summary) <= max_length`` holds whatever the model does.
"""

from __future__ import annotations

from typing import Any

from nodes.analysis import FORMATS, detect_format, extractive_summary, prose_text, split_into_chunks
from nodes.analysis import merge_summaries as merge_texts
from nodes.llm import LLMRequest
from nodes.llm_node import ask_llm
from runtime import NodeContext, ToolRegistry, WorkflowState, registry

from ._settings import bool_setting, int_setting, raw_setting, text_input

__all__ = [
    "DEFAULT_CHUNK_CHARS",
    "DEFAULT_MAX_LENGTH",
    "DEFAULT_MAX_REFINE_ITERATIONS",
    "merge_summaries",
    "refine_summary",
    "register",
    "split_text",
    "summarize_chunk",
]

DEFAULT_CHUNK_CHARS = 2000
DEFAULT_MAX_LENGTH = 1000
DEFAULT_MAX_REFINE_ITERATIONS = 3
#: A chunk summary keeps at least this share of its chunk (or an equal share of
#: max_length if larger), so merging keeps material from every chunk to refine from.
CHUNK_KEEP_RATIO = 3
_CHARS_PER_TOKEN = 4
_SYSTEM = "You summarize documents faithfully and concisely, using only facts from the text."


def split_text(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
    """Split ``data.text`` into chunks of at most ``chunk_chars`` on paragraph/sentence
    ends: its prose only, unless an LLM summarizes (``use_llm``)."""
    text = text_input(state, "text")
    chunk_chars = int_setting(state, config, "chunk_chars", DEFAULT_CHUNK_CHARS, minimum=1)
    fmt = raw_setting(state, config, "format") or "auto"
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    source_format = detect_format(text) if fmt == "auto" else fmt
    use_llm = bool_setting(state, config, "use_llm", False)
    material = text if use_llm else prose_text(text, source_format)
    return {
        "chunks": split_into_chunks(material, chunk_chars),
        "source_format": source_format,
        "chunk_chars": chunk_chars,
        "max_length": int_setting(state, config, "max_length", DEFAULT_MAX_LENGTH, minimum=1),
        "max_refine_iterations": int_setting(
            state, config, "max_refine_iterations", DEFAULT_MAX_REFINE_ITERATIONS, minimum=1
        ),
        "refine_iterations": 0,
        "source_length": len(text),
    }


def chunk_budget(chunk: str, chunks: int, max_length: int) -> int:
    """Characters one chunk's summary may use: a third of the chunk or its share of the limit."""
    return max(len(chunk) // CHUNK_KEEP_RATIO, max_length // max(chunks, 1), 1)


async def summarize_chunk(state: WorkflowState, ctx: NodeContext) -> dict[str, Any]:
    """Summarize one chunk (``data.chunk``; a map target) within its budget."""
    chunk = state.data.get("chunk")
    if not isinstance(chunk, str):
        raise TypeError("summarize_chunk runs once per chunk: map it over data.chunks "
                         "with item_key='chunk'")
    max_length = int_setting(state, ctx.config, "max_length", DEFAULT_MAX_LENGTH, minimum=1)
    budget = chunk_budget(chunk, len(state.data.get("chunks") or [chunk]), max_length)
    if not bool_setting(state, ctx.config, "use_llm", False):
        return {"chunk_summaries": [extractive_summary(chunk, budget)]}
    response, record = await ask_llm(ctx, _summary_request(chunk, budget), purpose="summarize")
    return {"chunk_summaries": [response.text.strip()], "llm_usage": [record]}


def merge_summaries(state: WorkflowState) -> dict[str, Any]:
    """Merge the chunk summaries, in chunk order, dropping repeated sentences."""
    summary = merge_texts([s for s in state.data.get("chunk_summaries") or [] if s])
    return {"summary": summary, "merged_length": len(summary)}


async def refine_summary(state: WorkflowState, ctx: NodeContext) -> dict[str, Any]:
    """Shorten ``summary`` towards ``max_length``; a no-op when it already fits."""
    summary = state.data.get("summary") or ""
    max_length = int_setting(state, ctx.config, "max_length", DEFAULT_MAX_LENGTH, minimum=1)
    done = int_setting(state, ctx.config, "refine_iterations", 0)
    limit = int_setting(state, ctx.config, "max_refine_iterations",
                        DEFAULT_MAX_REFINE_ITERATIONS, minimum=1)
    if len(summary) <= max_length:
        return {"summary_length": len(summary)}
    update: dict[str, Any] = {"refine_iterations": done + 1}
    refined = None
    if bool_setting(state, ctx.config, "use_llm", False):
        response, record = await ask_llm(ctx, _summary_request(summary, max_length), purpose="refine")
        update["llm_usage"] = [record]
        refined = response.text.strip()
        last_try = done + 1 >= limit
        if len(refined) >= len(summary) or (last_try and len(refined) > max_length):
            ctx.log(f"LLM refinement is {len(refined)} chars (limit {max_length}); "
                    "using the extractive summarizer")
            refined = None
    if refined is None:
        refined = extractive_summary(summary, max_length)
    update["summary"] = refined
    update["summary_length"] = len(refined)
    return update


def _summary_request(text: str, max_chars: int) -> LLMRequest:
    prompt = (
        f"Summarize the text below in at most {max_chars} characters. Keep the key facts, "
        "and answer with the summary only. The text:\n\n"
        f"{text}"
    )
    return LLMRequest(prompt=prompt, system=_SYSTEM,
                      max_tokens=max(16, max_chars // _CHARS_PER_TOKEN))


def register(target: ToolRegistry = registry) -> None:
    """Register this module's tools in ``target`` (idempotent: replaces earlier ones)."""
    tools: list[tuple[Any, str, tuple[str, ...]]] = [
        (split_text, "Split text into chunks on paragraph and sentence boundaries",
         ("chunks", "source_format", "chunk_chars", "max_length", "max_refine_iterations",
          "refine_iterations", "source_length")),
        (summarize_chunk, "Summarize one chunk (map target; extractive offline, or an LLM)",
         ("chunk_summaries", "llm_usage")),
        (merge_summaries, "Merge chunk summaries in order, dropping repeats",
         ("summary", "merged_length")),
        (refine_summary, "Shorten the summary until it fits max_length",
         ("summary", "summary_length", "refine_iterations", "llm_usage")),
    ]
    for fn, description, writes in tools:
        target.add_tool(fn, name=fn.__name__, description=description, writes=writes,
                        replace=True)
