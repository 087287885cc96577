"""Split text into paragraphs, sentences and size-limited chunks.

Text model: paragraphs are separated by blank lines; sentences end with
``.``, ``!`` or ``?`` (plus closing quotes/brackets) followed by whitespace and
a character that can start a sentence (capital letter, digit, quote, bracket,
backtick, ``*``), unless the word before the period is a known abbreviation
or an initial. The end of a paragraph always ends a sentence.

The boundary test only looks at the word before the punctuation and the
character after the whitespace, so sentences re-joined with a space (within
a paragraph) or a blank line (across paragraphs) split back identically; the
summarizer relies on that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["paragraph_sentences", "split_into_chunks", "split_paragraphs", "split_sentences"]

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\f\v]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*\s+")
_WHITESPACE = re.compile(r"\s+")
# Characters that may open a sentence besides capitals and digits.
_OPENERS = frozenset("\"'([`*\u201c\u2018")
# A word list reads better as one string (split below).
_ABBREVIATION_WORDS = (
    "e.g i.e etc vs cf al approx dr mr mrs ms prof sr jr st no fig eq ch sec vol ed inc ltd"
)
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())


def split_paragraphs(text: str) -> list[str]:
    """Split ``text`` on blank lines; paragraphs are stripped and never empty."""
    return [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]


def _is_boundary(paragraph: str, match: re.Match[str]) -> bool:
    """Decide whether a ``.``/``!``/``?`` + whitespace match really ends a sentence."""
    following = paragraph[match.end() : match.end() + 1]
    if not following or not (following.isupper() or following.isdigit() or following in _OPENERS):
        return False
    if paragraph[match.start()] != ".":
        return True  # "!" and "?" are never abbreviations
    words = paragraph[: match.start()].split()
    token = words[-1].lstrip("\"'([`*").lower() if words else ""
    # "e.g.", "Dr." or an initial such as the "J." in "J. Smith".
    return not (token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()))


def _sentence_spans(paragraph: str) -> list[tuple[int, int]]:
    """Half-open ``(start, end)`` spans of the sentences of one paragraph."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        if _is_boundary(paragraph, match):
            end = len(paragraph[: match.end()].rstrip())
            spans.append((start, end))
            start = match.end()
    if start < len(paragraph):
        spans.append((start, len(paragraph.rstrip())))
    return [(s, e) for s, e in spans if e > s]


def paragraph_sentences(text: str) -> list[list[str]]:
    """Sentences grouped by paragraph (empty paragraphs dropped), whitespace inside each
    sentence collapsed to single spaces."""
    grouped = []
    for paragraph in split_paragraphs(text):
        sentences = [_WHITESPACE.sub(" ", paragraph[s:e]) for s, e in _sentence_spans(paragraph)]
        grouped.append([s for s in sentences if s])
    return [g for g in grouped if g]


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences (whitespace inside each sentence collapsed).

    Args:
        text: any prose; blank lines separate paragraphs.

    Returns:
        The sentences in order, never empty strings.
    """
    return [s for group in paragraph_sentences(text) for s in group]


def _pack(pieces: Sequence[str], max_chars: int, joiner: str) -> list[str]:
    """Greedily join consecutive ``pieces`` while the result stays within ``max_chars``."""
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        candidate = current + joiner + piece if current else piece
        if len(candidate) <= max_chars:
            current = candidate
        else:
            if current:
                chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks


def _fit_sentence(sentence: str, max_chars: int) -> list[str]:
    """Split one over-long sentence on whitespace; cut inside a word only if it alone is too long."""
    words: list[str] = []
    for word in sentence.split():
        words.extend(word[i : i + max_chars] for i in range(0, len(word), max_chars))
    return _pack(words, max_chars, " ")


def _fit_paragraph(paragraph: str, max_chars: int) -> list[str]:
    """Pieces of one paragraph, each at most ``max_chars`` long, cut at sentence boundaries."""
    if len(paragraph) <= max_chars:
        return [paragraph]
    pieces: list[str] = []
    for start, end in _sentence_spans(paragraph):
        sentence = paragraph[start:end].strip()
        pieces.extend(
            [sentence] if len(sentence) <= max_chars else _fit_sentence(sentence, max_chars)
        )
    return _pack(pieces, max_chars, " ")


def split_into_chunks(text: str, max_chars: int) -> list[str]:
    """Split ``text`` into chunks of at most ``max_chars`` characters.

    Whole paragraphs are packed together (joined by a blank line) while they
    fit; a paragraph that is too long is split between sentences, a sentence
    that is too long between words, and only a single word longer than
    ``max_chars`` is cut inside. Text inside a paragraph keeps its line breaks.

    Args:
        text: the document.
        max_chars: the chunk size limit, ``>= 1``.

    Raises:
        ValueError: if ``max_chars < 1``.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    pieces: list[str] = []
    for paragraph in split_paragraphs(text):
        pieces.extend(_fit_paragraph(paragraph, max_chars))
    return _pack(pieces, max_chars, "\n\n")
