"""The index on disk: one folder per corpus, versioned, arrays loadable memory-mapped.

A cache entry is trusted only when its format version, its key (corpus fingerprint, ranking
settings, analyzer version) and its own checksums all match; anything else is rebuilt, with a
log line saying why. The key is made of what the build read, so an index built from a file
that changed meanwhile is never loaded for the file's new content.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
import math
import operator
import os
import re
import shutil
import socket
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from retrieval import build
from retrieval.analyze import ANALYZER_VERSION
from retrieval.build import (
    CHANGED,
    UNREADABLE,
    Fingerprint,
    content_fingerprint,
    recording_reads,
    stat_fingerprint,
)
from retrieval.corpus import corpus_files, display_name
from retrieval.engines import Postings, RankingConfig
from retrieval.fields import PREFIXES, term_fields
from retrieval.impacts import Impacts
from retrieval.index import BuildStats, Index, Progress
from retrieval.passages import COLUMNS, FileBlob, PassageTable, check_table

log = logging.getLogger(__name__)

# Format 7: the corpus's long words as written (spellings.json). Format 6: a checksum of
# meta.json itself. Format 5: field terms (Markdown sections and
# code). Format 4: integer impacts beside the float contributions (format 3: the passage
# table and a CRC-32 of every file).
FORMAT_VERSION = 7
# 18: bold headings only at the top level; MyST colon fences say their version notes.
# 17: a paragraph all in bold is a heading; an rst rubric is one too.
# 16: MyST version directives say "New in version …"; MyST targets may hold spaces.
# 15: a page opening with a heading is named by it, not by its file.
# 14: a paragraph after a nested list starts a line of its own in its item.
# 13: a nested list's items are lines of their own in their item's text.
# 7: a Markdown lead-in followed by another one (code between them) kept.
# 6: Markdown citations reach a list item's or lead-in's last line, and count the line
#    breaks inside code spans, images and inline HTML.
# 5: a Markdown lead-in with nothing under it kept; MDX and ::: containers.
# 4: links out of the folder and binary files skipped, unprintable file names made safe.
# 3: Markdown read by its structure, passages capped in size.
CHUNKER_VERSION = 18
_ARRAYS = ("indptr", "docs", "tf", "doc_len", "weights", "impacts")
_READ_SIZE = 1 << 23
_META_CHECKSUM = "meta_checksum"
# Temporary folders of a save are named after their host and process, so a later start can
# tell what a killed save left (hundreds of MB) from a save still running elsewhere.
_TMP_PREFIX = ".tmp-"
_HOST = hashlib.blake2b(socket.gethostname().encode(), digest_size=4).hexdigest()
_TMP_OWNER = re.compile(r"\.tmp-([0-9a-f]{8})-([0-9]+)-")
# A temporary folder whose owner cannot be checked (another host sharing the cache, or a
# name from before owners were recorded) is stale once untouched this long.
STALE_TMP_SECONDS = 3600
# At most this many file names in one log line.
MAX_NAMED = 5
_OTHER_FILES = ("texts.bin", "vocab.json", "files.json", "spellings.json")


def _entry_files() -> set[str]:
    arrays = [*_ARRAYS, *(f"passage_{name}" for name in COLUMNS)]
    return {f"{name}.npy" for name in arrays} | set(_OTHER_FILES)


class StaleIndex(Exception):
    """The cache entry exists but cannot be trusted; the message says why."""


def fingerprint(folder: Path) -> Fingerprint:
    """The corpus as a build would see it now (`build.recording_reads`): each file's digest
    when the corpus is up to `build.CONTENT_HASH_LIMIT`, else its size and mtime, and what
    the listing leaves out (so a new link out is reported by the next start)."""
    files = corpus_files(folder)
    stats: list[os.stat_result | None] = []
    for path in files:
        try:
            stats.append(path.stat())
        except OSError:  # gone since the listing
            stats.append(None)
    by_content = sum(st.st_size for st in stats if st) <= build.CONTENT_HASH_LIMIT
    out: dict[str, str] = {}
    for path, st in zip(files, stats, strict=True):
        name = display_name(path.relative_to(folder).as_posix())
        if st is None:
            out[name] = UNREADABLE
        elif by_content:
            try:
                out[name] = content_fingerprint(path.read_bytes())
            except OSError:
                out[name] = UNREADABLE
        else:
            out[name] = stat_fingerprint(st)
    return Fingerprint(out, list(files.warnings))


def key_of(config: RankingConfig, corpus: Fingerprint) -> str:
    """The cache key of an index built with `config` from a corpus so fingerprinted."""
    digest = hashlib.blake2b(digest_size=16)
    scoring = {k: v for k, v in asdict(config).items() if k != "engine"}
    digest.update(json.dumps([FORMAT_VERSION, CHUNKER_VERSION, ANALYZER_VERSION, scoring]).encode())
    for name in sorted(corpus.files):
        digest.update(name.encode() + b"\0" + corpus.files[name].encode() + b"\0")
    digest.update(json.dumps(sorted(corpus.left_out)).encode())
    return digest.hexdigest()


def corpus_key(folder: Path, config: RankingConfig) -> str:
    return key_of(config, fingerprint(folder))


def cache_dir_for(cache_root: Path, folder: Path) -> Path:
    name = hashlib.blake2b(str(folder.resolve()).encode(), digest_size=8).hexdigest()
    return cache_root / f"index-{name}"


def _crc(path: Path) -> str:
    """CRC-32 of a file, read in chunks so the file never sits in this process's memory.
    zlib releases the GIL while it hashes, so files are checked in parallel threads."""
    crc = 0
    buf = bytearray(_READ_SIZE)
    view = memoryview(buf)
    with path.open("rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            crc = zlib.crc32(view[:n], crc)
    return f"{crc:08x}:{path.stat().st_size}"


def _checksums(folder: Path, names: list[str]) -> dict[str, str]:
    # Largest first, so the threads finish together.
    names = sorted(names, key=lambda name: -(folder / name).stat().st_size)
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return dict(zip(names, pool.map(lambda name: _crc(folder / name), names), strict=True))


@dataclass(frozen=True)
class LoadResult:
    index: Index
    loaded: bool
    reason: str


def _arrays(index: Index) -> dict[str, np.ndarray[Any, Any]]:
    p = index.postings
    arrays: dict[str, np.ndarray[Any, Any]] = {
        "indptr": p.indptr,
        "docs": p.docs,
        "tf": p.tf,
        "doc_len": p.doc_len,
        "weights": index.weights,
        "impacts": index.sparse.impacts.levels,
    }
    for name, column in index.passages.columns.items():
        arrays[f"passage_{name}"] = column
    return arrays


def save(index: Index, target: Path, key: str) -> None:
    """Write atomically: a half-written entry is never seen under the final name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=temporary_prefix(os.getpid()), dir=target.parent))
    try:
        arrays = _arrays(index)

        def write_texts() -> None:
            with (tmp / "texts.bin").open("wb") as fh:
                index.passages.write_blob(fh)

        writes = [write_texts] + [
            functools.partial(np.save, tmp / f"{name}.npy", arr)
            for name, arr in sorted(arrays.items(), key=lambda item: -item[1].nbytes)
        ]
        # File writes let go of the GIL: two at a time take about half as long.
        with ThreadPoolExecutor(max_workers=2) as pool:
            for done in [pool.submit(write) for write in writes]:
                done.result()
        p = index.postings
        vocab = list(p.vocab)  # built and loaded in id order; sorted only if not
        if not all(map(operator.eq, p.vocab.values(), itertools.count())):
            vocab.sort(key=p.vocab.__getitem__)
        (tmp / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        (tmp / "files.json").write_text(
            json.dumps(index.passages.files, ensure_ascii=False), encoding="utf-8"
        )
        (tmp / "spellings.json").write_text(
            json.dumps(list(index.spellings.words)), encoding="utf-8"
        )
        names = [f"{name}.npy" for name in arrays] + list(_OTHER_FILES)
        meta = {
            "format": FORMAT_VERSION,
            "key": key,
            "config": asdict(index.config),
            "stats": asdict(index.stats),
            "sizes": {name: int(arr.shape[0]) for name, arr in arrays.items()},
            "impact_scale": index.sparse.impacts.scale,
            "checksums": _checksums(tmp, names),
        }
        meta[_META_CHECKSUM] = meta_checksum(meta)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def temporary_prefix(pid: int) -> str:
    """The name a save's temporary folder starts with, in process `pid` of this host."""
    return f"{_TMP_PREFIX}{_HOST}-{pid}-"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except (OverflowError, ValueError):  # no such pid can exist
        return False
    return True


def remove_stale_temporaries(cache_root: Path) -> None:
    """Remove the temporary folders killed saves left in the cache: those of a process of
    this host that is no longer running, and any other untouched for STALE_TMP_SECONDS.

    Safe when processes share the cache: a save still running belongs to a live process, or
    (on another host) has touched its folder within the hour. Were one removed anyway, that
    save would only fail: an entry appears by one rename of a complete folder whose files
    all carry checksums, so a folder emptied under a save is never loaded as an index."""
    try:
        with os.scandir(cache_root) as it:
            found = [e for e in it if e.name.startswith(_TMP_PREFIX)]
    except OSError:  # no cache yet, or an unreadable one: `load_or_build` says so
        return
    now = time.time()
    for entry in found:
        owner = _TMP_OWNER.match(entry.name)
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if owner is not None and owner.group(1) == _HOST:
                stale = not _running(int(owner.group(2)))
            else:
                stale = now - entry.stat(follow_symlinks=False).st_mtime > STALE_TMP_SECONDS
        except OSError:
            continue
        if stale:
            shutil.rmtree(entry.path, ignore_errors=True)
            log.info("removed %s, left by an interrupted save", entry.path)


def meta_checksum(meta: dict[str, Any]) -> str:
    """The digest of every field of meta.json but the checksum, as canonical JSON: editing
    any value (the impact scale, a file's CRC) makes the entry stale."""
    fields = {k: v for k, v in meta.items() if k != _META_CHECKSUM}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def _read_meta(target: Path, key: str) -> dict[str, Any]:
    """meta.json, checked; a cache folder this process may not read raises PermissionError."""
    try:
        text = (target / "meta.json").read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise StaleIndex("no index on disk yet") from exc
    except PermissionError:
        raise
    except (OSError, ValueError) as exc:
        raise StaleIndex(f"unreadable meta.json ({exc})") from exc
    try:
        meta: dict[str, Any] = json.loads(text)
    except ValueError as exc:
        raise StaleIndex(f"unreadable meta.json ({exc})") from exc
    if not isinstance(meta, dict):
        raise StaleIndex("meta.json is not an object")
    if meta.get("format") != FORMAT_VERSION:
        raise StaleIndex(f"index format {meta.get('format')} is not {FORMAT_VERSION}")
    if meta.get(_META_CHECKSUM) != meta_checksum(meta):
        raise StaleIndex("meta.json does not match its checksum")
    if meta.get("key") != key:
        raise StaleIndex("corpus files or ranking settings changed")
    return meta


def _check_postings(postings: Postings, weights: np.ndarray[Any, Any], impacts: Impacts) -> str:
    """Why the arrays cannot be a postings table, or "" (O(terms) checks; the content is
    covered by the checksums)."""
    indptr = postings.indptr
    nnz = len(postings.docs)
    if len(postings.tf) != nnz or len(weights) != nnz or len(impacts.levels) != nnz:
        return "postings arrays differ in length"
    positive = math.isfinite(impacts.scale) and impacts.scale > 0
    if impacts.levels.dtype != np.uint16 or not positive:
        return "impacts are not 16-bit levels with a positive scale"
    if len(indptr) == 0 or indptr[0] != 0 or indptr[-1] != nnz:
        return "postings offsets do not span the postings"
    if bool(np.any(np.diff(indptr) < 0)):
        return "postings offsets are not increasing"
    return ""


def load(target: Path, key: str, config: RankingConfig, mmap: bool = True) -> Index:
    """Load a cache entry or raise StaleIndex saying why it cannot be used.

    Every file is checked against the CRC-32 and size written at save (about a second per
    2 GB, in parallel threads), so garbled data is never trusted, whatever its shape.
    """
    meta = _read_meta(target, key)
    try:
        expected: dict[str, str] = meta["checksums"]
        if set(expected) != _entry_files():
            raise StaleIndex("meta.json does not list the files of this format")
        actual = _checksums(target, list(expected))
        for name, digest in expected.items():
            if actual[name] != digest:
                raise StaleIndex(f"{name} does not match its checksum")
        mode: Literal["r"] | None = "r" if mmap else None
        arrays = {
            name: np.load(target / f"{name}.npy", mmap_mode=mode, allow_pickle=False)
            for name in meta["sizes"]
        }
        for name, size in meta["sizes"].items():
            if arrays[name].shape != (size,):
                raise StaleIndex(f"{name}.npy has shape {arrays[name].shape}, expected {size}")
        vocab_text = (target / "vocab.json").read_text(encoding="utf-8")
        vocab_list = json.loads(vocab_text)
        # Only a corpus with Markdown has field terms; a plain one skips the scan.
        fielded = any(prefix in vocab_text for prefix in PREFIXES)
        files = json.loads((target / "files.json").read_text(encoding="utf-8"))
        spellings = json.loads((target / "spellings.json").read_text(encoding="utf-8"))
        if not isinstance(spellings, list) or not all(isinstance(w, str) for w in spellings):
            raise StaleIndex("spellings.json is not a list of words")
        if mmap:
            blob: bytes | FileBlob = FileBlob((target / "texts.bin").open("rb"))
        else:
            blob = (target / "texts.bin").read_bytes()
        columns = {name: arrays[f"passage_{name}"] for name in COLUMNS}
        impacts = Impacts(arrays["impacts"], float(meta["impact_scale"]))
        stats = BuildStats(**meta["stats"])
    except StaleIndex:
        raise
    except Exception as exc:  # numpy raises EOFError, SyntaxError... on a garbled file
        raise StaleIndex(f"corrupt index files ({type(exc).__name__}: {exc})") from exc
    problem = check_table(files, columns, len(blob))
    if problem:
        raise StaleIndex(problem)
    if len(columns["file"]) != arrays["doc_len"].shape[0] or len(vocab_list) + 1 != len(
        arrays["indptr"]
    ):
        raise StaleIndex("passages, vocabulary and arrays disagree in size")
    postings = Postings(
        vocab=dict(zip(vocab_list, range(len(vocab_list)), strict=True)),
        indptr=arrays["indptr"],
        docs=arrays["docs"],
        tf=arrays["tf"],
        doc_len=arrays["doc_len"],
        fields=term_fields(vocab_list) if fielded else None,
    )
    problem = _check_postings(postings, arrays["weights"], impacts)
    if problem:
        raise StaleIndex(problem)
    table = PassageTable(files, columns, blob)
    return Index(table, postings, config, arrays["weights"], stats, impacts, spellings)


def load_or_build(
    folder: Path | str,
    config: RankingConfig,
    cache_root: Path | None,
    progress: Progress | None = None,
) -> LoadResult:
    """The index for a corpus folder: from the cache when it is valid, else built (and saved,
    under the key of what the build read)."""
    root = Path(folder)
    if cache_root is None:
        return LoadResult(Index.build_folder(root, config, progress), False, "cache off")
    remove_stale_temporaries(cache_root)
    key = corpus_key(root, config)
    target = cache_dir_for(cache_root, root)
    try:
        index = load(target, key, config)
        return LoadResult(index, True, "loaded from cache")
    except StaleIndex as exc:
        reason = str(exc)
        log.info("building the index for %s: %s", root, reason)
        cache_readable = True
    except OSError as exc:
        # A cache folder this process may not enter: as with a read-only or full one, the
        # index is built in memory, and the cache left alone.
        reason = f"cannot read the index cache ({exc.strerror or exc})"
        log.warning("%s in %s; building the index in memory", reason, target)
        cache_readable = False
    with recording_reads() as reads:
        index = Index.build_folder(root, config, progress)
    if not cache_readable:
        return LoadResult(index, False, reason)
    changed = sorted(name for name, found in reads.files.items() if found == CHANGED)
    if changed:
        more = f" and {len(changed) - MAX_NAMED} more" if len(changed) > MAX_NAMED else ""
        log.warning(
            "not caching the index: %s%s changed while the index was built",
            ", ".join(changed[:MAX_NAMED]),
            more,
        )
        return LoadResult(index, False, reason)
    built_key = key_of(config, reads)
    if built_key != key:
        log.info("corpus files changed during the build; caching the index of what was read")
    try:
        save(index, target, built_key)
    except OSError as exc:
        log.warning("could not save the index cache in %s: %s", target, exc)
    return LoadResult(index, False, reason)
