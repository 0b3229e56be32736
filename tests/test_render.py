"""Discord rendering of answers built from real corpora."""

from __future__ import annotations

from pathlib import Path

from bot.render import LIMIT, render_answer, render_passage, render_sources
from retrieval.answer import answer
from retrieval.corpus import load_corpus
from retrieval.engines import RankingConfig
from retrieval.index import Index

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def seeds_index() -> Index:
    return Index.build(load_corpus(SEEDS), RankingConfig())


def test_answer_has_quote_bold_sentence_and_code_citation() -> None:
    text = render_answer(answer(seeds_index(), "who is Scale's interim CEO?"))
    first = text.splitlines()[0]
    assert first.startswith("> ")
    assert "**Jason Droege" in first and "interim CEO.**" in first
    assert "[1] `004_bbdec2aa2fae0f2f.txt:9`" in text


def test_not_found_is_said_and_closest_passages_are_labelled() -> None:
    text = render_answer(answer(seeds_index(), "who won the 2018 FIFA world cup"))
    assert text.startswith("I couldn't find that in the documents.")
    if "> " in text:
        assert "Closest passages (not an answer):" in text


def test_sources_differ_note_cites_both_sides() -> None:
    text = render_answer(answer(seeds_index(), "How much did Meta invest in Scale AI?"))
    note = next(line for line in text.splitlines() if "sources differ" in line)
    assert "$14.3 billion" in note and "$14.8 billion" in note
    assert "`002_d7c87949017108c3.txt:14`" in note


def test_markdown_and_mentions_in_the_corpus_are_defused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text(
        "The launch party is **mandatory** for @everyone and <@123> on the platform team.\n"
        "The budget for the platform team is __secret__ this year.\n",
        encoding="utf-8",
    )
    index = Index.build(load_corpus(tmp_path), RankingConfig())
    text = render_answer(answer(index, "who must attend the launch party"))
    assert "@everyone" not in text and "<@123>" not in text
    assert "\\*\\*mandatory\\*\\*" in text


def test_long_paragraphs_stay_under_the_limit_with_every_citation(tmp_path: Path) -> None:
    filler = " ".join(f"The committee reviewed budget item {n} at length." for n in range(300))
    lines = [f"Paragraph {i} about the quarterly budget review. {filler}" for i in range(5)]
    (tmp_path / "long.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    index = Index.build(load_corpus(tmp_path), RankingConfig())
    a = answer(index, "quarterly budget review committee")
    assert len(a.passages) == 3
    for limit in (LIMIT, 500, 300):
        text = render_answer(a, limit=limit)
        assert len(text) <= limit
        for p in a.passages:
            assert f"`{p.citation}`" in text


def test_passage_and_sources_render_within_limit() -> None:
    index = seeds_index()
    text = render_passage(index.find("004_bbdec2aa2fae0f2f.txt")[0])
    assert text.endswith("`004_bbdec2aa2fae0f2f.txt:1`")
    files = {f"file_{n:04d}.txt": n for n in range(500)}
    listing = render_sources(files)
    assert len(listing) <= LIMIT and "more" in listing.splitlines()[-1]
