"""Hostile cache faults (issue 11): a file rewritten while the index is built, meta.json
edited, every file of an entry garbled, an unreadable cache, a save killed half way. An
entry is loaded only when it is exactly what a build of the current files would give."""

from __future__ import annotations

import json
import logging
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrieval import build
from retrieval.corpus import read_text
from retrieval.index import Index
from retrieval.store import (
    StaleIndex,
    cache_dir_for,
    corpus_key,
    load,
    load_or_build,
)
from tests.hostile.faults import Deny, Results, results
from tests.seedcorpus import CONFIG, ROOT, SEEDS

HALF_WRITTEN = "004_bbdec2aa2fae0f2f.txt"


def built(corpus: Path, cache: Path) -> Path:
    first = load_or_build(corpus, CONFIG, cache)
    assert not first.loaded
    return cache_dir_for(cache, corpus)


# --- the key race ---------------------------------------------------------------------------


def rewrite_while_read(
    monkeypatch: pytest.MonkeyPatch, path: Path, during: bytes, after: bytes
) -> None:
    """While the build reads `path`, another process rewrites it: the build sees `during`,
    and the file holds `after` once the read is done (before the build ends)."""
    real_read = read_text

    def racing_read(file: Path, warnings: list[str], *args: Any, **kwargs: Any) -> str | None:
        if file.name != path.name:
            return real_read(file, warnings, *args, **kwargs)
        path.write_bytes(during)
        try:
            return real_read(file, warnings, *args, **kwargs)
        finally:
            path.write_bytes(after)

    monkeypatch.setattr(build, "read_text", racing_read)


@pytest.mark.parametrize("by", ["content", "size-and-mtime"])
def test_a_file_rewritten_during_the_build_is_not_cached_as_the_complete_file(
    corpus: Path, cache: Path, expected: Results, monkeypatch: pytest.MonkeyPatch, by: str
) -> None:
    """The key was computed from the complete file; the build read it half written; by the
    end of the build it is complete again. The next start must not load that index."""
    if by != "content":
        monkeypatch.setattr(build, "CONTENT_HASH_LIMIT", 0, raising=False)
    path = corpus / HALF_WRITTEN
    complete = path.read_bytes()
    half = complete[: len(complete) // 2]
    with monkeypatch.context() as patch:
        rewrite_while_read(patch, path, half, complete)
        first = load_or_build(corpus, CONFIG, cache)
    assert not first.loaded
    assert results(first.index) != expected  # it was built from the half-written file
    later = load_or_build(corpus, CONFIG, cache)
    assert not later.loaded, "an index of the half-written file was loaded as the complete one"
    assert results(later.index) == expected
    assert load_or_build(corpus, CONFIG, cache).loaded


def test_a_file_that_stays_changed_is_cached_under_what_was_read(
    corpus: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entry written for the new content is the one the next start loads."""
    path = corpus / HALF_WRITTEN
    new = path.read_bytes().replace(b"Jason Droege", b"Jane Roe")
    with monkeypatch.context() as patch:
        rewrite_while_read(patch, path, new, new)
        first = load_or_build(corpus, CONFIG, cache)
    later = load_or_build(corpus, CONFIG, cache)
    assert later.loaded
    assert results(later.index) == results(first.index)
    assert any("Jane Roe" in h.passage.text for h in later.index.search("interim CEO"))


# --- meta.json ------------------------------------------------------------------------------


def test_meta_json_edited_by_one_digit_is_rebuilt_with_a_log_line(
    corpus: Path, cache: Path, expected: Results, caplog: pytest.LogCaptureFixture
) -> None:
    target = built(corpus, cache)
    meta_path = target / "meta.json"
    text = meta_path.read_text(encoding="utf-8")
    found = re.search(r'"impact_scale": [0-9.e-]*?([0-9])(?=[,\n])', text)
    assert found is not None
    digit = found.group(1)
    edited = text[: found.start(1)] + str((int(digit) + 1) % 10) + text[found.end(1) :]
    meta_path.write_text(edited, encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="retrieval.store"):
        result = load_or_build(corpus, CONFIG, cache)
    assert not result.loaded, "an edited impact_scale was trusted"
    assert result.reason == "meta.json does not match its checksum"
    assert any("meta.json does not match its checksum" in r.getMessage() for r in caplog.records)
    assert results(result.index) == expected
    assert load_or_build(corpus, CONFIG, cache).loaded


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every scalar in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from leaves(item, (*path, n))
    else:
        yield path


def edited(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if value is None:
        return 0
    return f"{value}x"


@pytest.fixture(scope="module")
def entry(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One saved entry of the seeds, its key; tests restore whatever they change."""
    folder = tmp_path_factory.mktemp("entry")
    corpus = folder / "corpus"
    shutil.copytree(SEEDS, corpus)
    built(corpus, folder / "cache")
    return cache_dir_for(folder / "cache", corpus), corpus_key(corpus, CONFIG)


def test_every_value_of_meta_json_is_checked(entry: tuple[Path, str]) -> None:
    target, key = entry
    meta_path = target / "meta.json"
    original = meta_path.read_bytes()
    meta = json.loads(original)
    paths = list(leaves(meta))
    assert len(paths) > 30
    try:
        for path in paths:
            changed = json.loads(original)
            holder = changed
            for step in path[:-1]:
                holder = holder[step]
            holder[path[-1]] = edited(holder[path[-1]])
            meta_path.write_text(json.dumps(changed), encoding="utf-8")
            with pytest.raises(StaleIndex):
                load(target, key, CONFIG)
    finally:
        meta_path.write_bytes(original)
    load(target, key, CONFIG)


# --- every file garbled ---------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.data_too_large])
@given(data=st.data())
def test_a_garbled_byte_anywhere_is_never_trusted(
    entry: tuple[Path, str], data: st.DataObject
) -> None:
    """One byte of one file changed: the entry is refused, or (a meta.json whose JSON means
    the same) loads the very same index."""
    target, key = entry
    name = data.draw(st.sampled_from(sorted(p.name for p in target.iterdir())), label="file")
    path = target / name
    original = path.read_bytes()
    offset = data.draw(st.integers(0, len(original) - 1), label="offset")
    mask = data.draw(st.integers(1, 255), label="xor")
    garbled = bytearray(original)
    garbled[offset] ^= mask
    path.write_bytes(bytes(garbled))
    try:
        try:
            index = load(target, key, CONFIG, mmap=False)
        except StaleIndex:
            return
        assert name == "meta.json", f"{name} garbled at {offset} was trusted"
        assert json.loads(garbled) == json.loads(original)
        assert results(index) == results(Index.from_folder(SEEDS, CONFIG))
    finally:
        path.write_bytes(original)


# --- an unreadable cache, a killed save -----------------------------------------------------


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("denied", ["entry", "cache folder"])
def test_an_unreadable_cache_builds_in_memory_with_one_warning(
    corpus: Path,
    cache: Path,
    expected: Results,
    caplog: pytest.LogCaptureFixture,
    deny: Deny,
    denied: str,
) -> None:
    target = built(corpus, cache)
    deny(target if denied == "entry" else cache)
    with caplog.at_level(logging.INFO):
        result = load_or_build(corpus, CONFIG, cache)
    assert not result.loaded
    assert "cannot read the index cache" in result.reason
    assert results(result.index) == expected
    logged = warnings_of(caplog)
    assert len(logged) == 1, logged
    assert "in memory" in logged[0]


KILLED_SAVE = """
import os, signal, sys
from pathlib import Path
from retrieval.engines import RankingConfig
from retrieval.store import load_or_build

def killed(*args: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)

os.replace = killed  # the save dies just before it renames its folder into place
load_or_build(Path(sys.argv[1]), RankingConfig(engine="sparse"), Path(sys.argv[2]))
"""


def temporaries(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir() if p.name.startswith(".tmp-"))


def test_a_killed_save_leaves_nothing_behind_after_the_next_start(
    corpus: Path, cache: Path, expected: Results
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KILLED_SAVE, str(corpus), str(cache)], cwd=ROOT, check=False
    )
    assert done.returncode == -signal.SIGKILL
    assert temporaries(cache), "the killed save left no temporary folder to clean"
    result = load_or_build(corpus, CONFIG, cache)
    assert temporaries(cache) == []
    assert results(result.index) == expected
    assert load_or_build(corpus, CONFIG, cache).loaded
