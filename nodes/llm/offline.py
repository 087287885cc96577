"""A deterministic, network-free provider: the default.

It lets every graph run end to end in tests, CI, demos and air-gapped
machines, with answers that are *useful enough* to exercise downstream nodes
and are byte-for-byte reproducible (no randomness, no clock, no I/O):

* **Code revision** - if the prompt asks to revise/fix/refactor/... and
  contains a fenced code block, the (largest) block is returned unchanged,
  fences included. Unchanged code is a valid, safe "revision", and it is never
  truncated because truncated code is broken code.
* **Otherwise, extractive summary** - the prompt's most informative sentences
  (scored by the frequency of their content words across the whole prompt,
  normalised by length), kept in their original order, within
  ``max_tokens * 4`` characters (~4 chars per token).

With ``tools``, a user turn that names one as ``NAME: text`` calls it with ``text`` as
its first argument, and a turn answering a call is answered with ``NAME says: result``
(enough for an agent's tool loop to run offline, the same way every time). In a
conversation the last user turn is what gets summarized.

Token counts are word counts (:func:`nodes.llm.base.estimate_tokens`), cost is 0.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import anyio.lowlevel

from .base import LLMRequest, LLMResponse, TokenSink, ToolCall, Usage, estimate_tokens

__all__ = ["OfflineProvider", "extractive_answer"]

_CHARS_PER_TOKEN = 4
_PIECE = re.compile(r"\s*\S+\s*")

_FENCE = re.compile(r"```[^\n`]*\n.*?```", re.DOTALL)
_REVISION = re.compile(
    r"\b(revise|revision|fix|refactor|improve|rewrite|correct|clean\s*up|review|edit|modify)\b",
    re.IGNORECASE,
)
# A sentence ends at . ! or ? followed by whitespace; blank lines and list
# items also end one (prompts are full of bullet points and headings).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n(?=\s*(?:[-*\u2022]|\d+[.)])\s)")
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")
_WORD = re.compile(r"[a-z0-9][a-z0-9'_-]*")

_STOPWORD_TEXT = """a about above after again all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers him his how i if in into is it its
    itself just me more most my no nor not now of off on once only or other our ours out
    over own same she should so some such than that the their theirs them then there these
    they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOPWORDS]


def _sentences(text: str) -> list[str]:
    out = []
    for chunk in _SENTENCE_END.split(text):
        sentence = " ".join(_BULLET.sub("", chunk).split())
        # Lines ending in ":" are instructions or headings ("Summarize this:"),
        # not content worth repeating back.
        if sentence and not sentence.endswith(":"):
            out.append(sentence)
    return out


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit // 2 else cut


def extractive_answer(prompt: str, max_chars: int) -> str:
    """The most informative sentences of ``prompt`` (in order), within ``max_chars``."""
    sentences = _sentences(_FENCE.sub(" ", prompt))
    if not sentences or max_chars <= 0:
        return ""
    freq = Counter(_content_words(prompt))

    def score(sentence: str) -> float:
        words = _content_words(sentence)
        if not words:
            return 0.0
        # Sum over distinct words so repetition inside one sentence doesn't win;
        # divide by sqrt(length) so long sentences don't win by size alone.
        return sum(freq[w] for w in set(words)) / math.sqrt(len(words))

    ranked = sorted(range(len(sentences)), key=lambda i: (-score(sentences[i]), i))
    chosen: list[int] = []
    used = 0
    for i in ranked:
        cost = len(sentences[i]) + (1 if chosen else 0)
        if used + cost <= max_chars:
            chosen.append(i)
            used += cost
    if not chosen:  # even the best sentence is too long: cut it at a word boundary
        return _truncate(sentences[ranked[0]], max_chars)
    return " ".join(sentences[i] for i in sorted(chosen))


def _code_to_revise(prompt: str) -> str | None:
    if not _REVISION.search(prompt):
        return None
    blocks = _FENCE.findall(prompt)
    return max(blocks, key=len) if blocks else None


def _tool_calls(request: LLMRequest, last: dict[str, object], n: int) -> list[ToolCall]:
    """``NAME: text`` in the last user turn calls tool NAME with ``text``."""
    if not request.tools or last.get("role", "user") != "user":
        return []
    content = str(last.get("content") or "")
    for tool in request.tools:
        m = re.search(rf"(?<![\w.-]){re.escape(tool.name)}\s*:\s*(.+)", content,
                      re.IGNORECASE | re.DOTALL)
        if m is None:
            continue
        params = tool.parameters
        required = params.get("required") or list(params.get("properties") or {})
        args = {required[0]: m.group(1).strip()} if required else {}
        return [ToolCall(id=f"call_{n}", name=tool.name, arguments=args)]
    return []


class OfflineProvider:
    """Deterministic :class:`~nodes.llm.base.LLMProvider` that never touches the network.

    ``default_max_tokens`` bounds the answer when the request sets no ``max_tokens``.
    """

    def __init__(
        self,
        *,
        name: str = "offline",
        model: str = "offline-extractive-1",
        default_max_tokens: int = 256,
    ) -> None:
        self.name = name
        self.model = model
        self.default_max_tokens = default_max_tokens

    async def complete(self, request: LLMRequest) -> LLMResponse:
        # A real checkpoint: the call is cancellable and lets other tasks run,
        # like a network provider would, so graphs behave the same offline.
        await anyio.lowlevel.checkpoint()
        turns = request.turns()
        last = turns[-1]
        prompt = request.prompt if not request.messages else str(last.get("content") or "")
        calls = _tool_calls(request, last, len(turns))
        code = _code_to_revise(prompt)
        if calls or last.get("role") == "tool":
            text = "" if calls else f"{last.get('name')} says: {last.get('content')}"
        elif code is not None:
            text = code
        else:
            max_tokens = request.max_tokens or self.default_max_tokens
            text = extractive_answer(prompt, max_tokens * _CHARS_PER_TOKEN)
        prompt_tokens = estimate_tokens(prompt) + estimate_tokens(request.system or "")
        return LLMResponse(
            text=text,
            model=self.model,
            provider=self.name,
            usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=estimate_tokens(text)),
            cost_usd=0.0,
            tool_calls=tuple(calls),
        )

    async def stream(self, request: LLMRequest, on_token: TokenSink) -> LLMResponse:
        """The same answer as :meth:`complete`, handed over a word at a time."""
        response = await self.complete(request)
        for piece in _PIECE.findall(response.text):
            await anyio.lowlevel.checkpoint()
            on_token(piece)
        return response
