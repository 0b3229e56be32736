"""Building the postings and passage table of a corpus folder, in worker processes when large.

Workers scan and tokenize groups of files (`analyze_files`), each returning compact arrays with
term ids local to the group. The parent applies the order-dependent steps in corpus order:
duplicate paragraphs across files, headlines, global term ids (numbered by first appearance in
the corpus), and places the postings term-major without ever holding
a Python object per token.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import hashlib
import itertools
import logging
import multiprocessing
import os
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from retrieval.analyze import (
    DOC_BREAK,
    DROPPED,
    code_extras,
    index_tokens,
    tokenize,
    tokens_of_words,
    word_codes,
    words,
)
from retrieval.corpus import (
    Block,
    CorpusError,
    CorpusFiles,
    assemble,
    display_name,
    folded_index_body,
    heading_text,
    index_body,
    is_markdown,
    read_text,
    scan,
    within,
)
from retrieval.engines import Postings
from retrieval.fields import field_tokens, term_fields
from retrieval.passages import PassageTable, TableWriter
from retrieval.spelling import MAX_GATHERED, kept_spellings, long_words

log = logging.getLogger(__name__)

Int32Array = npt.NDArray[np.int32]
Progress = Callable[[int, int], None]

# Corpora from this many bytes are analysed in worker processes; below, start-up costs more.
PARALLEL_FROM_BYTES = 32 * 1024 * 1024
BATCH_BYTES = 4 * 1024 * 1024
# Large corpora go in larger batches, up to this: each batch's distinct words are looked up
# and numbered once per batch, in the worker and in the parent, and a batch of 12 MB holds
# far fewer than three of 4 MB do (1M passages: 51 s to build against 53 s; 16 MB: 52 s).
MAX_BATCH_BYTES = 12 * 1024 * 1024
# A worker counts its paragraphs' words in pieces of about this much text (a piece ends at
# the paragraph that reaches it), so a huge file is not one list of words.
COUNT_CHARS = 8 * 1024 * 1024
KEY_SIZE = 16
# Corpora up to this size are fingerprinted by content; larger ones by size and mtime, so a
# restart does not have to read every byte again (the cache key, `retrieval.store`).
CONTENT_HASH_LIMIT = 64 * 1024 * 1024
# The fingerprint of a file that could not be read, or of one skipped before reading.
UNREADABLE = "unreadable"
# The fingerprint of a file that changed while it was read (by size and mtime): no cache key
# is ever made of it, so an index built from a half-written file is never cached.
CHANGED = "changed while read"


def release_free_memory() -> None:
    """Hand freed heap pages back to the OS. glibc keeps the pages of the many small arrays
    the build frees, so without this the peak RSS is the sum of the build's phases."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to do
        return
    libc.malloc_trim(0)


def batch_size(total_bytes: int, workers: int) -> int:
    """About eight batches per worker, so the last ones finish close together."""
    return min(MAX_BATCH_BYTES, max(BATCH_BYTES, total_bytes // (8 * max(workers, 1))))


def default_workers(total_bytes: int) -> int:
    if total_bytes < PARALLEL_FROM_BYTES:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


# --- counting tokens -----------------------------------------------------------------------


@dataclass
class DocCounts:
    """Documents as (term, tf) pairs, each document's terms in order of first appearance.
    Term ids index `terms`, a vocabulary local to the group of documents."""

    terms: list[str] = field(default_factory=list)
    local: array[int] = field(default_factory=lambda: array("i"))
    tf: array[int] = field(default_factory=lambda: array("i"))
    pairs: array[int] = field(default_factory=lambda: array("i"))
    lengths: array[int] = field(default_factory=lambda: array("i"))
    # The distinct long words as written (`retrieval.spelling`), for reading typos.
    spellings: set[str] = field(default_factory=set)
    _ids: dict[str, int] = field(default_factory=dict)

    def term_id(self, term: str) -> int:
        tid = self._ids.get(term)
        if tid is None:
            tid = self._ids[term] = len(self.terms)
            self.terms.append(term)
        return tid

    def add(self, tokens: list[str], length: int | None = None) -> None:
        """Count one document's tokens (a Counter keeps first-appearance order). `length`:
        its length for BM25, when some tokens are of other fields (see `index.py`)."""
        counted = Counter(tokens)
        found = list(map(self._ids.get, counted))
        if None in found:  # local ids may be in any order: global ids are given later
            for term, tid in zip(counted, found, strict=True):
                if tid is None:
                    self.term_id(term)
            found = list(map(self._ids.get, counted))
        self.local.extend(cast(list[int], found))
        self.tf.extend(counted.values())
        self.pairs.append(len(counted))
        self.lengths.append(len(tokens) if length is None else length)

    def add_texts(self, texts: list[str], folded: bool = False) -> None:
        """`add(tokenize(text))` for each text, with the per-token work done for all texts at
        once (`word_codes`) and numpy sorts instead of a Counter per text. `folded`: the
        texts are already `analyze.fold`ed."""
        if not texts:
            return
        # Distinct words in order of first appearance; a table takes each word to its term.
        codes, distinct = word_codes(texts, folded)
        self.spellings.update(long_words(distinct))
        tokens = index_tokens(distinct)
        known = {DROPPED: -1, **self._ids}
        found = list(map(known.get, tokens))
        if None in found:
            # New terms numbered in order of first appearance, as `add` numbers them.
            for n, token in enumerate(tokens):
                if found[n] is None:
                    found[n] = known[token] = self.term_id(token)
        if DOC_BREAK in distinct:
            found[distinct.index(DOC_BREAK)] = -2
        ids = np.asarray(found, dtype=np.int64)[codes]
        doc = np.cumsum(ids == -2)
        kept = ids >= 0
        doc, ids = doc[kept], ids[kept]
        term_bits = max(len(self.terms) - 1, 1).bit_length()
        # One key per (text, term); pairs in order of first appearance, as a Counter has them.
        keys, first, tf = np.unique(doc << term_bits | ids, return_index=True, return_counts=True)
        order = np.argsort(first)
        keys, tf = keys[order], tf[order]
        self.local.frombytes((keys & ((1 << term_bits) - 1)).astype(np.int32).tobytes())
        self.tf.frombytes(tf.astype(np.int32).tobytes())
        self.pairs.frombytes(
            np.bincount(keys >> term_bits, minlength=len(texts)).astype(np.int32).tobytes()
        )
        self.lengths.frombytes(np.bincount(doc, minlength=len(texts)).astype(np.int32).tobytes())


# --- the worker side -----------------------------------------------------------------------


@dataclass
class FileScan:
    name: str  # as cited: `corpus.display_name` of its path in the folder
    blocks: int
    chrome: int
    readable: bool
    fingerprint: str = UNREADABLE  # of the bytes read (`_read_file`)


@dataclass
class FileBatch:
    """One group of files, scanned and tokenized. Per block (non-chrome paragraph) arrays;
    a headline block also carries its heading's distinct tokens (`heads`)."""

    files: list[FileScan]
    warnings: list[str]
    counts: DocCounts
    keys: bytes
    headline: list[bool]
    reference: list[bool]
    line_start: array[int]
    line_end: array[int]
    text: bytes
    text_end: array[int]
    heads: array[int]
    head_end: array[int]
    # Markdown blocks' section paths, by block number.
    sections: dict[int, str] = field(default_factory=dict)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The build allocates millions of objects and makes no reference cycles, so the cycle
    collector's passes over them are wasted (about 5% of a batch's instructions)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def content_fingerprint(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def stat_fingerprint(st: os.stat_result) -> str:
    return f"{st.st_size}:{st.st_mtime_ns}"


def _same_file_state(a: os.stat_result, b: os.stat_result) -> bool:
    # ctime too: a write that puts the mtime back (cp -p, touch -r) still moves it.
    return (a.st_ino, a.st_size, a.st_mtime_ns, a.st_ctime_ns) == (
        b.st_ino, b.st_size, b.st_mtime_ns, b.st_ctime_ns
    )


def _real_path(path: str, real_dirs: dict[str, str]) -> str:
    """A file's real path, its folder resolved once per batch: one lstat a file, not one a
    path component (a folder swapped for a link within a batch's read goes unseen)."""
    if os.path.islink(path):
        return os.path.realpath(path)
    folder, base = os.path.split(path)
    real = real_dirs.get(folder)
    if real is None:
        real = real_dirs[folder] = os.path.realpath(folder)
    return os.path.join(real, base)


def _read_file(
    root: str,
    real_root: str,
    name: str,
    warnings: list[str],
    by_content: bool,
    real_dirs: dict[str, str],
) -> tuple[str | None, str]:
    """A listed file's text (None when it is skipped, with a warning naming it) and the
    fingerprint of what was read: a digest of the bytes when `by_content`, else its size and
    mtime, or CHANGED when they moved during the read."""
    path = Path(root) / name
    shown = display_name(name)
    # Checked again here: a file may have been swapped for a link out since the listing.
    if not within(real_root, _real_path(str(path), real_dirs)):
        warnings.append(f"{shown}: skipped, it links to outside the corpus folder")
        return None, UNREADABLE
    if by_content:
        digests: list[str] = []
        text = read_text(
            path, warnings, shown, lambda raw: digests.append(content_fingerprint(raw))
        )
        return text, digests[0] if digests else UNREADABLE
    try:
        before = os.stat(path)
    except OSError:
        before = None
    text = read_text(path, warnings, shown)
    try:
        after = os.stat(path)
    except OSError:
        return text, UNREADABLE
    if before is None or not _same_file_state(before, after):
        return text, CHANGED
    return text, stat_fingerprint(after)


def analyze_files(job: tuple[str, list[str]], by_content: bool = True) -> FileBatch:
    """Scan and tokenize one group of files, `job` = (corpus folder, paths in it);
    `by_content`: fingerprint the files by their bytes rather than their size and mtime."""
    with _no_cycle_collection():
        return _analyze_files(job, by_content)


def _analyze_files(job: tuple[str, list[str]], by_content: bool) -> FileBatch:
    root, names = job
    real_root = os.path.realpath(root)
    real_dirs: dict[str, str] = {}
    warnings: list[str] = []
    counts = DocCounts()
    files: list[FileScan] = []
    keys: list[bytes] = []
    headline: list[bool] = []
    reference: list[bool] = []
    line_start, line_end = array("i"), array("i")
    texts: list[bytes] = []
    text_end = array("q")
    heads, head_end = array("i"), array("i")
    sections: dict[int, str] = {}
    bodies: list[str] = []
    body_chars = 0
    all_blocks: list[Block] = []
    size = 0
    for real_name in names:
        text, fingerprint = _read_file(
            root, real_root, real_name, warnings, by_content, real_dirs
        )
        name = display_name(real_name)
        if text is None:
            files.append(FileScan(name, 0, 0, False, fingerprint))
            continue
        blocks, chrome = scan(text, name)
        files.append(FileScan(name, len(blocks), chrome, True, fingerprint))
        all_blocks.extend(blocks)
        fielded = is_markdown(name)
        if fielded and bodies:  # documents are counted in order
            counts.add_texts(bodies, folded=True)
            bodies, body_chars = [], 0
        for block in blocks:
            keys.append(block.key)
            headline.append(block.headline)
            reference.append(block.reference)
            line_start.append(block.line_start)
            line_end.append(block.line_end)
            encoded = block.text.encode("utf-8", "surrogatepass")
            texts.append(encoded)
            size += len(encoded)
            text_end.append(size)
            if fielded:
                sections[len(keys) - 1] = block.section
                body = index_body(block.text)
                written = words(body)
                counts.spellings.update(long_words(written))
                body_tokens = tokens_of_words(written) + code_extras(body)
                counts.add(
                    body_tokens + field_tokens(block.section, block.code), len(body_tokens)
                )
                continue
            body = folded_index_body(block.text, block.folded)
            bodies.append(body)
            body_chars += len(body)
            if body_chars >= COUNT_CHARS:
                counts.add_texts(bodies, folded=True)
                bodies, body_chars = [], 0
    counts.add_texts(bodies, folded=True)
    for block in all_blocks:
        if block.headline:
            heads.extend(counts.term_id(t) for t in dict.fromkeys(tokenize(block.heading)))
        head_end.append(len(heads))
    return FileBatch(
        files, warnings, counts, b"".join(keys), headline, reference, line_start, line_end,
        b"".join(texts), text_end, heads, head_end, sections,
    )


# --- the parent side -----------------------------------------------------------------------


def _ints(values: array[int] | list[int]) -> Int32Array:
    return np.asarray(values, dtype=np.int32)


# One group of documents' (term, tf) pairs: term ids, tfs, pairs per document, first document.
Group = tuple[Int32Array, npt.NDArray[Any], Int32Array, int]


class PostingsBuilder:
    """Collects documents' (term, tf) pairs group by group; `finish` lays them out term-major
    (documents ascending within a term) with one sort per group."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.n_docs = 0
        self._groups: list[Group] = []
        self._lengths: list[Int32Array] = []

    def add(
        self,
        terms: Sequence[str],
        local: Int32Array,
        tf: Int32Array,
        pairs: Int32Array,
        lengths: Int32Array,
    ) -> None:
        """Documents in order; `local` ids index `terms`, per document in first-appearance
        order, so new terms get global ids in order of first appearance in the corpus."""
        lut = np.zeros(len(terms), dtype=np.int32)
        if len(local):
            present = np.flatnonzero(np.bincount(local, minlength=len(terms)))
            if len(present) == len(terms):  # usually: only dropped duplicates leave gaps
                names: Sequence[str] = terms
            else:
                names = [terms[i] for i in present.tolist()]
            # One C-level pass: each name's global id, -1 for names not seen before.
            found = np.fromiter(
                map(self.vocab.get, names, itertools.repeat(-1)), np.int64, len(names)
            )
            known = found >= 0
            if known.all():
                lut[present] = found
            else:
                lut[present[known]] = found[known]
                new = present[~known]
                lut[new] = self._number_new(terms, local, new)
        small = len(tf) == 0 or int(tf.max()) < 1 << 16
        self._groups.append(
            (lut[local], tf.astype(np.uint16 if small else np.int32), pairs, self.n_docs)
        )
        self._lengths.append(lengths)
        self.n_docs += len(lengths)

    def _number_new(
        self, terms: Sequence[str], local: Int32Array, new: npt.NDArray[np.intp]
    ) -> Int32Array:
        """Global ids for terms not seen before, in order of their first appearance; returns
        the ids of `new` (ascending local ids)."""
        is_new = np.zeros(len(terms), dtype=bool)
        is_new[new] = True
        stream = local[is_new[local]]
        distinct, first = np.unique(stream, return_index=True)
        ordered = distinct[np.argsort(first)]
        start = len(self.vocab)
        self.vocab.update(zip([terms[i] for i in ordered.tolist()], itertools.count(start)))
        ids = np.empty(len(terms), dtype=np.int32)
        ids[ordered] = np.arange(start, start + len(ordered), dtype=np.int32)
        out: Int32Array = ids[new]
        return out

    def finish(self) -> Postings:
        n_terms = len(self.vocab)
        groups, self._groups = self._groups, []
        # Two halves of the groups are placed in two threads (numpy's sorts and scatters let
        # go of the GIL): the second half's postings of a term go after the first half's.
        sizes = np.cumsum([len(g[0]) for g in groups])
        half = int(np.searchsorted(sizes, sizes[-1] / 2)) + 1 if len(groups) > 1 else 1
        counts = np.zeros(n_terms, dtype=np.int64)
        before_second = counts
        for n, (terms, _, _, _) in enumerate(groups):
            if n == half:
                before_second = counts.copy()
            counts += np.bincount(terms, minlength=n_terms)
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        nnz = int(indptr[-1])
        docs = np.empty(nnz, dtype=np.int32)
        tf = np.empty(nnz, dtype=np.int32)
        del counts

        def place(part: list[Group], cursor: npt.NDArray[np.int64]) -> None:
            part.reverse()
            while part:  # popped one by one so each group's memory goes once it is placed
                _place(*part.pop(), cursor, docs, tf)

        first, second = groups[:half], groups[half:]
        del groups
        with ThreadPoolExecutor(max_workers=2) as pool:
            done = [
                pool.submit(place, first, indptr[:-1].copy()),
                pool.submit(place, second, indptr[:-1] + before_second),
            ]
            for future in done:
                future.result()
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int32)
        return Postings(
            self.vocab, indptr, docs, tf, lengths.astype(np.int32), term_fields(self.vocab)
        )


def _place(
    terms: Int32Array,
    tf_in: npt.NDArray[Any],
    pairs: Int32Array,
    first_doc: int,
    cursor: npt.NDArray[np.int64],
    docs: Int32Array,
    tf: Int32Array,
) -> None:
    m = len(terms)
    if m == 0:
        return
    local_doc = np.repeat(np.arange(len(pairs), dtype=np.int64), pairs)
    # Field widths in bits: shifts and masks unpack the key (a modulo costs 15x a shift).
    doc_bits = max(len(pairs) - 1, 1).bit_length()
    tf_bits = int(tf_in.max()).bit_length()
    if int(terms.max()).bit_length() + doc_bits + tf_bits <= 62:
        # One packed key per pair: a plain integer sort (fast) instead of an argsort.
        key = (terms.astype(np.int64) << doc_bits | local_doc) << tf_bits | tf_in
        key.sort()
        tf_sorted = key & ((1 << tf_bits) - 1)
        key >>= tf_bits
        doc_sorted = (key & ((1 << doc_bits) - 1)) + first_doc
        term_sorted = key >> doc_bits
    else:
        order = np.lexsort((local_doc, terms))
        tf_sorted, term_sorted = tf_in[order], terms[order].astype(np.int64)
        doc_sorted = local_doc[order] + first_doc
    starts = np.flatnonzero(np.r_[True, term_sorted[1:] != term_sorted[:-1]])
    run = np.diff(np.r_[starts, m])
    rank = np.arange(m) - np.repeat(starts, run)
    dest = cursor[term_sorted] + rank
    docs[dest] = doc_sorted
    tf[dest] = tf_sorted
    cursor[term_sorted[starts]] += run


@dataclass
class FolderBuild:
    table: PassageTable
    postings: Postings
    files: dict[str, int]
    dropped: int
    warnings: list[str]
    # What was read of each listed file (`_read_file`), by the name it is cited by.
    fingerprints: dict[str, str] = field(default_factory=dict)
    # The corpus's long words as written (`retrieval.spelling`), sorted.
    spellings: list[str] = field(default_factory=list)


@dataclass
class Fingerprint:
    """A corpus as a build sees it: each listed file's fingerprint (`_read_file`) by the name
    it is cited by, and the listing's warnings about what it left out (links out...)."""

    files: dict[str, str] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)


# Set by `recording_reads`: where `build_folder` puts what it read, as the Index that
# `Index.build_folder` returns does not carry it.
_READS: ContextVar[Fingerprint | None] = ContextVar("citebot_reads", default=None)


@contextlib.contextmanager
def recording_reads() -> Iterator[Fingerprint]:
    """What the folder builds inside the block read, so the cache key can describe exactly
    the bytes an index was built from."""
    reads = Fingerprint()
    token = _READS.set(reads)
    try:
        yield reads
    finally:
        _READS.reset(token)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # read_text reports it


def _batches(root: Path, paths: list[Path], limit: int) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    names: list[str] = []
    size = 0
    for path in paths:
        names.append(path.relative_to(root).as_posix())
        size += _size(path)
        if size >= limit:
            out.append((str(root), names))
            names, size = [], 0
    if names:
        out.append((str(root), names))
    return out


def _results(
    jobs: list[tuple[str, list[str]]], workers: int, by_content: bool
) -> Iterator[FileBatch]:
    analyze = functools.partial(analyze_files, by_content=by_content)
    done = 0
    if workers > 1 and len(jobs) > 1:
        # spawn, not fork: the bot may build from a process that already runs threads.
        context = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                # A bounded window of jobs in flight keeps results from piling up.
                pending: deque[Future[FileBatch]] = deque()
                todo = iter(jobs)
                for job in itertools.islice(todo, 2 * workers):
                    pending.append(pool.submit(analyze, job))
                while pending:
                    batch = pending.popleft().result()
                    following = next(todo, None)
                    if following is not None:
                        pending.append(pool.submit(analyze, following))
                    done += 1
                    yield batch
        except BrokenProcessPool as exc:
            # E.g. a script without a __main__ guard, which spawned workers cannot import.
            log.warning("index worker processes failed (%s); continuing in this one", exc)
    yield from map(analyze, jobs[done:])


def build_folder(
    root: Path,
    paths: list[Path],
    progress: Progress | None = None,
    workers: int | None = None,
    batch_bytes: int | None = None,
) -> FolderBuild:
    """The passages and postings of the files `paths` of a corpus folder (those the reference
    chunker in tests/oracle.py gives, count for count), built in `workers` processes
    (default: by corpus size), in batches of about `batch_bytes` (default: by corpus size).
    The warnings start with the listing's (`CorpusFiles`)."""
    total = sum(_size(path) for path in paths)
    if workers is None:
        workers = default_workers(total)
    if batch_bytes is None:
        batch_bytes = batch_size(total, workers)
    jobs = _batches(root, paths, batch_bytes)
    builder = PostingsBuilder()
    writer = TableWriter()
    seen: set[bytes] = set()
    counts: dict[str, int] = {}
    left_out = list(paths.warnings) if isinstance(paths, CorpusFiles) else []
    warnings = list(left_out)
    fingerprints: dict[str, str] = {}
    dropped = 0
    done = 0
    spellings: set[str] = set()
    with _no_cycle_collection():
        for batch in _results(jobs, workers, total <= CONTENT_HASH_LIMIT):
            dropped += _merge(batch, builder, writer, seen, counts)
            room = MAX_GATHERED - len(spellings)
            if room > 0:
                spellings.update(itertools.islice(batch.counts.spellings, room))
            warnings.extend(batch.warnings)
            fingerprints.update((scanned.name, scanned.fingerprint) for scanned in batch.files)
            done += len(batch.files)
            if progress is not None:
                progress(done, len(paths))
    reads = _READS.get()
    if reads is not None:
        reads.files.update(fingerprints)
        reads.left_out.extend(left_out)
    if builder.n_docs == 0:
        raise CorpusError(f"no readable paragraphs in corpus folder {root}")
    table = writer.finish()
    del seen
    postings = builder.finish()
    release_free_memory()

    def frequency(found: list[str]) -> list[int]:
        ids = [postings.vocab.get(t, -1) for t in index_tokens(found)]
        return [int(postings.indptr[t + 1] - postings.indptr[t]) if t >= 0 else 0 for t in ids]

    return FolderBuild(
        table, postings, counts, dropped, warnings, fingerprints,
        kept_spellings(spellings, frequency),
    )


def _merge(
    batch: FileBatch,
    builder: PostingsBuilder,
    writer: TableWriter,
    seen: set[bytes],
    counts: dict[str, int],
) -> int:
    """Apply one batch in corpus order; returns how many blocks it dropped."""
    c = batch.counts
    pairs = _ints(c.pairs)
    keys = batch.keys
    kept_blocks: list[int] = []
    kept_heads: list[int] = []
    columns = _Columns.of(batch)
    headed = False  # whether any kept block has a heading
    dropped = 0
    first = 0
    for scanned in batch.files:
        if not scanned.readable:
            continue
        last = first + scanned.blocks
        file_keys = [keys[KEY_SIZE * b : KEY_SIZE * (b + 1)] for b in range(first, last)]
        fid = writer.file_id(scanned.name)
        dropped += scanned.chrome
        markdown = is_markdown(scanned.name)
        if (
            not markdown
            and not any(batch.headline[first:last])
            and seen.isdisjoint(file_keys)
            and len(set(file_keys)) == len(file_keys)
        ):
            # The common case, in C: no headline, no duplicate, every block is a passage.
            seen.update(file_keys)
            blocks = list(range(first, last))
            kept_blocks.extend(blocks)
            kept_heads.extend([-1] * len(blocks))
            counts[scanned.name] = len(blocks)
            _write_plain(batch, columns, writer, fid, blocks)
            first = last
            continue
        # Markdown: the same text in another file stays at its own place (the asker may mean
        # either, and the section tells them apart); only repeats within the file go.
        pool = set() if markdown else seen
        kept, duplicates = assemble(file_keys, batch.headline[first:last], pool)
        dropped += duplicates
        counts[scanned.name] = len(kept)
        blocks = [first + k.block for k in kept]
        heads = [-1 if k.heading is None else first + k.heading for k in kept]
        kept_blocks.extend(blocks)
        kept_heads.extend(heads)
        has_heads = any(h >= 0 for h in heads)
        headed = headed or has_heads
        if markdown or has_heads:
            _write_headed(batch, writer, fid, blocks, heads)
        else:
            _write_plain(batch, columns, writer, fid, blocks)
        first = last
    if not kept_blocks:
        return dropped
    kept_idx = np.asarray(kept_blocks, dtype=np.int64)
    keep = np.zeros(len(pairs), dtype=bool)
    keep[kept_idx] = True
    in_kept = np.repeat(keep, pairs)
    local = _ints(c.local)[in_kept]
    tf = _ints(c.tf)[in_kept]
    kept_pairs = pairs[kept_idx]
    lengths = _ints(c.lengths)[kept_idx]
    if headed:
        local, tf = _add_headings(batch, kept_blocks, kept_heads, local, tf, kept_pairs, lengths)
    builder.add(c.terms, local, tf, kept_pairs, lengths)
    return dropped


def _text(batch: FileBatch, b: int) -> bytes:
    return batch.text[batch.text_end[b - 1] if b else 0 : batch.text_end[b]]


@dataclass
class _Columns:
    """A batch's per-block values as arrays, converted once per batch rather than per file."""

    line_start: Int32Array
    line_end: Int32Array
    reference: npt.NDArray[np.bool_]
    size: npt.NDArray[np.int64]

    @classmethod
    def of(cls, batch: FileBatch) -> _Columns:
        ends = np.asarray(batch.text_end, dtype=np.int64)
        return cls(
            _ints(batch.line_start),
            _ints(batch.line_end),
            np.asarray(batch.reference, dtype=bool),
            np.diff(ends, prepend=0),
        )


def _write_plain(
    batch: FileBatch, columns: _Columns, writer: TableWriter, fid: int, blocks: list[int]
) -> None:
    """Passages without headings, written in one go (the common case)."""
    if not blocks:
        return
    lo, hi = blocks[0], blocks[-1]
    if hi - lo + 1 == len(blocks):  # no block dropped in between: one slice of the texts
        start = batch.text_end[lo - 1] if lo else 0
        texts = batch.text[start : batch.text_end[hi]]
        idx: slice | npt.NDArray[np.int64] = slice(lo, hi + 1)
    else:
        texts = b"".join(_text(batch, b) for b in blocks)
        idx = np.asarray(blocks, dtype=np.int64)
    writer.add_plain(
        fid,
        columns.line_start[idx],
        columns.line_end[idx],
        columns.reference[idx],
        texts,
        columns.size[idx],
    )


def _write_headed(
    batch: FileBatch, writer: TableWriter, fid: int, blocks: list[int], heads: list[int]
) -> None:
    """Passages one at a time, each with its heading: the text of its headline block
    (`heads`, -1 for none), or a Markdown block's section path."""
    for ordinal, (b, h) in enumerate(zip(blocks, heads, strict=True)):
        if h >= 0:
            raw = _text(batch, h).decode("utf-8", "surrogatepass")
            heading = heading_text(raw).encode("utf-8", "surrogatepass")
        else:
            heading = batch.sections.get(b, "").encode("utf-8", "surrogatepass")
        writer.add_encoded(
            fid,
            batch.line_start[h] if h >= 0 else batch.line_start[b],
            batch.line_end[b],
            ordinal,
            _text(batch, b),
            heading,
            batch.reference[b],
        )


def _add_headings(
    batch: FileBatch,
    kept_blocks: list[int],
    kept_heads: list[int],
    local: Int32Array,
    tf: Int32Array,
    kept_pairs: Int32Array,
    lengths: Int32Array,
) -> tuple[Int32Array, Int32Array]:
    """A headed passage's tokens gain the heading's tokens it lacks, once each, after its
    own (as `index.passage_tokens` does). Updates kept_pairs and lengths in place."""
    c = batch.counts
    pair_start = np.concatenate(([0], np.cumsum(_ints(c.pairs), dtype=np.int64)))
    end_in_kept = np.cumsum(kept_pairs, dtype=np.int64)
    at: list[int] = []
    extra: list[int] = []
    for i, (b, h) in enumerate(zip(kept_blocks, kept_heads, strict=True)):
        if h < 0:
            continue
        have = set(c.local[pair_start[b] : pair_start[b + 1]])
        lo = batch.head_end[h - 1] if h else 0
        added = [t for t in batch.heads[lo : batch.head_end[h]] if t not in have]
        at.extend([int(end_in_kept[i])] * len(added))
        extra.extend(added)
        kept_pairs[i] += len(added)
        lengths[i] += len(added)
    if not extra:
        return local, tf
    positions = np.asarray(at, dtype=np.int64)
    return (
        np.insert(local, positions, np.asarray(extra, dtype=np.int32)),
        np.insert(tf, positions, 1),
    )


GROUP_DOCS = 65536


def count_documents(docs: Iterable[tuple[list[str], int]]) -> Postings:
    """Postings of tokenized documents, each (its tokens, the length of its text), laid out
    as a folder build lays them out."""
    builder = PostingsBuilder()
    counts = DocCounts()

    def flush() -> None:
        builder.add(
            counts.terms, _ints(counts.local), _ints(counts.tf), _ints(counts.pairs),
            _ints(counts.lengths),
        )

    for tokens, length in docs:
        counts.add(tokens, length)
        if len(counts.pairs) >= GROUP_DOCS:
            flush()
            counts = DocCounts()
    if len(counts.pairs) or builder.n_docs == 0:
        flush()
    return builder.finish()
