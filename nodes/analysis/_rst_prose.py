"""The prose paragraphs of a reStructuredText document (a PEP, a README.rst), parsed by
docutils: paragraphs, also inside lists, block quotes and admonitions, as plain text.

Literal blocks (``::``), doctest blocks, tables, field lists, footnotes, comments and
whatever docutils could not parse (Sphinx-only directives) are left out; inline
markup is reduced to its text (```PEP 8 <url>`_`` reads "PEP 8"). A PEP's RFC 822
header (``PEP: 8``, ``Title: ...``) is not reST and is dropped before parsing.
"""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

from docutils import nodes
from docutils.core import publish_doctree

__all__ = ["rst_paragraphs"]

# Paragraphs under these are not running text.
_NOT_PROSE = (nodes.system_message, nodes.table, nodes.field_list, nodes.docinfo,
              nodes.footnote, nodes.citation, nodes.comment, nodes.substitution_definition,
              nodes.raw, nodes.attribution)
# Inline nodes that are not words of the sentence (a footnote mark, a picture).
_SKIPPED = (nodes.footnote_reference, nodes.citation_reference, nodes.image,
            nodes.system_message, nodes.raw)
# Where a footnote mark was: "as the guide says [1]_." reads "as the guide says."
_GAP = "\0"
_CLOSE_GAP = re.compile(r"\s*\0(?=[.,;:!?)])|\0")
_HEADER_LINE = re.compile(r"[A-Za-z][\w-]*: ")
_ROLE = re.compile(r":[\w.+-]+:`([^`]*)`")  # an unknown role (Sphinx's :ref:, :class:...)
_TARGET = re.compile(r"\s*<[^<>]*>$")  # "text <target>" inside a role or link

_SETTINGS: dict[str, Any] = {
    "report_level": 5,  # parse quietly: a Sphinx directive is not our reader's error
    "halt_level": 5,
    "file_insertion_enabled": False,  # never read files or URLs named in the text
    "raw_enabled": False,
    "_disable_config": True,
    "input_encoding": "unicode",
}


def _without_header(text: str) -> str:
    """Drop a leading RFC 822 header (a PEP's ``PEP: 8`` ... block)."""
    head, _, rest = text.lstrip().partition("\n\n")
    lines = head.splitlines()
    if lines and lines[0].startswith("PEP:") and all(
            _HEADER_LINE.match(line) or line[:1].isspace() for line in lines):
        return rest
    return text


def _problematic_text(raw: str) -> str:
    """The words of markup docutils did not know (``:ref:`the grammar <grammar>```)."""
    words = _ROLE.sub(lambda m: _TARGET.sub("", m.group(1)), raw)
    return words.replace("`", "")


def _inline_text(node: nodes.Node, code: list[str]) -> str:
    if isinstance(node, nodes.Text):
        return str(node)
    if isinstance(node, _SKIPPED):
        return _GAP
    if isinstance(node, nodes.problematic):
        return _problematic_text(node.astext())
    if isinstance(node, nodes.literal):
        code.append(" ".join(node.astext().split()))
    return "".join(_inline_text(child, code) for child in node.children)


def _in_prose(node: nodes.Node) -> bool:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, _NOT_PROSE):
            return False
        parent = parent.parent
    return True


def rst_paragraphs(text: str) -> list[tuple[str, list[str]]]:
    """Each paragraph of ``text``, in order, whitespace collapsed, with the inline
    literals (````code````) it quotes."""
    settings = dict(_SETTINGS, warning_stream=StringIO())
    doctree = publish_doctree(_without_header(text), settings_overrides=settings)
    paragraphs = []
    for paragraph in doctree.findall(nodes.paragraph):
        if _in_prose(paragraph):
            code: list[str] = []
            words = " ".join(_CLOSE_GAP.sub("", _inline_text(paragraph, code)).split())
            if words:
                paragraphs.append((words, code))
    return paragraphs
