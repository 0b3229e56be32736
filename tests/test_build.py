"""Building large corpora: the folder build (in worker processes or not) gives exactly what
`build_index(load_corpus(...))` gives; passages are a lazy table; search ranks as before."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retrieval import analyze, build
from retrieval.build import build_folder
from retrieval.corpus import Passage, corpus_files
from retrieval.engines import FloatArray, Postings, RankingConfig, SparseEngine, Variant, top_k
from retrieval.fields import term_fields
from retrieval.index import Hit, Index, contributions
from retrieval.passages import FileBlob, PassageTable
from retrieval.store import load, save
from tests.oracle import build_index, load_corpus

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
VARIANTS: list[Variant] = ["okapi", "l", "plus"]
QUESTIONS = [
    "who is Scale's interim CEO?",
    "How much did Meta invest in Scale AI?",
    "Google drops Scale AI",
    "VentureBeat",
    "Zanzibar spice cloves",
    "data labeling contracts",
]

EXTRA = {
    # A headline over a paragraph, a duplicate of a seed paragraph under a headline, a
    # reference line, chrome, non-ASCII punctuation and a paragraph repeated across files.
    "x/100_extra.md": (
        "# Spice Trade Notes\n\nZanzibar spice farms export cloves \u2014 \u201cmostly\u201d "
        "to India.\n\nRead more\n\nDeal Update Today\n\nThe same paragraph appears twice "
        "across files, only the first is kept.\n\n[1] Source. (2022) https://example.com/a\n"
    ),
    "x/101_dupes.txt": (
        "Another Headline Here\n\nThe same paragraph appears twice across files, only the "
        "first is kept.\n\nCloves and nutmeg come from the Spice Islands, said the trader.\n"
    ),
    "x/102_latin1.txt": "Caf\xe9 cr\xe8me and cloves in Zanzibar, a spicy caf\xe9 story.\n",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("build") / "corpus"
    shutil.copytree(SEEDS, folder)
    for name, text in EXTRA.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("latin1.txt"):
            path.write_bytes(text.encode("latin-1"))
        else:
            path.write_text(text, encoding="utf-8")
    return folder


def same_postings(a: Postings, b: Postings) -> None:
    assert a.vocab == b.vocab
    assert list(a.vocab) == list(b.vocab)  # the same ids in the same insertion order
    assert (a.fields is None) == (b.fields is None)
    if a.fields is not None and b.fields is not None:
        assert np.array_equal(a.fields, b.fields)
    for name in ("indptr", "docs", "tf", "doc_len"):
        x, y = getattr(a, name), getattr(b, name)
        assert np.array_equal(x, y), name
        assert x.dtype == y.dtype, name


def test_passage_table_round_trip() -> None:
    passages = [
        Passage("a.txt", 1, 1, 0, "Plain text.", "", False),
        Passage("a.txt", 3, 5, 1, "Caf\u00e9 \u2014 \u201cquoted\u201d \U0001f600", "Head", True),
        Passage("dir/b.md", 2, 2, 0, "x", "", False),
    ]
    table = PassageTable.from_passages(passages)
    assert len(table) == 3
    assert table == passages
    assert passages == table
    assert list(table) == passages
    assert table[1] == passages[1]
    assert table[-1] == passages[-1]
    assert table[0:2] == passages[0:2]
    assert table[::-1] == passages[::-1]
    with pytest.raises(IndexError):
        table[3]
    assert table.present_files() == ["a.txt", "dir/b.md"]
    assert table.indices_of("a.txt") == [0, 1]
    assert table.indices_of("missing.txt") == []
    assert table.spans() == [("a.txt", 1, 1), ("a.txt", 3, 5), ("dir/b.md", 2, 2)]
    assert table != passages[:2]
    assert PassageTable.from_passages([]) == []


def test_saved_passages_load_lazily_and_equal(corpus: Path, tmp_path: Path) -> None:
    index = Index.build_folder(corpus, RankingConfig(engine="sparse"))
    save(index, tmp_path / "entry", "k")
    loaded = load(tmp_path / "entry", "k", RankingConfig(engine="sparse"))
    assert isinstance(loaded.passages, PassageTable)
    assert isinstance(loaded.passages.blob, FileBlob)  # read on demand, not loaded
    assert loaded.passages == load_corpus(corpus).passages
    assert loaded.files == index.files
    assert loaded.find("x/101_dupes.txt") == index.find("x/101_dupes.txt")
    # The paragraph 100_extra.md also has stays here: a citation never moves to another file.
    assert [p.file for p in loaded.find("x/101_dupes.txt")] == ["x/101_dupes.txt"] * 2


@pytest.mark.parametrize("workers", [1, 2])
def test_folder_build_equals_the_in_process_build(corpus: Path, workers: int) -> None:
    config = RankingConfig(engine="sparse")
    reference = build_index(load_corpus(corpus), config)
    # One file per batch, so batches cross worker processes and each has its own vocabulary.
    built = Index.build_folder(corpus, config, workers=workers, batch_bytes=1)
    assert built.passages == reference.passages
    same_postings(built.postings, reference.postings)
    assert np.array_equal(built.weights, reference.weights)
    assert built.stats.passages == reference.stats.passages
    assert built.stats.dropped == reference.stats.dropped
    assert built.stats.files == reference.stats.files
    assert built.stats.warnings == reference.stats.warnings
    assert any(p.heading for p in built.passages)
    assert any(p.reference for p in built.passages)


def test_a_batch_counted_in_pieces_equals_the_reference(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whole corpus in one batch, its text counted a few paragraphs at a time.
    monkeypatch.setattr(build, "COUNT_CHARS", 300)
    config = RankingConfig(engine="sparse")
    reference = build_index(load_corpus(corpus), config)
    built = Index.build_folder(corpus, config, workers=1)
    assert built.passages == reference.passages
    same_postings(built.postings, reference.postings)


def token_list_postings(token_lists: list[tuple[list[str], int]]) -> Postings:
    """The plain reference: terms numbered by first appearance, postings term-major with
    passages ascending, from one sort of (term, passage) keys. Each document is its tokens
    and its text's length (Markdown blocks also hold section and code terms)."""
    docs = [tokens for tokens, _ in token_lists]
    vocab: dict[str, int] = {}
    ids = [vocab.setdefault(token, len(vocab)) for doc in docs for token in doc]
    counts = np.array([len(d) for d in docs], dtype=np.int64)
    lengths = np.array([length for _, length in token_lists], dtype=np.int32)
    n = max(len(docs), 1)
    doc_of = np.repeat(np.arange(len(docs), dtype=np.int64), counts)
    keys, tf = np.unique(np.asarray(ids, dtype=np.int64) * n + doc_of, return_counts=True)
    indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // n, minlength=len(vocab)), out=indptr[1:])
    return Postings(
        vocab, indptr, (keys % n).astype(np.int32), tf.astype(np.int32), lengths,
        term_fields(vocab),
    )


def test_postings_equal_the_token_list_postings(corpus: Path) -> None:
    tokens = load_corpus(corpus).tokens
    built = build_folder(corpus, corpus_files(corpus), workers=1, batch_bytes=1)
    same_postings(built.postings, token_list_postings(tokens))


def test_progress_counts_files(corpus: Path) -> None:
    seen: list[tuple[int, int]] = []
    Index.build_folder(corpus, RankingConfig(), progress=lambda d, t: seen.append((d, t)))
    total = len(corpus_files(corpus))
    assert seen[-1] == (total, total)


@pytest.mark.parametrize("variant", VARIANTS)
def test_sliced_contributions_are_identical(corpus: Path, variant: Variant) -> None:
    postings = Index.build_folder(corpus, RankingConfig()).postings
    config = RankingConfig(variant=variant)
    whole = SparseEngine.contributions(postings, config)
    for chunk in (1, 7, 100):
        assert np.array_equal(contributions(postings, config, chunk), whole)


def dense_search(index: Index, question: str, k: int = 10) -> list[Hit]:
    """The ranking as it was: the whole boosted score array, unmatched passages at -inf."""
    terms = index.terms(question)
    if not terms.scoring:
        return []
    scores: FloatArray = index.scores(terms)
    matched = np.zeros(len(scores), dtype=bool)
    p = index.postings
    for t in terms.scoring:
        matched[p.docs[p.indptr[t] : p.indptr[t + 1]]] = True
    for group in terms.groups:  # or every token of another form of a group
        for other in group.others:
            holds = np.ones(len(scores), dtype=bool)
            for tok in other:
                t = p.vocab[tok]
                mark = np.zeros(len(scores), dtype=bool)
                mark[p.docs[p.indptr[t] : p.indptr[t + 1]]] = True
                holds &= mark
            matched |= holds
    ranked = top_k(np.where(matched, scores, -np.inf), k)
    return [Hit(index.passages[i], float(scores[i]), int(i)) for i in ranked if matched[i]]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("k", [1, 3, 10, 1000])
def test_search_ranks_as_the_dense_ranking(corpus: Path, variant: Variant, k: int) -> None:
    index = Index.build_folder(corpus, RankingConfig(engine="sparse", variant=variant))
    for question in QUESTIONS:
        assert index.search(question, k) == dense_search(index, question, k)


class FlakyPool:
    """A process pool that runs the first `ok` jobs and then breaks, as a pool whose workers
    cannot start (or die) does."""

    ok = 2

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.submitted = 0

    def __enter__(self) -> FlakyPool:
        return self

    def __exit__(self, *args: object) -> None:
        return None

    def submit(self, fn: Callable[[Any], Any], job: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self.submitted += 1
        if self.submitted <= self.ok:
            future.set_result(fn(job))
        else:
            future.set_exception(BrokenProcessPool("worker died"))
        return future


@pytest.mark.parametrize("ok", [0, 2])
def test_a_broken_worker_pool_falls_back_to_this_process(
    corpus: Path, monkeypatch: pytest.MonkeyPatch, ok: int
) -> None:
    config = RankingConfig(engine="sparse")
    reference = build_index(load_corpus(corpus), config)
    monkeypatch.setattr(FlakyPool, "ok", ok)
    monkeypatch.setattr(build, "ProcessPoolExecutor", FlakyPool)
    built = Index.build_folder(corpus, config, workers=2, batch_bytes=1)
    assert built.passages == reference.passages
    same_postings(built.postings, reference.postings)


def uncached_tokenize(text: str) -> list[str]:
    """The analyzer's definition, without its word cache."""
    kept = [
        w.replace("'", "")
        for w in analyze.words(text)
        if w not in analyze.STOPWORDS and (len(w) > 1 or w.isdigit())
    ]
    return list(analyze._stemmer().stemWords(kept))


def test_cached_tokens_equal_the_definition(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [p.text for p in load_corpus(SEEDS).passages] + [
        "It's Bob's 1,000,000 dogs' toys x's's I'm a b c 1 22 3.5 O\u2019Neil's caf\u00e9",
        "",
    ]
    monkeypatch.setattr(analyze, "_TOKEN_CACHE_SIZE", 7)  # cleared again and again
    analyze._TOKEN_OF.clear()
    for _ in range(2):  # cold, then with whatever the cache kept
        assert [analyze.tokenize(t) for t in texts] == [uncached_tokenize(t) for t in texts]
    assert len(analyze._TOKEN_OF) <= 7 + max(len(analyze.words(t)) for t in texts)


TRICKY = [
    "It's Bob's 1,000,000 dogs' toys x's's I'm a b c 1 22 3.5 O\u2019Neil's caf\u00e9",
    "",
    "the of and",  # stopwords only: a document of no tokens
    "QUEUE Q q Quartz",  # the letter the batch uses to separate texts, in every case
    "12,345abc 1,000\n2,000 line\nbreaks \u00bd \uff21\uff22 \ufb01ne \u2018quoted\u2019",
    "Stra\u00dfe STRASSE \u0130stanbul \u212bngstr\u00f6m",  # folds that change length
    "meta meta meta scale",  # repeats: tf 3
    "https://example.com/a?b=1 kept words",
]


def test_counting_many_texts_at_once_equals_counting_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = [p.text for p in load_corpus(SEEDS).passages] + TRICKY
    monkeypatch.setattr(analyze, "_TOKEN_CACHE_SIZE", 50)  # cold and warm words mixed
    analyze._TOKEN_OF.clear()
    one = build.DocCounts()
    for text in texts:
        one.add(analyze.tokenize(text))
    many = build.DocCounts()
    many.add_texts(texts[:40])
    many.add_texts(texts[40:])  # a second group continues the same local vocabulary
    for name in ("terms", "local", "tf", "pairs", "lengths"):
        assert list(getattr(many, name)) == list(getattr(one, name)), name


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_blob_copies_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel_copy: bool
) -> None:
    data = bytes(range(256)) * 40_000 + "caf\u00e9 \u2014 end".encode()
    (tmp_path / "src.bin").write_bytes(data)
    if not kernel_copy:

        def refuse(*args: Any) -> int:
            raise OSError(18, "Invalid cross-device link")

        monkeypatch.setattr(os, "copy_file_range", refuse)
    with (tmp_path / "src.bin").open("rb") as fh, (tmp_path / "dst.bin").open("wb") as out:
        out.write(b"head:")  # buffered, not yet flushed: must land first
        FileBlob(fh).copy_to(out, step=1 << 16)
    assert (tmp_path / "dst.bin").read_bytes() == b"head:" + data


def test_cycle_collection_is_restored_after_a_batch() -> None:
    import gc

    from retrieval.build import _no_cycle_collection

    assert gc.isenabled()
    with pytest.raises(RuntimeError), _no_cycle_collection():
        assert not gc.isenabled()
        raise RuntimeError("a failing batch")
    assert gc.isenabled()
    gc.disable()
    try:
        with _no_cycle_collection():
            pass
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()



@pytest.mark.parametrize("variant", VARIANTS)
def test_scores_at_some_passages_equal_the_whole_array_there(
    corpus: Path, variant: Variant
) -> None:
    index = Index.build_folder(corpus, RankingConfig(engine="sparse", variant=variant))
    rng = np.random.default_rng(3)
    for question in QUESTIONS:
        ids = index.terms(question).scoring
        whole = index.sparse.scores(ids)
        for size in (0, 1, 5, len(index.passages)):
            docs = np.sort(rng.choice(len(index.passages), size, replace=False))
            assert np.array_equal(index.sparse.scores_at(ids, docs), whole[docs])
