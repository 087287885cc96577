"""The prose of a document: what a summary may quote, without markup, tables or code.

A summary made of a document's sentences must be made of its *prose* sentences: a
table of contents (``[API Design](#api-design) 9.``), a code line (``# Add nodes
graph.add_node(...)``) or a table row is not a sentence, whatever the punctuation.
So a document is parsed first, by a real parser for its format:

- ``markdown``: markdown-it-py (CommonMark and GitHub tables);
- ``rst``: docutils (reStructuredText, PEPs included);
- ``text``: paragraphs separated by blank lines, as written;
- ``auto`` (the default): :func:`detect_format` picks one of the above.

Its paragraphs are reduced to plain text (a link to its words, ``**bold**`` to its
content), then only *whole sentences* are kept (:func:`is_whole_sentence`): they start
like a sentence, end with ``.``, ``!`` or ``?``, are mostly words, are longer than
a heading, and do not quote a code snippet of several words. :func:`prose_text` joins them back into paragraphs separated by blank
lines, the text model of :mod:`nodes.analysis.text`, ready for the summarizer.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from nodes.analysis.text import paragraph_sentences, split_paragraphs

__all__ = ["FORMATS", "DocumentFormat", "detect_format", "is_whole_sentence",
           "prose_paragraphs", "prose_text"]

DocumentFormat = Literal["markdown", "rst", "text"]
#: What ``fmt`` may be: a format, or ``auto`` to detect it.
FORMATS: tuple[str, ...] = ("auto", *get_args(DocumentFormat))

#: Fewer words is a heading, a label or an exclamation, not a statement to quote.
MIN_SENTENCE_WORDS = 4
#: Inline code of more words than this is a snippet (``actorflow run g.json --input
#: '{}'``), not a name (``Runtime.start``): a sentence around it is not prose to quote.
MAX_CODE_WORDS = 2
#: Below this share of letters among its visible characters, a "sentence" is code or data.
MIN_LETTER_SHARE = 0.6

_OPENING = "\"'(\u201c\u2018["
_CLOSING = "\"')\u201d\u2019]"
_WHOLE_END = re.compile(rf"[.!?][{re.escape(_CLOSING)}]*$")
# "etc." ends a list, not a statement: "Pre-built workflows (review, summaries, etc.)".
_ABBREVIATED_END = re.compile(rf"\b(etc|e\.g|i\.e|vs|cf)\.[{re.escape(_CLOSING)}]*$",
                              re.IGNORECASE)
_LIST_MARK = re.compile(r"^(\d+|[A-Za-z])[.)]\s")  # "9. ", "a) ": numbering, not words

# Signs of each markup language: the kinds of sign a text shows tell them apart.
_MARKDOWN_SIGNS = [
    re.compile(r"^#{1,6}\s+\S", re.MULTILINE),  # ATX heading
    re.compile(r"^\s*(```|~~~)", re.MULTILINE),  # fenced code
    re.compile(r"\[[^\]\n]+\]\([^)\s]*\)"),  # [text](url)
    re.compile(r"^\s*\|.*\|\s*$", re.MULTILINE),  # table row
    re.compile(r"\*\*[^*\n]+\*\*"),  # **strong** (reST has it too: weak, but common)
]
_RST_SIGNS = [
    re.compile(r"^\.\. [\w:-]+::", re.MULTILINE),  # directive
    re.compile(r"^\.\. _[^:\n]+:", re.MULTILINE),  # hyperlink target
    re.compile(r"::\s*$", re.MULTILINE),  # literal block follows
    re.compile(r"``[^`\n]+``"),  # inline literal
    re.compile(r"`[^`\n]+`_{1,2}"),  # `reference`_
    re.compile(r":[a-z]+:`[^`\n]+`"),  # :role:`text`
    re.compile(r"^PEP: \d+$", re.MULTILINE),  # a PEP's header
    # A title underlined (and maybe overlined) with punctuation, the reST way.
    re.compile(r"^[^\s].*\n([=\-~^\"'`#*+<>])\1{2,}\s*$", re.MULTILINE),
]


def detect_format(text: str) -> DocumentFormat:
    """Guess the markup of ``text`` from the signs of each language it shows.

    The language with more kinds of signs wins; ``text`` when neither shows any.
    """
    markdown = sum(1 for sign in _MARKDOWN_SIGNS if sign.search(text))
    rst = sum(1 for sign in _RST_SIGNS if sign.search(text))
    if markdown == rst == 0:
        return "text"
    return "rst" if rst > markdown else "markdown"


def prose_paragraphs(text: str, fmt: str = "auto") -> list[str]:
    """The paragraphs of ``text`` as plain text (markup reduced, code and tables left
    out), whitespace collapsed. Raises ValueError for an unknown ``fmt``."""
    return [paragraph for paragraph, _ in _paragraphs(text, fmt)]


def _paragraphs(text: str, fmt: str) -> list[tuple[str, list[str]]]:
    """Each paragraph with the inline code it quotes."""
    kind = _resolve(text, fmt)
    if kind == "markdown":
        from nodes.analysis._markdown_prose import markdown_paragraphs

        return markdown_paragraphs(text)
    if kind == "rst":
        from nodes.analysis._rst_prose import rst_paragraphs

        return rst_paragraphs(text)
    return [(" ".join(p.split()), []) for p in split_paragraphs(text)]


def is_whole_sentence(sentence: str) -> bool:
    """Whether ``sentence`` reads as a sentence on its own: it starts with a capital
    or a digit (after any opening quote or bracket) but not with list numbering, ends
    with ``.``, ``!`` or ``?`` (before any closing quote or bracket) but not with an
    abbreviation (``etc.``), has at least :data:`MIN_SENTENCE_WORDS` words, is mostly
    letters, has no ``|`` (tables, command synopses), and closes every quotation and
    parenthesis it opens."""
    head = sentence.lstrip(_OPENING)
    if not head or not (head[0].isupper() or head[0].isdigit()) or _LIST_MARK.match(head):
        return False
    if not _WHOLE_END.search(sentence) or _ABBREVIATED_END.search(sentence):
        return False
    words = sentence.split()
    if len(words) < MIN_SENTENCE_WORDS:
        return False
    visible = "".join(words)
    if sum(ch.isalpha() for ch in visible) < MIN_LETTER_SHARE * len(visible):
        return False
    if "|" in sentence:  # a table row, or a command synopsis quoted as code
        return False
    return _quote_balance(sentence) == 0 and sentence.count("(") == sentence.count(")")


def _quote_balance(text: str) -> int:
    """Double quotations left open by ``text`` (straight ones pair up by count)."""
    return text.count('"') % 2 + text.count("\u201c") - text.count("\u201d")


def _quotes_a_snippet(sentence: str, code: list[str]) -> bool:
    """Whether ``sentence`` is built around quoted code of several words (a command, a
    call with arguments) rather than naming an identifier."""
    return any(len(span.split()) > MAX_CODE_WORDS and span in sentence for span in code)


def _whole_sentences(paragraph: str, code: list[str]) -> list[str]:
    """The whole sentences of one paragraph. A sentence that starts inside a quotation
    opened by an earlier one (``"Oh! Single, my dear!`` ...) is part of that quotation,
    not a sentence of its own."""
    whole = []
    open_quotes = 0
    for sentence in [s for group in paragraph_sentences(paragraph) for s in group]:
        if (open_quotes == 0 and is_whole_sentence(sentence)
                and not _quotes_a_snippet(sentence, code)):
            whole.append(sentence)
        open_quotes = (open_quotes + _quote_balance(sentence)) % 2
    return whole


def prose_text(text: str, fmt: str = "auto") -> str:
    """The whole sentences of ``text``'s prose, by paragraph (sentences of one paragraph
    joined by a space, paragraphs by a blank line).

    A text with no whole sentence at all (a list of notes, a title) keeps its prose
    paragraphs as they are, so that it still has something to summarize.

    Raises:
        ValueError: for an unknown ``fmt`` (one of :data:`FORMATS`).
    """
    paragraphs = _paragraphs(text, fmt)
    kept = [" ".join(whole) for whole in (_whole_sentences(p, code) for p, code in paragraphs)
            if whole]
    return "\n\n".join(kept or [paragraph for paragraph, _ in paragraphs])


def _resolve(text: str, fmt: str) -> DocumentFormat:
    if fmt == "auto":
        return detect_format(text)
    if fmt not in FORMATS:
        raise ValueError(f"unknown document format {fmt!r}; use one of {', '.join(FORMATS)}")
    return fmt  # type: ignore[return-value]  # checked against FORMATS just above
