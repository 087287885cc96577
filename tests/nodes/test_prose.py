"""Prose out of real documents of three kinds, and summaries made of it.

Fixtures (tests/nodes/fixtures/, see its README): two Markdown documents (the
project's seed design document, a snapshot of this README), PEP 257 in
reStructuredText (public domain), and the first chapter of Pride and Prejudice as
plain text (public domain).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nodes.analysis import detect_format, prose_text, summarize_document
from nodes.analysis.prose import is_whole_sentence, prose_paragraphs
from tests.nodes.prose_oracle import assert_prose_summary

FIXTURES = Path(__file__).parent / "fixtures"
DOCUMENTS = [("design_document.md", "markdown"), ("actorflow_readme.md", "markdown"),
             ("pep-0257.rst", "rst"), ("pride_and_prejudice_chapter_1.txt", "text")]


def read(name: str) -> str:
    return (FIXTURES / name).read_text()


@pytest.mark.parametrize(("name", "kind"), DOCUMENTS)
def test_the_format_of_each_kind_of_document_is_detected(name: str, kind: str) -> None:
    assert detect_format(read(name)) == kind


@pytest.mark.parametrize(("name", "kind"), DOCUMENTS)
@pytest.mark.parametrize("limit", [300, 800, 2000])
def test_a_summary_is_whole_prose_sentences_of_the_source_within_the_limit(
        name: str, kind: str, limit: int) -> None:
    source = read(name)
    sentences = assert_prose_summary(summarize_document(source, limit), source, kind, limit)
    assert sentences


def test_the_design_documents_first_20000_characters_summarize_without_fragments() -> None:
    source = read("design_document.md")[:20_000]
    summary = summarize_document(source, 1000)
    assert_prose_summary(summary, source, "markdown", 1000)
    # What the summarizer used to return for this very text (issue 17).
    assert "[API Design](#api-design)" not in summary and "API Design 9." not in summary
    assert "graph.add_node" not in summary and "# Add nodes" not in summary
    assert summary.startswith("This project implements a production-ready workflow "
                              "orchestration engine inspired by LangGraph")


def test_a_summary_opens_with_the_documents_opening_sentence() -> None:
    # PEP 257's abstract: what the PEP is about, though its words are not the commonest.
    summary = summarize_document(read("pep-0257.rst"), 600)
    assert summary.startswith("This PEP documents the semantics and conventions associated "
                              "with Python docstrings.")


def test_markdown_links_emphasis_and_inline_code_read_as_their_words() -> None:
    text = ("# Title\n\nThe **engine** runs [graphs](https://example.org/g) with `anyio` "
            "underneath, on either backend.\n\n| a | b |\n|---|---|\n| x | y |\n\n"
            "```python\ngraph.add_node('a')  # a comment that is code.\n```\n")
    assert prose_paragraphs(text, "markdown") == [
        "The engine runs graphs with anyio underneath, on either backend."]


def test_a_sentence_around_a_quoted_command_is_not_prose_but_one_naming_a_function_is() -> None:
    text = ("Run it with `actorflow run g.json --input '{}'` from the shell.\n\n"
            "The `Runtime.start` method returns a handle to the new run.")
    assert prose_text(text, "markdown") == "The Runtime.start method returns a handle to the new run."


def test_a_table_of_contents_is_not_prose() -> None:
    toc = "## Contents\n\n1. [Executive Summary](#executive-summary)\n2. [API Design](#api)\n"
    text = toc + "\nThis document describes the engine and its interfaces in detail.\n"
    assert prose_text(text, "markdown") == (
        "This document describes the engine and its interfaces in detail.")


def test_rst_literal_blocks_roles_and_footnotes_are_not_prose() -> None:
    text = ("Title\n=====\n\nUse the :pep:`8` style, as `the guide <https://x.org>`_ says "
            "[#]_.  For example::\n\n    def f(): return 1\n\n.. [#] A footnote is here.\n")
    assert prose_paragraphs(text, "rst") == [
        "Use the PEP 8 style, as the guide says. For example:"]
    assert prose_text(text, "rst") == "Use the PEP 8 style, as the guide says."


def test_a_peps_header_is_not_prose() -> None:
    assert "Docstring Conventions" not in prose_text(read("pep-0257.rst"), "rst")
    assert "goodger@python.org" not in prose_text(read("pep-0257.rst"), "rst")


@pytest.mark.parametrize("sentence", [
    "9.", "Expose REST API", "Pre-built workflows (code review, summarization, etc.)",
    "x = f(a, b) + g(c) * 2.", "a. Get current node b.", "Oh!",
    '"My dear Mr. Bennet," replied his wife, "how can you be so tiresome!',
    "1. String literals occurring right after a simple assignment are documented.",
    "The command line: actorflow serve | run GRAPH.json|NAME | graphs | runs.",
    "| The engine | runs graphs | as actors on anyio. |",
])
def test_fragments_are_not_whole_sentences(sentence: str) -> None:
    assert not is_whole_sentence(sentence)


@pytest.mark.parametrize("sentence", [
    "The engine provides a flexible, graph-based framework for workflows.",
    '"Do you not want to know who has taken it?" cried his wife impatiently.',
    "(These summaries generally give less detail than the summary line.)",
    "2025 was the year the engine shipped its first release.",
])
def test_whole_sentences_are_whole_sentences(sentence: str) -> None:
    assert is_whole_sentence(sentence)


def test_a_sentence_inside_an_open_quotation_is_not_picked_alone() -> None:
    text = ('"Oh! Single, my dear, to be sure! A single man of large fortune, indeed."\n\n'
            "Mr. Bennet made no answer to his wife.")
    assert prose_text(text, "text") == "Mr. Bennet made no answer to his wife."


def test_text_without_any_whole_sentence_keeps_its_paragraphs() -> None:
    assert prose_text("- fast\n- small\n", "markdown") == "fast\n\nsmall"


def test_an_unknown_format_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="auto, markdown, rst, text"):
        prose_text("Some text.", "html")
