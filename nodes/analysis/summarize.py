"""Deterministic text utilities behind the summarization workflow.

The workflow chunks a long document, summarizes chunks in parallel, merges the
partial summaries and refines until the result fits a length limit. Everything
here is pure and deterministic (no randomness, no dict-order dependence beyond
insertion order), so re-running a graph replays identically.

Paragraph and sentence splitting live in :mod:`nodes.analysis.text` and are
re-exported here, so the whole summarization API is importable from this module.

A document with markup (Markdown, reStructuredText) goes through
:func:`nodes.analysis.prose.prose_text` first, so that only its prose sentences are
candidates: :func:`summarize_document` does both.

Summaries are rebuilt from whole sentences: sentences from the same paragraph
are joined by a space and paragraphs by a blank line, so splitting a summary
again yields exactly the sentences that were picked.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence

from nodes.analysis.prose import prose_text
from nodes.analysis.text import (
    paragraph_sentences,
    split_into_chunks,
    split_paragraphs,
    split_sentences,
)

__all__ = [
    "extractive_summary",
    "hierarchical_summary",
    "merge_summaries",
    "split_into_chunks",
    "split_paragraphs",
    "split_sentences",
    "summarize_document",
]

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
# Function words carry no topic; counting them would make every sentence look alike.
_STOPWORD_WORDS = """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how if in
    into is it its itself just may me might more most must my myself no nor not now of off on
    once only or other our ours ourselves out over own same shall she should so some such than
    that the their theirs them themselves then there these they this those through to too
    under until up upon us very was we were what when where which while who whom why will with
    within without would you your yours yourself yourselves one two use used using see"""
_STOPWORDS = frozenset(_STOPWORD_WORDS.split())
_LEAD_BONUS = 0.25  # the opening sentence usually states the topic
_PARAGRAPH_LEAD_BONUS = 0.1  # so do paragraphs' first sentences, to a lesser degree
_MIN_WORDS = 8  # scores are per-word averages; don't let 1-word sentences win on average
# Headings, list introductions ("... the following:") and code lines do not end
# like sentences; they rarely make sense out of context, so they score lower.
_FRAGMENT_FACTOR = 0.4
# Sentences scoring below this share of the best score are never used to fill
# leftover room: a shorter summary beats one padded with "Finis." and "Note!".
_MIN_RELATIVE_SCORE = 0.2
_COMPLETE_ENDING = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")


def _content_words(sentence: str) -> list[str]:
    return [w for w in _WORD.findall(sentence.lower()) if len(w) > 2 and w not in _STOPWORDS]


def _sentence_scores(sentences: Sequence[tuple[int, int, str]]) -> list[float]:
    """Score ``(paragraph, position, sentence)`` triples; higher means more central.

    score = mean normalized frequency of the sentence's content words (frequency
    across the whole text divided by the top frequency; the mean uses at least
    ``_MIN_WORDS`` words), scaled to [0, 1] over the document, times the share of
    letters among its non-space characters (code and tables score low), times
    ``_FRAGMENT_FACTOR`` for fragments that do not end like a sentence, plus a
    bonus for opening the document or a paragraph.
    """
    words = [_content_words(s) for _, _, s in sentences]
    freq = Counter(w for ws in words for w in ws)
    top = max(freq.values(), default=1)
    raw = [sum(freq[w] for w in ws) / top / max(len(ws), _MIN_WORDS) for ws in words]
    scale = max(raw, default=0.0) or 1.0
    scores = []
    for index, ((_, position, sentence), value) in enumerate(zip(sentences, raw, strict=True)):
        visible = sentence.replace(" ", "")
        letters = sum(ch.isalpha() for ch in visible) / max(len(visible), 1)
        score = value / scale * letters
        if not _COMPLETE_ENDING.search(sentence):
            score *= _FRAGMENT_FACTOR
        if index == 0:
            score += _LEAD_BONUS
        elif position == 0:
            score += _PARAGRAPH_LEAD_BONUS
        scores.append(score)
    return scores


def _separator(a: tuple[int, int, str], b: tuple[int, int, str]) -> int:
    """Length of the joiner between two picked sentences: a space within a paragraph."""
    return 1 if a[0] == b[0] else 2


def _render(picked: Sequence[tuple[int, int, str]]) -> str:
    parts: list[str] = []
    for i, item in enumerate(picked):
        if i:
            parts.append(" " if _separator(picked[i - 1], item) == 1 else "\n\n")
        parts.append(item[2])
    return "".join(parts)


def _truncate_words(sentence: str, max_chars: int) -> str:
    """Cut an over-long sentence at a word boundary and mark the cut with an ellipsis."""
    room = max_chars - 1  # keep one character for the ellipsis
    cut = sentence[: room + 1].rsplit(" ", 1)[0] if room > 0 else ""
    if not cut or len(cut) > room:
        cut = sentence[:room]  # a single word longer than the limit
    return (cut.rstrip() + "\u2026") if room > 0 else sentence[:max_chars]


def extractive_summary(text: str, max_chars: int) -> str:
    """Summarize ``text`` in at most ``max_chars`` characters by picking whole sentences.

    Sentences are scored by the normalized frequency of their non-stopword
    words, with a bonus for the opening sentence of the text and of each
    paragraph and penalties for code-like sentences and fragments. The text's
    opening sentence, when it ends like one, is taken first: it usually says
    what the text is about. Going down the ranking, every sentence that still
    fits is kept (sentences scoring under a fifth of the best are never used as
    filler); the kept sentences are emitted in their original order
    (same-paragraph sentences joined by a space, paragraphs by a blank line).
    If ``text`` already fits, all of its sentences are kept. Only when no
    single sentence fits is the first-ranked one cut at a word boundary,
    ending with an ellipsis.

    Args:
        text: the document to summarize.
        max_chars: the length limit, ``>= 1``.

    Returns:
        The summary (``""`` for blank text).

    Raises:
        ValueError: if ``max_chars < 1``.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    sentences = [
        (p, i, s) for p, group in enumerate(paragraph_sentences(text)) for i, s in enumerate(group)
    ]
    if not sentences:
        return ""
    scores = _sentence_scores(sentences)
    # Best score first; ties go to the earlier sentence so results are stable.
    ranking = sorted(range(len(sentences)), key=lambda k: (-scores[k], k))
    fits_whole = len(_render(sentences)) <= max_chars
    floor = 0.0 if fits_whole else scores[ranking[0]] * _MIN_RELATIVE_SCORE
    if _COMPLETE_ENDING.search(sentences[0][2]):
        # The opening sentence states what the text is about ("This PEP documents...");
        # a summary without it reads like a list of details. It goes first when whole.
        ranking.remove(0)
        ranking.insert(0, 0)
    picked: list[int] = []  # indices, kept sorted
    length = 0
    for k in ranking:
        if scores[k] < floor:
            break
        at = bisect_left(picked, k)
        before = sentences[picked[at - 1]] if at > 0 else None
        after = sentences[picked[at]] if at < len(picked) else None
        extra = len(sentences[k][2])
        extra += _separator(before, sentences[k]) if before else 0
        extra += _separator(sentences[k], after) if after else 0
        extra -= _separator(before, after) if before and after else 0
        if length + extra <= max_chars:
            picked.insert(at, k)
            length += extra
    if not picked:
        return _truncate_words(sentences[ranking[0]][2], max_chars)
    return _render([sentences[k] for k in picked])


def merge_summaries(summaries: Sequence[str]) -> str:
    """Merge partial summaries into one text, in order, dropping repeated sentences.

    Each summary's paragraphs stay paragraphs (separated by blank lines), so the
    result can be fed back to :func:`extractive_summary` for refinement. A
    sentence that already appeared in an earlier summary is dropped, since
    chunk summaries of overlapping material often repeat the key sentence.
    """
    seen: set[str] = set()
    paragraphs: list[str] = []
    for summary in summaries:
        for group in paragraph_sentences(summary):
            fresh = [s for s in group if s not in seen]
            seen.update(fresh)
            if fresh:
                paragraphs.append(" ".join(fresh))
    return "\n\n".join(paragraphs)


def hierarchical_summary(text: str, max_chars: int, chunk_chars: int = 4000) -> str:
    """Chunk, summarize each chunk, merge and refine until the result fits ``max_chars``.

    This is the summarization workflow run sequentially; the graph version runs
    the per-chunk step in parallel. Each round summarizes every chunk to a third
    of its length (or to an equal share of ``max_chars`` if that is larger), so
    the merged text shrinks geometrically; once it fits in a single chunk, one
    last extractive pass brings it under ``max_chars``.
    """
    if max_chars < 1 or chunk_chars < 1:
        raise ValueError("max_chars and chunk_chars must be >= 1")
    current = text
    while len(current) > max_chars:
        chunks = split_into_chunks(current, chunk_chars)
        if len(chunks) <= 1:
            return extractive_summary(current, max_chars)
        share = max_chars // len(chunks)
        merged = merge_summaries(
            [extractive_summary(c, max(len(c) // 3, share, 1)) for c in chunks]
        )
        if len(merged) >= len(current):  # no progress possible by chunking: finish in one pass
            return extractive_summary(merged, max_chars)
        current = merged
    return current


def summarize_document(text: str, max_chars: int, *, fmt: str = "auto",
                       chunk_chars: int = 4000) -> str:
    """Summarize a document (Markdown, reStructuredText or plain text) in at most
    ``max_chars`` characters, from whole sentences of its prose only: headings,
    tables, code and list fragments are never picked, and markup is reduced to
    its words. ``fmt`` is ``auto`` (detected), ``markdown``, ``rst`` or ``text``.

    Raises:
        ValueError: for an unknown ``fmt`` or a limit below 1.
    """
    return hierarchical_summary(prose_text(text, fmt), max_chars, chunk_chars)
