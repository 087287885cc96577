"""The prose paragraphs of a Markdown document, parsed by markdown-it-py (CommonMark
plus GitHub tables): paragraphs, also inside lists and block quotes, as plain text.

Headings, tables, code blocks, HTML blocks and images are left out; inline markup
is reduced to its text (a link to its words, ``**bold**`` and inline code to their
content), so ``[API Design](#api-design)`` reads "API Design".
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from itertools import pairwise

from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["markdown_paragraphs"]

# Inline tokens whose text is not prose: pictures and raw HTML.
_SKIPPED_INLINE = frozenset({"image", "html_inline"})
_BREAKS = frozenset({"softbreak", "hardbreak"})


@cache
def _parser() -> MarkdownIt:
    # "html" lets the parser recognize raw HTML blocks, so their tags never become prose.
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _inline_text(children: Sequence[Token], code: list[str]) -> str:
    parts = []
    for token in children:
        if token.type in ("text", "code_inline"):
            parts.append(token.content)
            if token.type == "code_inline":
                code.append(" ".join(token.content.split()))
        elif token.type in _BREAKS:
            parts.append(" ")
        elif token.type in _SKIPPED_INLINE:
            continue
        # Markup (emphasis, links, strikethrough) opens and closes around text that
        # comes as tokens of its own: nothing to add for the markers themselves.
    return " ".join("".join(parts).split())


def markdown_paragraphs(text: str) -> list[tuple[str, list[str]]]:
    """Each paragraph of ``text``, in order, whitespace collapsed, with the inline code
    it quotes (so that a sentence made around a quoted command can be told apart)."""
    tokens = _parser().parse(text)
    paragraphs = []
    for before, token in pairwise(tokens):
        if token.type == "inline" and before.type == "paragraph_open":
            code: list[str] = []
            paragraph = _inline_text(token.children or [], code)
            if paragraph:
                paragraphs.append((paragraph, code))
    return paragraphs
