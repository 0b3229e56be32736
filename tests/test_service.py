"""The chat-agnostic library on a corpus of nested folders: finding files by path, base name,
path tail or citation, line numbers, autocomplete and the folder listings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.render import render_listing, render_source
from bot.service import (
    CHOICE_CHARS,
    CHOICES,
    TOP_LEVEL,
    Ambiguous,
    BadLine,
    Catalog,
    FileList,
    Folder,
    FolderSummary,
    Library,
    NoFolder,
    NotFound,
    PastTheEnd,
    clean_name,
    parse_line,
)
from bot.settings import Settings
from retrieval.corpus import Passage
from tests.nestedcorpus import INSTALL, NOTES, write

# One-line paragraphs with blank lines between them (as in tests/nestedcorpus.py).
GUIDE_INDEX = [
    "# Guide",
    "",
    "The harbour ferry guide explains the morning crossing in detail.",
    "",
    "Boarding starts at the north pier at seven every weekday morning.",
]
API_INDEX = [
    "# API",
    "",
    "The timetable service returns every ferry departure as a list.",
    "",
    "Each request needs a token issued by the harbour office.",
]


def nested_corpus(root: Path) -> Path:
    write(root, "guide/index.md", GUIDE_INDEX)
    write(root, "api/index.md", API_INDEX)
    write(root, "guide/install.md", INSTALL)
    write(root, "guide/deep/v2/install-notes.md", ["The second version adds a night ferry."])
    write(root, "notes.txt", NOTES)
    return root


def make_library(corpus: Path, **overrides: Any) -> Library:
    values: dict[str, Any] = {"corpus": corpus, "cache_dir": None, **overrides}
    library = Library(Settings(_env_file=None, **values))  # type: ignore[call-arg]
    library.load()
    return library


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    return make_library(nested_corpus(tmp_path_factory.mktemp("nested")))


def passage(found: object) -> Passage:
    assert isinstance(found, Passage), found
    return found


# -- files by path, base name, tail and citation ---------------------------------------------


def test_files_are_named_by_their_path_from_the_corpus_folder(library: Library) -> None:
    assert set(library.files()) == {
        "api/index.md", "guide/index.md", "guide/install.md", "guide/deep/v2/install-notes.md",
        "notes.txt",
    }


@pytest.mark.parametrize(
    ("name", "line", "expected"),
    [
        ("guide/index.md", "3", "harbour ferry guide"),
        ("guide/index.md", 5, "Boarding starts"),
        ("install.md", "5", "sign in with the token"),
        ("install.md:5", None, "sign in with the token"),
        ("guide/install.md:5-7", None, "sign in with the token"),
        ("`guide/install.md:7`", None, "Updates arrive"),
        ("./guide//install.md", "3", "which pier"),
        ("v2/install-notes.md", None, "night ferry"),
        ("GUIDE/Install.MD", "3", "which pier"),
        ("notes.txt", None, "bicycles"),
    ],
)
def test_a_file_is_found_by_path_base_name_tail_or_citation(
    library: Library, name: str, line: str | int | None, expected: str
) -> None:
    assert expected in passage(library.source(name, line)).text


def test_a_line_argument_wins_over_the_line_in_a_citation(library: Library) -> None:
    assert "which pier" in passage(library.source("install.md:5", "3")).text


def test_a_line_between_passages_shows_the_next_one(library: Library) -> None:
    found = passage(library.source("guide/install.md", "4"))
    assert "sign in with the token" in found.text


def test_a_shared_base_name_lists_the_candidates(library: Library) -> None:
    found = library.source("index.md")
    assert found == Ambiguous("index.md", ("api/index.md", "guide/index.md"))
    text = render_source(found)
    assert text.splitlines() == [
        "`index.md` matches 2 files; give its path:", "`api/index.md`", "`guide/index.md`",
    ]
    # A citation with an ambiguous base name is ambiguous too, not "no such file".
    assert isinstance(library.source("index.md:3"), Ambiguous)


def test_many_candidates_are_cut_after_ten() -> None:
    catalog = Catalog((f"part{n:02d}/index.md", 1, 1) for n in range(14))
    candidates = tuple(catalog.lookup("index.md"))
    assert len(candidates) == 14
    lines = render_source(Ambiguous("index.md", candidates)).splitlines()
    assert lines[1:11] == [f"`part{n:02d}/index.md`" for n in range(10)]
    assert lines[11:] == ["… and 4 more"]


@pytest.mark.parametrize(
    "name",
    [
        "../.env", "/etc/passwd", "guide/../api/index.md", "..", "guide\\index.md",
        "\\etc\\passwd", "guide/index.md\x00", "", "   ", "nope.md", "index", "uide/index.md",
    ],
)
def test_unknown_or_refused_names_are_not_found(library: Library, name: str) -> None:
    assert library.source(name) == NotFound(name)
    assert render_source(NotFound(name)).startswith("No such file in the corpus")


@pytest.mark.parametrize(
    "line", ["-1", "0", "000", "abc", "²", "٣", "3a", "1" * 5000, "9" * 10, "3-", "-", -4, 0]
)
def test_a_line_that_is_not_a_number_from_one_gets_one_clear_line(
    library: Library, line: str | int
) -> None:
    found = library.source("guide/install.md", line)
    assert found == BadLine("guide/install.md", 7)
    text = render_source(found)
    assert text == "The line must be a number from 1 to 7 in `guide/install.md`."


def test_a_bad_line_in_a_citation_is_said_too(library: Library) -> None:
    assert library.source("install.md:²") == BadLine("guide/install.md", 7)
    assert library.source("install.md:-1") == BadLine("guide/install.md", 7)


def test_a_line_past_the_end_says_where_the_file_ends(library: Library) -> None:
    found = library.source("install.md", "99")
    assert found == PastTheEnd("guide/install.md", 99, 7)
    assert render_source(found) == (
        "`guide/install.md` has no passage at line 99 (it has lines up to 7)."
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("7", 7), ("007", 7), (" 12 ", 12), ("3-9", 3), (7, 7), ("123456789", 123456789),
     ("1234567890", None), ("", None), ("1.5", None), ("1e3", None), ("+3", None)],
)
def test_parse_line_accepts_only_ascii_digits(spec: str | int, expected: int | None) -> None:
    assert parse_line(spec) == expected


def test_clean_name_normalises_and_refuses() -> None:
    assert clean_name(" ./guide//index.md ") == "guide/index.md"
    assert clean_name("`api/index.md`") == "api/index.md"
    for bad in ("/abs", "a/../b", "a\\b", "a\nb", ""):
        assert clean_name(bad) is None


# -- autocomplete ------------------------------------------------------------------------


def test_autocomplete_puts_path_prefixes_then_base_names_then_substrings(
    library: Library,
) -> None:
    assert library.complete_file("guide/in") == [
        "guide/index.md", "guide/install.md",
    ]
    # "in" starts no path; it starts base names, then is found inside other paths.
    assert library.complete_file("in") == [
        "api/index.md", "guide/deep/v2/install-notes.md", "guide/index.md", "guide/install.md",
    ]
    assert library.complete_file("notes") == ["notes.txt", "guide/deep/v2/install-notes.md"]
    assert library.complete_file("V2/") == ["guide/deep/v2/install-notes.md"]
    assert library.complete_file("install.md:5") == ["guide/install.md:5"]
    assert library.complete_file("zzz") == []


def test_a_path_too_long_for_a_choice_is_offered_by_a_unique_tail() -> None:
    long_dir = "a-very-long-folder-name-for-the-reference-manual/" * 3
    spans = [(f"docs/page{n:03d}.md", 1, 1) for n in range(40)]
    spans += [(long_dir + "unique-page.md", 1, 1), ("x/" + long_dir + "index.md", 1, 1),
              ("y/" + long_dir + "index.md", 1, 1)]
    catalog = Catalog(spans)
    # The longest tail that fits and names only that file.
    tail = "a-very-long-folder-name-for-the-reference-manual/unique-page.md"
    assert catalog.short_name(long_dir + "unique-page.md", CHOICE_CHARS) == tail
    assert catalog.lookup(tail) == [long_dir + "unique-page.md"]
    # Two files share every tail that fits: no value could name one of them.
    assert catalog.short_name("x/" + long_dir + "index.md", CHOICE_CHARS) is None


def test_autocomplete_offers_at_most_25_values(tmp_path: Path) -> None:
    for n in range(40):
        write(tmp_path, f"docs/page{n:03d}.md", [f"Page {n} tells about ferry number {n}."])
    values = make_library(tmp_path).complete_file("")
    assert len(values) == CHOICES
    assert all(len(v) <= CHOICE_CHARS for v in values)


# -- sources -----------------------------------------------------------------------------


def test_sources_without_a_folder_summarises_the_top_level(library: Library) -> None:
    summary = library.sources()
    assert isinstance(summary, FolderSummary)
    by_name = {f.name: f for f in summary.folders}
    assert set(by_name) == {"api", "guide", TOP_LEVEL}
    assert (by_name["guide"].files, by_name[TOP_LEVEL].files) == (3, 1)
    assert by_name["guide"].passages == sum(
        n for f, n in library.files().items() if f.startswith("guide/")
    )


def test_sources_of_a_folder_lists_its_files_at_any_depth(library: Library) -> None:
    listing = library.sources("guide")
    assert isinstance(listing, FileList)
    assert set(listing.files) == {
        "guide/index.md", "guide/install.md", "guide/deep/v2/install-notes.md",
    }
    for typed in ("guide/", "/guide", "`guide`", "Guide"):
        assert library.sources(typed) == listing
    deep = library.sources("guide/deep")
    assert isinstance(deep, FileList) and list(deep.files) == ["guide/deep/v2/install-notes.md"]
    top = library.sources(".")
    assert isinstance(top, FileList) and list(top.files) == ["notes.txt"]
    assert library.sources("(top level)") == top


@pytest.mark.parametrize("folder", ["nope", "../guide", "guide/index.md", "gui", "\\guide"])
def test_an_unknown_folder_is_said(library: Library, folder: str) -> None:
    found = library.sources(folder)
    assert found == NoFolder(folder)
    assert render_listing(found).startswith("No folder `")


def test_a_corpus_without_folders_lists_its_files(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", ["The ferry leaves at noon on Sundays."])
    write(tmp_path, "b.md", ["The ferry is free for children under five."])
    listing = make_library(tmp_path).sources()
    assert isinstance(listing, FileList) and set(listing.files) == {"a.txt", "b.md"}
    assert render_listing(listing).splitlines()[0] == "2 files in the corpus, 2 passages:"


def test_folder_counts_come_from_the_catalog() -> None:
    catalog = Catalog([("a/x.md", 1, 2), ("a/x.md", 4, 4), ("a/b/y.md", 1, 1), ("z.txt", 1, 9)])
    assert catalog.folders() == [Folder(TOP_LEVEL, 1, 1), Folder("a", 2, 3)]
    assert catalog.info["a/x.md"].last_line == 4
    assert catalog.under("a") == {"a/b/y.md": 1, "a/x.md": 2}


async def test_reload_refreshes_the_catalog(tmp_path: Path) -> None:
    write(tmp_path, "guide/a.md", ["The ferry leaves at noon on Sundays."])
    library = make_library(tmp_path)
    assert library.resolve_file("b.md") == []
    write(tmp_path, "api/b.md", ["The ferry is free for children under five."])
    assert (await library.reload()).ok
    assert library.resolve_file("b.md") == ["api/b.md"]
    assert isinstance(library.sources(), FolderSummary)
