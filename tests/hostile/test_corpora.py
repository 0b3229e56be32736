"""Hostile corpora (issue 11): binary files, a huge line, links out of the folder, names that
are not UTF-8, unreadable files and folders, files vanishing during a build. Nothing outside
the folder is read, nothing crashes, and every file left out is named in a warning."""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from retrieval import index as index_module
from retrieval import store
from retrieval.answer import answer
from retrieval.corpus import CorpusFiles, corpus_files
from retrieval.documents.windows import PASSAGE_CHARS
from retrieval.index import Index
from retrieval.store import cache_dir_for, load_or_build
from tests.hostile.faults import Deny
from tests.seedcorpus import CONFIG

GOOD = "The harbour of Zanzibar ships cloves to distant islands every week.\n"
SECRET = "The vault code of the Quokka bank is seven seven nine, said the spy.\n"
# `ask --json` of any question: three quotes of about 350 characters and their fields.
JSON_BOUND = 12_000


def make(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    return folder


def build(folder: Path) -> Index:
    return Index.build_folder(folder, CONFIG)


def warned(index: Index, name: str, why: str = "") -> bool:
    return any(w.startswith(f"{name}:") and why in w for w in index.stats.warnings)


def texts(index: Index) -> str:
    return "\n".join(p.text for p in index.passages)


# --- binary files ---------------------------------------------------------------------------

# An executable's start (NUL bytes within the first KB), then strings that look like words.
BINARY = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56 + b"harbour cloves spice islands. " * 400


@pytest.mark.parametrize("name", ["ls.txt", "image.md", "sub/archive.TXT"])
def test_a_binary_file_with_a_text_suffix_is_skipped_with_a_warning(
    tmp_path: Path, name: str
) -> None:
    index = build(make(tmp_path, {"good.txt": GOOD, name: BINARY}))
    assert index.files == ["good.txt"]
    assert warned(index, name, "binary")


# --- a huge line ----------------------------------------------------------------------------


def huge_line(chars: int) -> str:
    words = ["harbour", "cloves", "zanzibar", "ships", "market", "spice", "trader", "island"]
    rng = random.Random(chars)
    line = " ".join(rng.choice(words) for _ in range(chars // 7))
    return line[:chars]  # no newline, no sentence end


def string_lengths(value: Any) -> list[int]:
    if isinstance(value, str):
        return [len(value)]
    if isinstance(value, dict):
        return [n for item in value.values() for n in string_lengths(item)]
    if isinstance(value, list):
        return [n for item in value for n in string_lengths(item)]
    return []


def test_a_huge_single_line_is_cut_into_capped_passages_and_answers_stay_small(
    tmp_path: Path,
) -> None:
    sizes: list[int] = []
    for chars in (300_000, 3_000_000):
        folder = make(tmp_path / str(chars), {"good.txt": GOOD, "huge.txt": huge_line(chars)})
        index = build(folder)
        assert len(index.passages) > chars // PASSAGE_CHARS
        assert max(len(p.text) for p in index.passages) <= PASSAGE_CHARS
        found = answer(index, "which harbour ships cloves to the spice islands?")
        out = json.dumps(found.to_json())
        assert len(out) <= JSON_BOUND
        assert max(string_lengths(found.to_json())) <= PASSAGE_CHARS
        sizes.append(len(out))
    # Ten times the line, about the same answer: nothing in it grows with the line.
    assert sizes[1] <= 1.5 * sizes[0]


# --- links out of the folder ----------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    return make(tmp_path / "outside", {"secret.txt": SECRET, "dir/more.txt": SECRET})


def test_a_link_to_a_file_outside_the_folder_is_not_read(
    tmp_path: Path, outside: Path
) -> None:
    folder = make(tmp_path / "corpus", {"good.txt": GOOD})
    (folder / "link.txt").symlink_to(outside / "secret.txt")
    (folder / "relative.md").symlink_to(Path("..") / "outside" / "secret.txt")
    index = build(folder)
    assert index.files == ["good.txt"]
    assert "Quokka" not in texts(index)
    assert index.search("quokka vault code") == []
    assert warned(index, "link.txt", "outside the corpus folder")
    assert warned(index, "relative.md", "outside the corpus folder")


def test_a_linked_folder_outside_is_not_read_and_is_named(tmp_path: Path, outside: Path) -> None:
    folder = make(tmp_path / "corpus", {"good.txt": GOOD})
    (folder / "linked").symlink_to(outside / "dir", target_is_directory=True)
    (folder / "sub").mkdir()
    (folder / "sub" / "up").symlink_to(outside, target_is_directory=True)
    index = build(folder)
    assert index.files == ["good.txt"]
    assert warned(index, "linked", "outside the corpus folder")
    assert warned(index, "sub/up", "outside the corpus folder")


def test_a_link_out_added_to_a_cached_corpus_is_reported_by_the_next_start(
    tmp_path: Path, outside: Path
) -> None:
    folder = make(tmp_path / "corpus", {"good.txt": GOOD})
    cache = tmp_path / "cache"
    load_or_build(folder, CONFIG, cache)
    (folder / "link.txt").symlink_to(outside / "secret.txt")
    result = load_or_build(folder, CONFIG, cache)
    assert not result.loaded
    assert warned(result.index, "link.txt", "outside the corpus folder")
    again = load_or_build(folder, CONFIG, cache)
    assert again.loaded
    assert warned(again.index, "link.txt", "outside the corpus folder")


def test_links_inside_the_folder_are_read_once(tmp_path: Path) -> None:
    folder = make(
        tmp_path / "corpus",
        {
            "real.txt": GOOD,
            "sub/deep.txt": "Nutmeg comes from the Banda islands, the trader said.\n",
            "data/notes.log": "Pepper is weighed at the market before dawn, they said.\n",
        },
    )
    (folder / "alias.txt").symlink_to("real.txt")
    (folder / "zz-alias.txt").symlink_to(folder / "sub" / "deep.txt")
    (folder / "sub-link").symlink_to("sub", target_is_directory=True)
    (folder / "loop").symlink_to(".", target_is_directory=True)
    (folder / "notes.txt").symlink_to(Path("data") / "notes.log")
    (folder / "chain.txt").symlink_to("notes.txt")  # the same file: the first name is kept
    files = corpus_files(folder)
    assert [p.relative_to(folder).as_posix() for p in files] == [
        "chain.txt", "real.txt", "sub/deep.txt",
    ]
    assert files.warnings == []
    index = build(folder)
    assert index.files == ["chain.txt", "real.txt", "sub/deep.txt"]
    assert index.stats.warnings == []


def test_a_corpus_folder_given_through_a_link_is_read_as_usual(tmp_path: Path) -> None:
    folder = make(tmp_path / "real", {"good.txt": GOOD, "sub/deep.txt": SECRET})
    (tmp_path / "corpus").symlink_to(folder, target_is_directory=True)
    index = build(tmp_path / "corpus")
    assert index.files == ["good.txt", "sub/deep.txt"]
    assert index.stats.warnings == []


def test_a_file_swapped_for_a_link_out_after_the_listing_is_not_read(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make(tmp_path / "corpus", {"good.txt": GOOD, "later.txt": GOOD.upper()})

    def swapped(root: Path) -> CorpusFiles:
        listed = corpus_files(root)
        (root / "later.txt").unlink()
        (root / "later.txt").symlink_to(outside / "secret.txt")
        return listed

    monkeypatch.setattr(index_module, "corpus_files", swapped)
    index = build(folder)
    assert "Quokka" not in texts(index)
    assert warned(index, "later.txt", "outside the corpus folder")


# --- names that are not UTF-8 ---------------------------------------------------------------


def bytes_file(folder: Path, name: bytes, content: bytes) -> None:
    try:
        fd = os.open(os.fsencode(folder) + b"/" + name, os.O_CREAT | os.O_WRONLY, 0o644)
    except OSError as exc:  # e.g. a file system that only takes UTF-8 names
        pytest.skip(f"cannot create a non-UTF-8 file name here: {exc}")
    os.write(fd, content)
    os.close(fd)


@pytest.mark.skipif(sys.platform == "darwin", reason="APFS takes UTF-8 names only")
def test_a_file_name_that_is_not_utf8_is_indexed_under_a_printable_name(
    tmp_path: Path,
) -> None:
    folder = make(tmp_path / "corpus", {"good.txt": GOOD})
    bytes_file(folder, b"caf\xe9.txt", b"The caf\xe9 sells Quokka cakes every morning.\n")
    (folder / "sub").mkdir()
    bytes_file(folder / "sub", b"\xff\xfe tab\there.md", b"# Notes\n\nThe ferry leaves at dawn.\n")
    cache = tmp_path / "cache"
    first = load_or_build(folder, CONFIG, cache)
    for result in (first, load_or_build(folder, CONFIG, cache)):  # a reload from the cache
        index = result.index
        assert index.files == ["caf\ufffd.txt", "good.txt", "sub/\ufffd\ufffd tab\ufffdhere.md"]
        assert index.search("quokka cakes")[0].passage.citation == "caf\ufffd.txt:1"
        assert [p.text for p in index.find("caf\ufffd.txt")] == [
            "The caf\ufffd sells Quokka cakes every morning."
        ]
        assert index.search("ferry dawn")[0].passage.file == "sub/\ufffd\ufffd tab\ufffdhere.md"
        # The content's own bytes were not UTF-8 either: a warning whose name prints.
        assert [w.encode("utf-8") for w in index.stats.warnings]
        assert warned(index, "caf\ufffd.txt", "UTF-8")
    assert not first.loaded
    assert load_or_build(folder, CONFIG, cache).loaded
    files = json.loads((cache_dir_for(cache, folder) / "files.json").read_bytes())
    assert "caf\ufffd.txt" in files


def test_names_that_look_the_same_once_printable_are_listed_once(tmp_path: Path) -> None:
    folder = make(tmp_path / "corpus", {"good.txt": GOOD, "caf\ufffd.txt": GOOD.lower()})
    bytes_file(folder, b"caf\xe9.txt", b"The cafe sells Quokka cakes every morning.\n")
    index = build(folder)
    assert index.files == ["caf\ufffd.txt", "good.txt"]
    assert warned(index, "caf\ufffd.txt", "has this name")
    assert len(index.find("caf\ufffd.txt")) == 1


# --- unreadable files and folders -----------------------------------------------------------


def test_an_unreadable_file_is_skipped_with_a_warning(tmp_path: Path, deny: Deny) -> None:
    folder = make(tmp_path / "corpus", {"good.txt": GOOD, "secret.txt": SECRET})
    deny(folder / "secret.txt")
    index = build(folder)
    assert index.files == ["good.txt"]
    assert warned(index, "secret.txt", "cannot read it")


def test_an_unreadable_sub_folder_is_skipped_with_a_warning(tmp_path: Path, deny: Deny) -> None:
    folder = make(tmp_path / "corpus", {"good.txt": GOOD, "private/secret.txt": SECRET})
    deny(folder / "private")
    index = build(folder)
    assert index.files == ["good.txt"]
    assert warned(index, "private/", "cannot read the folder")


def test_an_unreadable_corpus_folder_is_one_line_error(tmp_path: Path, deny: Deny) -> None:
    folder = make(tmp_path / "corpus", {"good.txt": GOOD})
    deny(folder)
    with pytest.raises(Exception, match="cannot read corpus folder") as raised:
        build(folder)
    assert type(raised.value).__name__ == "CorpusError"


# --- files vanishing during a build ---------------------------------------------------------


def test_files_vanishing_between_listing_and_reading_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make(
        tmp_path / "corpus", {"good.txt": GOOD, "gone.txt": SECRET, "sub/gone.md": SECRET}
    )

    def listed_then_deleted(root: Path) -> CorpusFiles:
        listed = corpus_files(root)
        (root / "gone.txt").unlink()
        (root / "sub" / "gone.md").unlink()
        return listed

    monkeypatch.setattr(index_module, "corpus_files", listed_then_deleted)
    index = build(folder)
    assert index.files == ["good.txt"]
    assert warned(index, "gone.txt", "removed")
    assert warned(index, "sub/gone.md", "removed")


def test_a_file_vanishing_while_the_cache_key_is_computed_does_not_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make(tmp_path / "corpus", {"good.txt": GOOD, "gone.txt": SECRET})

    def listed_then_deleted(root: Path) -> CorpusFiles:
        listed = corpus_files(root)
        (root / "gone.txt").unlink(missing_ok=True)
        return listed

    monkeypatch.setattr(store, "corpus_files", listed_then_deleted)
    result = load_or_build(folder, CONFIG, tmp_path / "cache")
    assert result.index.files == ["good.txt"]


# Lines of markup openers that never close: every pattern that strips documentation-tool
# markup is bounded, so each file reads in linear time (unbounded ones took minutes).
UNCLOSED = {
    "attributes": '{ .a b="' * 10_000,
    "footnotes": "[^" * 20_000,
    "templates": "{%" * 20_000 + "{{<" * 20_000 + "{{" * 20_000,
    "comments": "{/*" * 20_000 + "{*" * 20_000,
    "links": "[a][" * 20_000,
    "icons": ":a-" * 30_000,
    "tabs": '=== "a"\n' * 5_000 + "    x\n" * 5_000,
    "directives": "```{note}\n" * 5_000 + "/// note | t\n" * 5_000,
}


def test_unclosed_markup_is_read_and_found(tmp_path: Path) -> None:
    folder = make(tmp_path / "docs", {f"{name}.md": text for name, text in UNCLOSED.items()})
    (folder / "good.md").write_text("# Ports\n\n" + GOOD, encoding="utf-8")
    index = Index.build_folder(folder, CONFIG)
    a = answer(index, "where does the harbour of Zanzibar ship cloves")
    assert a.answered and a.passages[0].file == "good.md"
