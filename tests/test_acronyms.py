"""Acronyms and spelled-out forms as one group of alternatives: found both ways, defined by
the corpus or the generic table, and never credited twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.acronyms import expansion_in
from retrieval.answer import answer, read_as
from retrieval.engines import RankingConfig
from retrieval.index import Index


@pytest.mark.parametrize(
    ("acronym", "text", "expected"),
    [
        ("slo", "Each Service Level Objective (SLO) has a target.", "Service Level Objective"),
        ("slo", "An SLO (service level objective) has a target.", "service level objective"),
        ("wal", "Samples go to the write-ahead log (WAL) first.", "write ahead log"),
        ("bls", "Per the Bureau of Labor Statistics (BLS):", "Bureau of Labor Statistics"),
        ("tsdb", "Prometheus has a Time Series Database (TSDB) inside.", "Time Series Database"),
        ("toml", "It is in the TOML (Tom’s Obvious, Minimal Language) format.",
         "Tom's Obvious Minimal Language"),
        ("ok", "Run it again (ok) to finish.", None),
        ("dog", "The big red dog (dog) barks.", None),  # one word is no phrase
        ("api", "See the reference docs (API).", None),
    ],
)
def test_definitions_are_read_in_both_orders(acronym: str, text: str, expected: str) -> None:
    assert expansion_in(acronym, text) == expected


def index_of(folder: Path, markdown: str) -> Index:
    """The index of a folder holding one Markdown page."""
    (folder / "page.md").write_text(markdown, encoding="utf-8")
    return Index.build_folder(folder, RankingConfig())


@pytest.fixture
def slo_docs(tmp_path: Path) -> Path:
    (tmp_path / "slo.md").write_text(
        "# Reliability\n\n"
        "Every Service Level Objective (SLO) belongs to exactly one owning team here.\n\n"
        "A service level objective is measured over a rolling window of thirty days.\n\n"
        "The SLO is checked daily by the whole team on call.\n\n"
        "The SLO service level objective checked hourly.\n\n"
        "Error budgets burn down when requests fail.\n",
        encoding="utf-8",
    )
    return tmp_path


def test_an_acronym_asked_finds_the_spelled_out_passage(slo_docs: Path) -> None:
    index = Index.build_folder(slo_docs, RankingConfig())
    a = answer(index, "over what window is an SLO measured?")
    assert a.answered
    assert a.passages[0].quote.startswith("A service level objective is measured")


def test_a_spelled_out_phrase_asked_finds_the_acronym_passage(slo_docs: Path) -> None:
    index = Index.build_folder(slo_docs, RankingConfig())
    terms = index.terms("how often is the service level objective checked daily")
    assert [(g.own, g.others) for g in terms.groups] == [
        (("servic", "level", "object"), (("slo",),))
    ]
    found = [h.passage.text for h in index.search(terms, 3)]
    assert "The SLO is checked daily by the whole team on call." in found


def test_a_passage_with_both_forms_is_not_credited_twice(slo_docs: Path) -> None:
    index = Index.build_folder(slo_docs, RankingConfig())
    terms = index.terms("slo")
    scores = index.scores(terms)
    by_text = {index.passages[i].text: float(scores[i]) for i in range(len(index.passages))}
    acronym_only = by_text["The SLO is checked daily by the whole team on call."]
    both = by_text["The SLO service level objective checked hourly."]
    spelled_only = by_text[
        "A service level objective is measured over a rolling window of thirty days."
    ]
    # Same length and counts in the text: holding the other form as well adds nothing.
    assert both == pytest.approx(acronym_only)
    # The spelled-out form alone counts, as the acronym would.
    assert 0 < spelled_only <= acronym_only


def test_the_generic_table_links_forms_the_corpus_has_both_of(tmp_path: Path) -> None:
    index = index_of(
        tmp_path,
        "# People\n\nThe chief executive officer is Dana Reyes, since March.\n\n"
        "The CEO signs every contract above one million.\n\n"
        "Lunch is served at noon in the canteen.\n",
    )
    a = answer(index, "who is the ceo?")
    assert a.answered
    assert "Dana Reyes" in a.passages[0].marked


def test_two_words_the_corpus_writes_as_one_find_it(tmp_path: Path) -> None:
    index = index_of(
        tmp_path,
        "# Pushing\n\nThe Pushgateway never forgets series pushed to it.\n\n"
        "A gateway sits at the edge of the network.\n\n"
        "Push notifications go out every hour.\n",
    )
    terms = index.terms("does the push gateway forget old series")
    assert [(g.own, g.others) for g in terms.groups] == [(("push", "gateway"), (("pushgateway",),))]
    assert answer(index, "does the push gateway forget old series").passages[0].text.startswith(
        "The Pushgateway"
    )


def test_an_acronym_plural_and_small_word_initials(tmp_path: Path) -> None:
    index = index_of(
        tmp_path,
        "# Caching\n\nEach record has a time to live (TTL) set by its owner.\n\n"
        "The TTL of a negative answer is five minutes here.\n\n"
        "Every Service Level Objective (SLO) belongs to one team.\n\n"
        "Log level is set to debug for the service.\n",
    )
    asked = index.terms("how long is the time to live of a negative answer")
    assert [g.others for g in asked.groups] == [(("ttl",),)]
    plural = index.terms("who owns our SLOs")
    assert not plural.missing and [g.own for g in plural.groups] == [("slo",)]
    # A passage with some words of a spelled-out form and not the acronym matches nothing.
    cited = {h.passage.text for h in index.search(index.terms("who owns the slo"), 10)}
    assert "Log level is set to debug for the service." not in cited


def test_a_group_whose_asked_word_the_corpus_lacks(tmp_path: Path) -> None:
    index = index_of(
        tmp_path,
        "# People\n\nHer nickname was Ace, given at school.\n\nThe name on the door is Reyes.\n",
    )
    terms = index.terms("what was her nick name")
    assert [(g.own, g.others) for g in terms.groups] == [(("nick", "name"), (("nicknam",),))]
    assert answer(index, "what was her nick name").passages[0].text.startswith("Her nickname")


@pytest.mark.parametrize(
    "question",
    ["what does TOML stand for?", "toml stands for", "what is toml short for",
     "meaning of TOML"],
)
def test_what_an_acronym_stands_for_is_answered_by_its_definition(
    tmp_path: Path, question: str
) -> None:
    # Pages that use the acronym come first in the folder: the definition is found anyway,
    # though it shares no other word with the question.
    for n in range(40):
        (tmp_path / f"a{n:02}.md").write_text(
            f"# Manifest {n}\n\nEdit the TOML manifest number {n} to add a dependency.\n",
            encoding="utf-8",
        )
    (tmp_path / "z.md").write_text(
        "# Cargo\n\nThis file is in the TOML (Tom’s Obvious, Minimal Language) format.\n",
        encoding="utf-8",
    )
    a = answer(Index.build_folder(tmp_path, RankingConfig()), question)
    assert a.answered
    assert a.passages[0].file == "z.md"
    assert "Obvious, Minimal Language" in a.passages[0].marked


def test_a_word_that_is_no_acronym_is_not_looked_up_as_one(slo_docs: Path) -> None:
    index = Index.build_folder(slo_docs, RankingConfig())
    assert index.defining_passage("budget") is None
    assert index.defining_passage("slo") is not None


def test_a_slip_in_the_question_form_is_read_as_corrected(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "# Options\n\nThe strict flag stands out among the options of the TOML manifest.\n",
        encoding="utf-8",
    )
    (tmp_path / "z.md").write_text(
        "# Cargo\n\nThis file is in the TOML (Tom’s Obvious, Minimal Language) format.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    assert index.terms("toml stnads for").corrections == {"stnads": "stands"}
    a = answer(index, "toml stnads for")
    assert a.answered and a.passages[0].file == "z.md"
    assert read_as("TOML stnads for?", {"stnads": "stands"}) == "TOML stands for?"
