"""What a summary of a real document must be, checked without the summarizer's parsers.

``assert_prose_summary(summary, source, kind, max_chars)``: the summary is at most
``max_chars`` long and each of its sentences is a whole prose sentence of ``source``:

- its words appear, in order and contiguously, in the source's *prose*: the source
  with code blocks, tables and headings cut out by plain regular expressions (not by
  markdown-it-py or docutils, which the summarizer uses), and with link targets
  and footnote marks removed (a summary says "API Design" for ``[API Design](#x)``);
- it has no markup left: no link syntax, table pipes, backticks, heading marks;
- it starts like a sentence (not with list numbering) and ends like one.
"""

from __future__ import annotations

import re

from nodes.analysis.text import split_sentences

__all__ = ["assert_prose_summary", "prose_words"]

_WORD = re.compile(r"\w+")
_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_MD_TABLE_ROW = re.compile(r"^\s*\|.*$", re.MULTILINE)
_MD_HEADING = re.compile(r"^#{1,6} .*$", re.MULTILINE)
_MD_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_RST_LITERAL = re.compile(r"::[ \t]*\n(?:[ \t]*\n)+((?:[ \t]+.*\n|[ \t]*\n)+)")
_RST_DOCTEST = re.compile(r"^\s*>>>.*(?:\n(?!\s*\n).*)*", re.MULTILINE)
_RST_LINK_TARGET = re.compile(r"\s<[^<>\n]*>`")
_RST_FOOTNOTE = re.compile(r"\[(#|\*|\d+|#?\w+)\]_")
_START = re.compile(r"^[\"'(\u201c\u2018]*[A-Z0-9]")
_END = re.compile(r"[.!?][\"')\]\u201d\u2019]*$")
_LIST_NUMBER = re.compile(r"^\(?\d+[.)]\s|^[a-z][.)]\s")


def _prose_source(source: str, kind: str) -> str:
    if kind == "markdown":
        for pattern in (_FENCE, _MD_TABLE_ROW, _MD_HEADING, _MD_LINK_TARGET):
            source = pattern.sub(" ", source)
    elif kind == "rst":
        source = _RST_LITERAL.sub("::\n\n", source)
        for pattern in (_RST_DOCTEST, _RST_LINK_TARGET, _RST_FOOTNOTE):
            source = pattern.sub(" ", source)
    return source


def prose_words(text: str) -> str:
    """The words of ``text``, lower case, one space apart, with a space at each end."""
    return " " + " ".join(_WORD.findall(text.lower())) + " "


def assert_prose_summary(summary: str, source: str, kind: str, max_chars: int) -> list[str]:
    """Check ``summary`` as described above; return its sentences."""
    assert 0 < len(summary) <= max_chars, (len(summary), max_chars)
    words = prose_words(_prose_source(source, kind))
    sentences = split_sentences(summary)
    for sentence in sentences:
        assert prose_words(sentence) in words, f"not a prose sentence of the source: {sentence!r}"
        for mark in ("](", "|", "`", "**", "```", "::"):
            assert mark not in sentence, f"markup {mark!r} left in {sentence!r}"
        assert not sentence.startswith("#"), sentence
        assert _START.match(sentence) and not _LIST_NUMBER.match(sentence), sentence
        assert _END.search(sentence), f"not a whole sentence: {sentence!r}"
    return sentences
