"""Hostile file names, generated: unicode, spaces, backticks, leading dashes, '..' inside a
name, names as long as the file system takes, bytes that are not UTF-8. Every file is
indexed or named in a warning, and every citation is a path inside the folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrieval.corpus import display_name
from retrieval.index import Index
from retrieval.store import load_or_build
from tests.seedcorpus import CONFIG

NAME_MAX = 255  # bytes in one file name, on Linux and most file systems
SUFFIXES = [b".txt", b".md", b".TXT"]
ANCHOR = "0-anchor.txt"
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

_TRICKY = [
    "`rm -rf ~`", "--help", "-n", "a..b", "..", "...", " spaced  name ", "名前", "e\u0301",
    "\u202eevil", "a\\b", "C:", "*?[]", "$(x)", "@everyone", "line\nbreak", "tab\there", "\x7f",
]
_CHARS = st.characters(blacklist_characters="/\x00", blacklist_categories=["Cs"])
_STEMS = st.one_of(
    st.sampled_from(_TRICKY),
    st.text(_CHARS, min_size=1, max_size=30),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "名", "🙂"]), st.integers(40, 250)),
)


def _as_bytes(stem: str, suffix: bytes) -> bytes:
    """A name within NAME_MAX bytes; a cut through a character leaves bytes that are not
    UTF-8, which is one more hostile name."""
    return os.fsencode(stem)[: NAME_MAX - len(suffix)] + suffix


_TEXT_NAMES = st.builds(_as_bytes, _STEMS, st.sampled_from(SUFFIXES))
_BYTE_NAMES = st.builds(
    lambda stem, suffix: stem + suffix,
    st.binary(min_size=1, max_size=40).map(lambda b: b.replace(b"/", b"_").replace(b"\0", b"_")),
    st.sampled_from(SUFFIXES),
)
NAMES = st.lists(
    st.one_of(_TEXT_NAMES, _BYTE_NAMES).filter(lambda b: os.fsdecode(b) != ANCHOR),
    min_size=1,
    max_size=6,
    unique=True,
)


def _tag(n: int) -> str:
    """A word unique to file n (letters only, so it is one index term)."""
    return "q" + "".join(chr(ord("a") + int(d)) for d in str(n)) + "z"


def _create(folder: Path, names: list[bytes]) -> dict[str, str]:
    """The files created, by their real name, with the word each holds."""
    made: dict[str, str] = {}
    for n, raw in enumerate(names):
        word = _tag(n)
        try:
            fd = os.open(os.fsencode(folder) + b"/" + raw, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except OSError:  # refused by this file system: nothing to index
            continue
        os.write(fd, f"The harbour ships {word} cloves to distant islands.\n".encode())
        os.close(fd)
        made[os.fsdecode(raw)] = word
    (folder / ANCHOR).write_text("The anchor file is always here, said the keeper.\n", "utf-8")
    return made


def _check_citations(index: Index) -> None:
    for name in index.files:
        path = PurePosixPath(name)
        assert not path.is_absolute() and ".." not in path.parts and "" not in path.parts
        assert name == display_name(name)  # printable: encodes, no control characters
        name.encode("utf-8")
    for passage in index.passages:
        assert passage.citation.startswith(f"{passage.file}:")
        assert passage.file in index.files


@EXAMPLES
@given(names=NAMES)
def test_every_hostile_name_is_indexed_or_named_in_a_warning(names: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        made = _create(folder, names)
        first = load_or_build(folder, CONFIG, Path(tmp) / "cache")
        again = load_or_build(folder, CONFIG, Path(tmp) / "cache")
        assert again.loaded  # the names survive the cache
        for result in (first, again):
            index = result.index
            _check_citations(index)
            for real, word in made.items():
                shown = display_name(real)
                hits = index.search(word)
                if real.startswith("."):  # hidden files are not part of the corpus
                    assert hits == []
                elif hits:
                    assert [h.passage.file for h in hits] == [shown]
                else:
                    assert any(w.startswith(f"{shown}:") for w in index.stats.warnings), (
                        real, index.stats.warnings,
                    )
