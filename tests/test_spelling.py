"""Two slips in a long word, read as the corpus spells it (retrieval/spelling.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from retrieval import build as build_module
from retrieval import spelling
from retrieval.answer import answer
from retrieval.engines import RankingConfig
from retrieval.index import Index
from retrieval.spelling import Spellings, kept_spellings, long_words


def build(tmp_path: Path, *paragraphs: str, name: str = "doc.txt") -> Index:
    (tmp_path / name).write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return Index.build_folder(tmp_path, RankingConfig())


def test_only_long_words_of_plain_letters_are_kept() -> None:
    assert long_words(["combinator", "short", "x86_64abc", "überlong", "monomorphization"]) == {
        "combinator", "monomorphization"
    }


def test_near_finds_corpus_words_two_edits_away() -> None:
    found = Spellings(["combinator", "monomorphization", "government"])
    assert found.near("combunatro") == ["combinator"]  # a replacement and a swap
    assert found.near("monomrophizaton") == ["monomorphization"]
    assert found.near("gvernmnt") == ["government"]  # two letters dropped
    assert found.near("compilation") == []  # three edits or more from each
    assert found.near("gvrnmt") == []  # too short to hold two slips
    assert Spellings().near("combunatro") == []


def test_a_huge_corpus_keeps_its_most_frequent_long_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spelling, "MAX_SPELLINGS", 2)
    words = {"aaaaaaaaa", "bbbbbbbbb", "ccccccccc"}
    counts = {"aaaaaaaaa": 1, "bbbbbbbbb": 9, "ccccccccc": 5}
    assert kept_spellings(words, lambda found: [counts[w] for w in found]) == [
        "bbbbbbbbb", "ccccccccc"
    ]
    assert kept_spellings({"aaaaaaaaa"}, lambda found: [0] * len(found)) == ["aaaaaaaaa"]


def test_two_slips_in_a_corpus_word_are_read_as_it(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        "Garry Tan ran the startup accelerator Y Combinator when it first backed Scale.",
        "Scale later raised money from other investors.",
    )
    assert "combinator" in index.spellings.words
    terms = index.terms("who was running y combunatro when it backed scale")
    assert terms.corrections == {"combunatro": "combinator"}
    assert not terms.missing
    a = answer(index, "who was running y combunatro when it backed scale")
    assert a.answered and "Garry Tan" in a.passages[0].marked


def test_markdown_words_are_kept_too(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        "# Generics\n\nMonomorphization turns generic code into specific code at compile time.",
        name="generics.md",
    )
    assert index.terms("what is monomrophizaton").corrections == {
        "monomrophizaton": "monomorphization"
    }


def test_of_two_far_readings_the_one_the_question_goes_with_wins(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        "The adapters convert each workload's events into metrics.",
        "Early adopters of the scheduler wrote the first guides.",
    )
    # "axxpters" is two edits from both "adapters" and "adopters".
    assert set(index.spellings.near("axxpters")) == {"adapters", "adopters"}
    assert index.terms("how do the axxpters convert events").corrections == {
        "axxpters": "adapters"
    }
    # With nothing else to go by, neither reading is taken.
    assert index.terms("axxpters").corrections == {}


def test_a_corpus_of_random_strings_keeps_a_bounded_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spelling, "MAX_SPELLINGS", 20)
    rng = random.Random(7)
    folder = tmp_path / "noise"
    folder.mkdir()
    letters = "abcdefghijklmnopqrstuvwxyz"
    for n in range(4):
        lines = [
            " ".join("".join(rng.choice(letters) for _ in range(10)) for _ in range(30))
            for _ in range(5)
        ]
        (folder / f"noise{n}.txt").write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    index = Index.build_folder(folder, RankingConfig(), workers=1)
    assert len(index.spellings) == 20  # of 600 distinct long words
    assert len(index.passages) == 20  # the text itself is all there
    # Gathering stops at its own cap, before the most frequent are chosen.
    monkeypatch.setattr(build_module, "MAX_GATHERED", 7)
    monkeypatch.setattr(spelling, "MAX_SPELLINGS", 1000)
    assert len(Index.build_folder(folder, RankingConfig(), workers=1).spellings) == 7


def test_an_added_prefix_is_no_slip(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        "Backups are encrypted at rest with AES before they are uploaded.",
        "The installation takes five minutes.",
    )
    terms = index.terms("can backups be uploaded unencrypted")
    assert terms.corrections == {} and terms.missing == ["unencrypted"]
    assert not answer(index, "how long does the uninstallation take").answered


def test_the_deletion_index_is_built_once_and_whole_across_threads() -> None:
    import threading

    letters = "abcdefghijklmnopqrstuvwxyz"
    filler = [
        "qq" + "".join(letters[(n // 26**k) % 26] for k in range(3)) + "wwwwww"
        for n in range(2000)
    ]
    found = Spellings([*filler, "zzcombinator"])
    results: list[list[str]] = []
    threads = [
        threading.Thread(target=lambda: results.append(found.near("zzcombunator")))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [["zzcombinator"]] * 4
