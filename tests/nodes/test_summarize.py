"""Chunking and extractive summarization on real text: standard-library module docstrings."""

from __future__ import annotations

import importlib

import pytest

from nodes.analysis.summarize import (
    extractive_summary,
    hierarchical_summary,
    merge_summaries,
    split_into_chunks,
    split_paragraphs,
    split_sentences,
)

# Long, varied docstrings that ship with every CPython (none needs a GUI or network).
MODULES = ["argparse", "socketserver", "json", "csv", "heapq", "http.cookies", "re", "pdb"]


@pytest.fixture(scope="module")
def corpus() -> str:
    docs = [importlib.import_module(name).__doc__ or "" for name in MODULES]
    text = "\n\n".join(doc for doc in docs if doc)
    assert len(text) > 10_000
    return text


@pytest.fixture(scope="module")
def source_sentences(corpus: str) -> set[str]:
    return set(split_sentences(corpus))


def test_sentences_are_split_on_terminal_punctuation_but_not_abbreviations() -> None:
    text = (
        "Dr. Smith arrived, e.g. at noon. Was it late? Yes! J. R. R. Tolkien wrote it.\n\nNew para"
    )
    assert split_sentences(text) == [
        "Dr. Smith arrived, e.g. at noon.",
        "Was it late?",
        "Yes!",
        "J. R. R. Tolkien wrote it.",
        "New para",
    ]


def test_lowercase_after_a_period_does_not_start_a_sentence() -> None:
    assert split_sentences("Call obj.method. then stop. Next one.") == [
        "Call obj.method. then stop.",
        "Next one.",
    ]


def test_chunks_respect_the_limit_and_keep_every_word_in_order(corpus: str) -> None:
    for limit in (200, 1000, 5000):
        chunks = split_into_chunks(corpus, limit)
        assert all(0 < len(chunk) <= limit for chunk in chunks)
        # No word is ever cut in two: re-joining the chunks gives the same word sequence.
        assert " ".join(chunks).split() == corpus.split()


def test_chunks_end_on_paragraph_boundaries_when_paragraphs_fit(corpus: str) -> None:
    paragraphs = split_paragraphs(corpus)
    limit = max(len(p) for p in paragraphs)
    for chunk in split_into_chunks(corpus, limit):
        assert all(part in paragraphs for part in chunk.split("\n\n"))


def test_long_paragraph_is_split_between_sentences() -> None:
    paragraph = " ".join(f"Sentence number {i} is here." for i in range(30))
    chunks = split_into_chunks(paragraph, 100)
    assert len(chunks) > 1
    assert all(chunk.endswith("here.") for chunk in chunks)


def test_only_a_word_longer_than_the_limit_is_cut() -> None:
    chunks = split_into_chunks("short " + "x" * 25 + " tail", 10)
    assert chunks == ["short", "xxxxxxxxxx", "xxxxxxxxxx", "xxxxx tail"]


def test_chunk_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        split_into_chunks("text", 0)


@pytest.mark.parametrize("limit", [300, 1000, 3000])
def test_summary_fits_the_limit_and_is_made_of_source_sentences(
    corpus: str, source_sentences: set[str], limit: int
) -> None:
    summary = extractive_summary(corpus, limit)
    assert 0 < len(summary) <= limit
    picked = split_sentences(summary)
    assert picked and all(sentence in source_sentences for sentence in picked)


def test_summary_keeps_the_original_sentence_order(corpus: str) -> None:
    order = {sentence: i for i, sentence in reversed(list(enumerate(split_sentences(corpus))))}
    positions = [order[s] for s in split_sentences(extractive_summary(corpus, 2000))]
    assert positions == sorted(positions)


def test_summary_is_deterministic(corpus: str) -> None:
    assert extractive_summary(corpus, 1500) == extractive_summary(corpus, 1500)


def test_summary_is_not_just_the_beginning_of_the_text(corpus: str) -> None:
    summary = extractive_summary(corpus, 1500)
    assert not corpus.startswith(summary[:200])
    # It draws on more than one of the concatenated docstrings.
    docs = [importlib.import_module(name).__doc__ or "" for name in MODULES]
    sources = {
        i for s in split_sentences(summary) for i, d in enumerate(docs) if s in split_sentences(d)
    }
    assert len(sources) >= 2


def test_summary_prefers_topical_sentences_over_short_fragments() -> None:
    text = (
        "Caching speeds up repeated queries to the database. "
        "The cache stores query results keyed by the query text. "
        "Note! "
        "When the database changes, cached query results are invalidated. "
        "Weather was nice."
    )
    summary = extractive_summary(text, 120)
    assert "query" in summary and "Weather" not in summary and "Note!" not in summary


def test_text_that_already_fits_is_returned_whole() -> None:
    text = "First sentence here. Second one.\n\nAnother paragraph."
    assert extractive_summary(text, 1000) == text


def test_single_sentence_longer_than_limit_is_cut_at_a_word_boundary() -> None:
    summary = extractive_summary("An extraordinarily long sentence without any break at all.", 20)
    assert len(summary) <= 20 and summary.endswith("\u2026")
    assert "An extraordinarily long sentence".startswith(summary[:-1])


def test_blank_text_summarizes_to_empty_string() -> None:
    assert extractive_summary("  \n\n ", 50) == ""


def test_merge_keeps_order_and_drops_repeated_sentences() -> None:
    merged = merge_summaries(["Alpha one. Beta two.", "", "Beta two. Gamma three.\n\nDelta four."])
    assert merged == "Alpha one. Beta two.\n\nGamma three.\n\nDelta four."


def test_hierarchical_summary_fits_and_uses_only_source_sentences(
    corpus: str, source_sentences: set[str]
) -> None:
    summary = hierarchical_summary(corpus, 1200, chunk_chars=3000)
    assert 0 < len(summary) <= 1200
    assert all(s in source_sentences for s in split_sentences(summary))
    assert summary == hierarchical_summary(corpus, 1200, chunk_chars=3000)
