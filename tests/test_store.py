"""The on-disk index: round trip, memory mapping, invalidation, corruption never trusted."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retrieval import build, store
from retrieval.build import recording_reads
from retrieval.engines import RankingConfig
from retrieval.index import Index
from retrieval.passages import COLUMNS, PassageTable
from retrieval.store import (
    FORMAT_VERSION,
    STALE_TMP_SECONDS,
    cache_dir_for,
    corpus_key,
    load,
    load_or_build,
    meta_checksum,
    save,
    temporary_prefix,
)
from tests import seedcorpus
from tests.seedcorpus import CONFIG, SEEDS

QUESTIONS = [*seedcorpus.QUESTIONS, "VentureBeat"]
ARRAYS = [
    "indptr",
    "docs",
    "tf",
    "doc_len",
    "weights",
    "impacts",
    *[f"passage_{name}" for name in COLUMNS],
]

Results = list[list[tuple[str, int, int, float]]]


def results(index: Index) -> Results:
    return [
        [(h.passage.file, h.passage.line_start, h.passage.line_end, h.score) for h in hits]
        for hits in (index.search(q) for q in QUESTIONS)
    ]


@pytest.fixture(scope="module")
def expected() -> Results:
    return results(Index.from_folder(SEEDS, CONFIG))


def entry(cache: Path, corpus: Path) -> Path:
    return cache_dir_for(cache, corpus)


def built(corpus: Path, cache: Path) -> Path:
    first = load_or_build(corpus, CONFIG, cache)
    assert not first.loaded
    assert (entry(cache, corpus) / "meta.json").exists()
    return entry(cache, corpus)


def test_round_trip_gives_the_same_results(corpus: Path, cache: Path, expected: Results) -> None:
    first = load_or_build(corpus, CONFIG, cache)
    assert not first.loaded
    assert first.reason
    second = load_or_build(corpus, CONFIG, cache)
    assert second.loaded
    assert results(first.index) == expected
    assert results(second.index) == expected
    assert second.index.passages == first.index.passages
    assert isinstance(second.index.passages, PassageTable)
    assert second.index.postings.vocab == first.index.postings.vocab
    assert second.index.stats.passages == first.index.stats.passages
    # The corpus's long words, for reading typos, come back from the cache as built.
    assert "investment" in first.index.spellings.words
    assert second.index.spellings.words == first.index.spellings.words


def test_save_and_load_directly(tmp_path: Path, expected: Results) -> None:
    index = Index.from_folder(SEEDS, CONFIG)
    target = tmp_path / "entry"
    save(index, target, "some-key")
    save(index, target, "some-key")  # overwriting an entry is fine
    assert results(load(target, "some-key", CONFIG, mmap=False)) == expected
    assert [p.name for p in tmp_path.iterdir()] == ["entry"]  # no temporary folders left


def test_arrays_are_memory_mapped_after_load(corpus: Path, cache: Path) -> None:
    built(corpus, cache)
    index = load_or_build(corpus, CONFIG, cache).index
    for arr in (index.postings.indptr, index.postings.docs, index.postings.tf,
                index.postings.doc_len, index.weights):
        assert isinstance(arr, np.memmap)
    # A loaded index can be scored by the other engine too.
    other = load_or_build(corpus, RankingConfig(engine="rank-bm25"), cache)
    assert other.loaded
    assert other.index.engine.name == "rank-bm25"
    ids = [[h.index for h in other.index.search(q)] for q in QUESTIONS]
    assert ids == [[h.index for h in index.search(q)] for q in QUESTIONS]


def test_editing_a_corpus_file_invalidates_the_cache(corpus: Path, cache: Path) -> None:
    built(corpus, cache)
    path = corpus / "004_bbdec2aa2fae0f2f.txt"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Jason Droege", "Jane Roe"), encoding="utf-8"
    )
    result = load_or_build(corpus, CONFIG, cache)
    assert not result.loaded
    assert "changed" in result.reason
    hit = result.index.search("who is Scale's interim CEO?")
    assert any("Jane Roe" in h.passage.text for h in hit)
    assert not any("Jason Droege" in h.passage.text for h in hit)
    assert load_or_build(corpus, CONFIG, cache).loaded


def test_adding_or_removing_a_file_invalidates_the_cache(corpus: Path, cache: Path) -> None:
    built(corpus, cache)
    (corpus / "005_new.txt").write_text("Zanzibar spice farms export cloves.\n", "utf-8")
    result = load_or_build(corpus, CONFIG, cache)
    assert not result.loaded
    assert result.index.search("zanzibar cloves")[0].passage.file == "005_new.txt"
    (corpus / "005_new.txt").unlink()
    result = load_or_build(corpus, CONFIG, cache)
    assert not result.loaded
    assert result.index.search("zanzibar cloves") == []


def test_ranking_settings_are_part_of_the_key(corpus: Path) -> None:
    base = corpus_key(corpus, CONFIG)
    assert corpus_key(corpus, RankingConfig(engine="sparse", variant="okapi")) != base
    assert corpus_key(corpus, RankingConfig(engine="sparse", k1=CONFIG.k1 + 0.1)) != base
    # The engine only chooses how the same numbers are added up.
    assert corpus_key(corpus, RankingConfig(engine="rank-bm25")) == base


def test_other_settings_rebuild(corpus: Path, cache: Path) -> None:
    built(corpus, cache)
    other = RankingConfig(engine="sparse", variant="okapi" if CONFIG.variant != "okapi" else "l")
    result = load_or_build(corpus, other, cache)
    assert not result.loaded
    assert result.index.config.variant == other.variant


def test_other_format_version_is_rebuilt(corpus: Path, cache: Path, expected: Results) -> None:
    target = built(corpus, cache)
    meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
    meta["format"] = FORMAT_VERSION - 1
    (target / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    result = load_or_build(corpus, CONFIG, cache)
    assert not result.loaded
    assert "format" in result.reason
    assert results(result.index) == expected
    assert load_or_build(corpus, CONFIG, cache).loaded


def test_cache_off_builds_every_time(corpus: Path) -> None:
    result = load_or_build(corpus, CONFIG, None)
    assert not result.loaded
    assert result.reason == "cache off"


def truncate_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def drop_last_byte(data: bytes) -> bytes:
    return data[:-1]


def garble_magic(data: bytes) -> bytes:
    return b"GARBLE" + data[6:]


def not_json(data: bytes) -> bytes:
    return data[: len(data) // 2]


def binary(data: bytes) -> bytes:
    return b"\xff\xfe\x00\x01" + data


def empty(data: bytes) -> bytes:
    return b""


def rename_droege(data: bytes) -> bytes:
    return data.replace(b"Droege", b"Dr0ege")


def drop_a_line(data: bytes) -> bytes:
    return b"\n".join(data.split(b"\n")[1:])


Corruption = Callable[[bytes], bytes]

DETECTED: list[tuple[str, Corruption]] = [
    *[(f"{name}.npy", truncate_half) for name in ARRAYS],
    *[(f"{name}.npy", drop_last_byte) for name in ARRAYS],
    ("weights.npy", garble_magic),
    ("meta.json", not_json),
    ("meta.json", binary),
    ("meta.json", empty),
    ("texts.bin", rename_droege),
    ("texts.bin", drop_a_line),
    ("texts.bin", truncate_half),
    ("texts.bin", empty),
    ("vocab.json", truncate_half),
    ("vocab.json", binary),
    ("files.json", not_json),
    ("files.json", binary),
    ("spellings.json", not_json),
    ("spellings.json", binary),
]


def corrupt_and_reload(
    corpus: Path, cache: Path, name: str, corruption: Corruption, expected: Results
) -> None:
    target = built(corpus, cache)
    path = target / name
    path.write_bytes(corruption(path.read_bytes()))
    result = load_or_build(corpus, CONFIG, cache)
    assert not result.loaded, f"{name} corrupted by {corruption.__name__} was trusted"
    assert result.reason
    assert results(result.index) == expected
    # The rebuilt entry is sound and used from then on.
    again = load_or_build(corpus, CONFIG, cache)
    assert again.loaded
    assert results(again.index) == expected


@pytest.mark.parametrize(
    ("name", "corruption"), DETECTED, ids=[f"{n}-{c.__name__}" for n, c in DETECTED]
)
def test_corrupt_cache_is_rebuilt(
    corpus: Path, cache: Path, expected: Results, name: str, corruption: Corruption
) -> None:
    corrupt_and_reload(corpus, cache, name, corruption, expected)


@pytest.mark.parametrize(
    "name",
    [
        "texts.bin", "vocab.json", "files.json", "spellings.json", "weights.npy",
        "passage_offsets.npy", "meta.json",
    ],
)
def test_missing_cache_file_is_rebuilt(
    corpus: Path, cache: Path, expected: Results, name: str
) -> None:
    target = built(corpus, cache)
    (target / name).unlink()
    result = load_or_build(corpus, CONFIG, cache)
    assert not result.loaded
    assert results(result.index) == expected


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("array", ARRAYS)
def test_garbled_array_data_is_not_trusted(
    corpus: Path, cache: Path, expected: Results, array: str
) -> None:
    target = built(corpus, cache)
    path = target / f"{array}.npy"
    nbytes = np.load(path).nbytes
    data = bytearray(path.read_bytes())
    for i in range(len(data) - nbytes, len(data)):  # the data after the header, not the header
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    assert not load_or_build(corpus, CONFIG, cache).loaded


@pytest.mark.parametrize("how", ["empty", "garbled-header"])
def test_unparsable_npy_is_rebuilt(corpus: Path, cache: Path, expected: Results, how: str) -> None:
    target = built(corpus, cache)
    path = target / "weights.npy"
    data = bytearray(path.read_bytes())
    if how == "empty":
        data = bytearray()
    else:
        data[10:30] = b"x" * 20  # inside the "{'descr': ..., 'shape': ...}" header
    path.write_bytes(bytes(data))
    result = load_or_build(corpus, CONFIG, cache)
    assert not result.loaded
    assert results(result.index) == expected


@pytest.mark.parametrize("content", ["[]", "null", '"text"'])
def test_meta_json_that_is_not_an_object_is_rebuilt(
    corpus: Path, cache: Path, expected: Results, content: str
) -> None:
    target = built(corpus, cache)
    (target / "meta.json").write_text(content, encoding="utf-8")
    result = load_or_build(corpus, CONFIG, cache)
    assert not result.loaded
    assert results(result.index) == expected


def test_old_format_entry_is_rebuilt_with_a_log_line(
    corpus: Path, cache: Path, expected: Results, caplog: pytest.LogCaptureFixture
) -> None:
    """A folder written by format 2 (passages.jsonl, no checksums of the arrays)."""
    target = entry(cache, corpus)
    target.mkdir(parents=True)
    meta = {"format": 2, "key": corpus_key(corpus, CONFIG), "checksums": {}, "sizes": {}}
    (target / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    (target / "passages.jsonl").write_text("{}\n", encoding="utf-8")
    with caplog.at_level("INFO", logger="retrieval.store"):
        result = load_or_build(corpus, CONFIG, cache)
    assert not result.loaded
    assert result.reason == f"index format 2 is not {FORMAT_VERSION}"
    assert any("index format 2" in r.getMessage() for r in caplog.records)
    assert results(result.index) == expected
    assert not (target / "passages.jsonl").exists()
    assert load_or_build(corpus, CONFIG, cache).loaded


def test_garbled_middle_of_the_texts_is_not_trusted(corpus: Path, cache: Path) -> None:
    target = built(corpus, cache)
    path = target / "texts.bin"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, same size, still valid UTF-8
    path.write_bytes(bytes(data))
    result = load_or_build(corpus, CONFIG, cache)
    assert not result.loaded
    assert "checksum" in result.reason


def write_signed(target: Path, meta: dict[str, Any]) -> None:
    """meta.json with a valid checksum of its own: to reach the checks behind that one."""
    meta["meta_checksum"] = meta_checksum(meta)
    (target / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def test_meta_json_must_list_every_file(corpus: Path, cache: Path, expected: Results) -> None:
    target = built(corpus, cache)
    meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
    del meta["checksums"]["weights.npy"]  # would leave the weights unchecked
    write_signed(target, meta)
    result = load_or_build(corpus, CONFIG, cache)
    assert not result.loaded
    assert "files" in result.reason
    assert results(result.index) == expected


def test_meta_without_the_impact_scale_is_rebuilt(
    corpus: Path, cache: Path, expected: Results
) -> None:
    target = built(corpus, cache)
    meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
    del meta["impact_scale"]
    write_signed(target, meta)
    result = load_or_build(corpus, CONFIG, cache)
    assert not result.loaded and "impact_scale" in result.reason
    assert results(result.index) == expected


@pytest.mark.parametrize("scale", [-1.0, 0.0, float("inf"), float("nan")])
def test_signed_meta_with_an_impossible_impact_scale_is_rebuilt(
    corpus: Path, cache: Path, expected: Results, scale: float
) -> None:
    target = built(corpus, cache)
    meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
    meta["impact_scale"] = scale
    write_signed(target, meta)
    result = load_or_build(corpus, CONFIG, cache)
    assert not result.loaded
    assert results(result.index) == expected


def test_temporary_folders_of_saves_that_may_be_running_are_kept(cache: Path) -> None:
    """Removed: this host's dead processes' folders, and any untouched for an hour."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    old = time.time() - STALE_TMP_SECONDS - 60
    folders = {
        "running here": temporary_prefix(os.getpid()) + "a",
        "dead here": temporary_prefix(dead.pid) + "b",
        "other host, recent": ".tmp-00000000-1-c",
        "other host, old": ".tmp-00000000-1-d",
        "unknown owner, old": ".tmp-e5f6g7h8",
    }
    for name in folders.values():
        (cache / name).mkdir(parents=True)
        (cache / name / "weights.npy").write_bytes(b"x" * 1000)
    for label in ("other host, old", "unknown owner, old"):
        os.utime(cache / folders[label], (old, old))
    store.remove_stale_temporaries(cache)
    kept = {label for label, name in folders.items() if (cache / name).exists()}
    assert kept == {"running here", "other host, recent"}


@pytest.mark.parametrize("by", ["content", "size-and-mtime"])
def test_a_build_fingerprints_the_files_as_the_key_does(
    corpus: Path, monkeypatch: pytest.MonkeyPatch, by: str
) -> None:
    """In worker processes too: were the two to differ, every start would rebuild."""
    if by != "content":
        monkeypatch.setattr(build, "CONTENT_HASH_LIMIT", 0)
    with recording_reads() as reads:
        Index.build_folder(corpus, CONFIG, workers=2, batch_bytes=1)
    assert reads == store.fingerprint(corpus)
    assert len(reads.files) == len(list(corpus.iterdir()))
