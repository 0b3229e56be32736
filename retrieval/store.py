"""The index on disk: one folder per corpus, versioned, arrays loadable memory-mapped.

A cache entry is trusted only when its format version, its key (corpus fingerprint, ranking
settings, analyzer version) and its own checksums all match; anything else is rebuilt, with a
log line saying why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.analyze import ANALYZER_VERSION
from retrieval.corpus import Passage, corpus_files, load_corpus
from retrieval.engines import Postings, RankingConfig
from retrieval.index import BuildStats, Index, Progress

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
CHUNKER_VERSION = 2
_ARRAYS = ("indptr", "docs", "tf", "doc_len", "weights")
# Corpora up to this size are fingerprinted by content; larger ones by size and mtime, so a
# restart does not have to read every byte again.
CONTENT_HASH_LIMIT = 64 * 1024 * 1024


class StaleIndex(Exception):
    """The cache entry exists but cannot be trusted; the message says why."""


def corpus_key(folder: Path, config: RankingConfig) -> str:
    files = corpus_files(folder)
    digest = hashlib.blake2b(digest_size=16)
    scoring = {k: v for k, v in asdict(config).items() if k not in ("engine", "sparse_from")}
    digest.update(json.dumps([FORMAT_VERSION, CHUNKER_VERSION, ANALYZER_VERSION, scoring]).encode())
    by_content = sum(p.stat().st_size for p in files) <= CONTENT_HASH_LIMIT
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        stat = path.stat()
        if by_content:
            try:
                digest.update(hashlib.blake2b(path.read_bytes(), digest_size=16).digest())
            except OSError as exc:
                digest.update(f"unreadable:{exc.errno}".encode())
        else:
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def cache_dir_for(cache_root: Path, folder: Path) -> Path:
    name = hashlib.blake2b(str(folder.resolve()).encode(), digest_size=8).hexdigest()
    return cache_root / f"index-{name}"


def _file_digest(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "blake2b").hexdigest()[:32]


@dataclass(frozen=True)
class LoadResult:
    index: Index
    loaded: bool
    reason: str


def save(index: Index, target: Path, key: str) -> None:
    """Write atomically: a half-written entry is never seen under the final name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        p = index.postings
        arrays: dict[str, np.ndarray[Any, Any]] = {
            "indptr": p.indptr,
            "docs": p.docs,
            "tf": p.tf,
            "doc_len": p.doc_len,
            "weights": index.weights,
        }
        for name, arr in arrays.items():
            np.save(tmp / f"{name}.npy", arr)
        with (tmp / "passages.jsonl").open("w", encoding="utf-8") as fh:
            for passage in index.passages:
                fh.write(json.dumps(asdict(passage), ensure_ascii=False) + "\n")
        vocab = sorted(p.vocab, key=p.vocab.__getitem__)
        (tmp / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        meta = {
            "format": FORMAT_VERSION,
            "key": key,
            "config": asdict(index.config),
            "stats": asdict(index.stats),
            "sizes": {name: int(arr.shape[0]) for name, arr in arrays.items()},
            "checksums": {
                name: _file_digest(tmp / name) for name in ("passages.jsonl", "vocab.json")
            },
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def load(target: Path, key: str, config: RankingConfig, mmap: bool = True) -> Index:
    """Load a cache entry or raise StaleIndex saying why it cannot be used."""
    meta_path = target / "meta.json"
    if not meta_path.exists():
        raise StaleIndex("no index on disk yet")
    try:
        meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StaleIndex(f"unreadable meta.json ({exc})") from exc
    if not isinstance(meta, dict):
        raise StaleIndex("meta.json is not an object")
    if meta.get("format") != FORMAT_VERSION:
        raise StaleIndex(f"index format {meta.get('format')} is not {FORMAT_VERSION}")
    if meta.get("key") != key:
        raise StaleIndex("corpus files or ranking settings changed")
    try:
        for name, digest in meta["checksums"].items():
            if _file_digest(target / name) != digest:
                raise StaleIndex(f"{name} does not match its checksum")
        arrays = {
            name: np.load(target / f"{name}.npy", mmap_mode="r" if mmap else None)
            for name in _ARRAYS
        }
        for name, size in meta["sizes"].items():
            if arrays[name].shape != (size,):
                raise StaleIndex(f"{name}.npy has shape {arrays[name].shape}, expected {size}")
        vocab_list = json.loads((target / "vocab.json").read_text(encoding="utf-8"))
        passages = [
            Passage(**json.loads(line))
            for line in (target / "passages.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        stats = BuildStats(**meta["stats"])
    except StaleIndex:
        raise
    except Exception as exc:  # numpy raises EOFError, SyntaxError... on a garbled file
        raise StaleIndex(f"corrupt index files ({type(exc).__name__}: {exc})") from exc
    if len(passages) != arrays["doc_len"].shape[0] or len(vocab_list) + 1 != len(
        arrays["indptr"]
    ):
        raise StaleIndex("passages, vocabulary and arrays disagree in size")
    postings = Postings(
        vocab={term: i for i, term in enumerate(vocab_list)},
        indptr=arrays["indptr"],
        docs=arrays["docs"],
        tf=arrays["tf"],
        doc_len=arrays["doc_len"],
    )
    return Index(passages, postings, config, arrays["weights"], stats)


def load_or_build(
    folder: Path | str,
    config: RankingConfig,
    cache_root: Path | None,
    progress: Progress | None = None,
) -> LoadResult:
    """The index for a corpus folder: from the cache when it is valid, else built (and saved)."""
    root = Path(folder)
    if cache_root is None:
        return LoadResult(Index.build(load_corpus(root), config, progress), False, "cache off")
    key = corpus_key(root, config)
    target = cache_dir_for(cache_root, root)
    try:
        index = load(target, key, config)
        return LoadResult(index, True, "loaded from cache")
    except StaleIndex as exc:
        reason = str(exc)
        log.info("building the index for %s: %s", root, reason)
    index = Index.build(load_corpus(root), config, progress)
    try:
        save(index, target, key)
    except OSError as exc:
        log.warning("could not save the index cache in %s: %s", target, exc)
    return LoadResult(index, False, reason)


