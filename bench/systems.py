"""The systems under benchmark: build a persisted index, load it, search it.

Every system indexes the same passages and answers with passage numbers into that list, so
quality is measured the same way for all. citebot builds from the corpus folder (its
production path); the peers read citebot's passages from a file that `prepare_passages` wrote
once per corpus before any timed build (`bench.run` does it), so a peer's build time is its own
tokenizing, indexing and persisting, not citebot's chunking.
"""

from __future__ import annotations

import importlib.util
import json
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from retrieval.corpus import Passage

KEYS_FILE = "passages.json"
# Beside the systems' cache folders of a corpus: one JSON list a line,
# [file, line_start, line_end, heading, text without URLs].
PEER_PASSAGES = "peer-passages.jsonl"


class Searcher(Protocol):
    def search(self, question: str, k: int) -> list[int]: ...

    def first_answer(self, question: str) -> object: ...


def _save_keys(cache: Path, keys: list[list[Any]]) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    (cache / KEYS_FILE).write_text(json.dumps(keys), encoding="utf-8")


def load_keys(cache: Path) -> list[list[Any]]:
    keys: list[list[Any]] = json.loads((cache / KEYS_FILE).read_text(encoding="utf-8"))
    return keys


def prepare_passages(corpus_dir: Path, folder: Path) -> Path:
    """citebot's passages of a corpus, from its production build, for the peers to index."""
    from retrieval.engines import RankingConfig
    from retrieval.index import Index

    index = Index.build_folder(corpus_dir, RankingConfig())
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / PEER_PASSAGES
    partial = target.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as fh:
        for p in index.passages:
            row = [p.file, p.line_start, p.line_end, p.heading, p.body_for_index()]
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    partial.replace(target)
    return target


def _peer_passages(cache: Path) -> list[Passage]:
    """The passages `prepare_passages` wrote for this corpus (the folder above `cache`)."""
    path = cache.parent / PEER_PASSAGES
    if not path.exists():
        raise RuntimeError(f"{path} is missing: bench.run writes it before a peer's build")
    out: list[Passage] = []
    with path.open(encoding="utf-8") as fh:
        for ordinal, line in enumerate(fh):
            file, lo, hi, heading, text = json.loads(line)
            out.append(Passage(file, lo, hi, ordinal, text, heading))
    return out


def _keys(passages: list[Passage]) -> list[list[Any]]:
    return [[p.file, p.line_start, p.line_end] for p in passages]


def _texts(cache: Path) -> tuple[list[list[Any]], list[str]]:
    passages = _peer_passages(cache)
    return _keys(passages), [f"{p.heading} {p.text}".strip() for p in passages]


# --- citebot -------------------------------------------------------------------------------


class CitebotSearcher:
    def __init__(self, corpus_dir: Path, cache: Path, engine: str) -> None:
        from retrieval.engines import RankingConfig
        from retrieval.store import load_or_build

        config = RankingConfig(engine="sparse" if engine == "sparse" else "rank-bm25")
        result = load_or_build(corpus_dir, config, cache)
        self.index = result.index
        self.loaded = result.loaded

    def search(self, question: str, k: int) -> list[int]:
        return [hit.index for hit in self.index.search(question, k)]

    def first_answer(self, question: str) -> object:
        from retrieval.answer import answer

        return answer(self.index, question)


def citebot_build(engine: str) -> Callable[[Path, Path], None]:
    def build(corpus_dir: Path, cache: Path) -> None:
        searcher = CitebotSearcher(corpus_dir, cache, engine)
        _save_keys(cache, [list(span) for span in searcher.index.passages.spans()])

    return build


def citebot_load(engine: str) -> Callable[[Path, Path], Searcher]:
    def load(corpus_dir: Path, cache: Path) -> Searcher:
        searcher = CitebotSearcher(corpus_dir, cache, engine)
        if not searcher.loaded:
            raise RuntimeError("citebot index was rebuilt instead of loaded from the cache")
        return searcher

    return load


# --- raw rank_bm25 over citebot's tokens -----------------------------------------------------


class RankBM25Searcher:
    def __init__(self, model: Any) -> None:
        self.model = model

    def search(self, question: str, k: int) -> list[int]:
        from retrieval.analyze import tokenize
        from retrieval.engines import top_k

        tokens = tokenize(question)
        if not tokens:
            return []
        return [int(i) for i in top_k(self.model.get_scores(tokens), k)]

    def first_answer(self, question: str) -> object:
        return self.search(question, 10)


def rank_bm25_build(corpus_dir: Path, cache: Path) -> None:
    import rank_bm25

    from retrieval.engines import RankingConfig
    from retrieval.index import passage_tokens

    passages = _peer_passages(cache)
    cfg = RankingConfig()
    docs = [passage_tokens(p) for p in passages]
    # The same rank-bm25 class and parameters as citebot's default ranking.
    model: rank_bm25.BM25
    if cfg.variant == "okapi":
        model = rank_bm25.BM25Okapi(docs, k1=cfg.k1, b=cfg.b, epsilon=cfg.epsilon)
    elif cfg.variant == "l":
        model = rank_bm25.BM25L(docs, k1=cfg.k1, b=cfg.b, delta=cfg.delta)
    else:
        model = rank_bm25.BM25Plus(docs, k1=cfg.k1, b=cfg.b, delta=cfg.delta)
    _save_keys(cache, _keys(passages))
    with (cache / "model.pkl").open("wb") as fh:
        pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)


def rank_bm25_load(corpus_dir: Path, cache: Path) -> Searcher:
    with (cache / "model.pkl").open("rb") as fh:
        return RankBM25Searcher(pickle.load(fh))


# --- bm25s ---------------------------------------------------------------------------------
# As its README recommends for speed: the numba backend (`BM25(backend="numba")`, retrieval with
# `backend_selection="numba"`), the index loaded in memory (`mmap=False`; a memory map is its
# low-memory option), English stop words and PyStemmer's English stemmer. "bm25s-numpy" is the
# same index on bm25s' default numpy backend, also in memory.


def _bm25s_stemmer() -> Any:
    if importlib.util.find_spec("Stemmer") is None:
        return None
    import Stemmer

    return Stemmer.Stemmer("english")


class BM25sSearcher:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.stemmer = _bm25s_stemmer()
        self.selection = "numba" if model.backend == "numba" else "auto"

    def search(self, question: str, k: int) -> list[int]:
        import bm25s

        tokens = bm25s.tokenize(
            [question], stopwords="en", stemmer=self.stemmer, return_ids=False,
            show_progress=False,
        )
        known = [[t for t in tokens[0] if t in self.model.vocab_dict]]
        if not known[0]:
            return []
        k = min(k, int(self.model.scores["num_docs"]))
        docs, scores = self.model.retrieve(
            known, k=k, show_progress=False, n_threads=0, backend_selection=self.selection
        )
        return [int(d) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def first_answer(self, question: str) -> object:
        return self.search(question, 10)


def bm25s_build(backend: str) -> Callable[[Path, Path], None]:
    def build(corpus_dir: Path, cache: Path) -> None:
        import bm25s

        keys, texts = _texts(cache)
        tokens = bm25s.tokenize(
            texts, stopwords="en", stemmer=_bm25s_stemmer(), show_progress=False
        )
        model = bm25s.BM25(backend=backend)
        model.index(tokens, show_progress=False)
        _save_keys(cache, keys)
        model.save(str(cache / "bm25s"), show_progress=False)

    return build


def bm25s_load(backend: str) -> Callable[[Path, Path], Searcher]:
    def load(corpus_dir: Path, cache: Path) -> Searcher:
        import bm25s

        model = bm25s.BM25.load(
            str(cache / "bm25s"), mmap=False, backend=backend, show_progress=False
        )
        return BM25sSearcher(model)

    return load


# --- tantivy --------------------------------------------------------------------------------
# tantivy's en_stem pipeline (simple tokenizer, tokens over 40 bytes dropped, lower case,
# English stemmer) with citebot's stop-word list in between, as a custom text analyzer
# (tantivy-py's "Create a Custom Tokenizer" tutorial). The analyzer applies to the passages and
# to the parsed questions alike; it is registered again on every opened index, which keeps
# only its name.

_QUERY_SYNTAX = re.compile(r"[^\w\s]+")
TANTIVY_ANALYZER = "citebot_en"


def _tantivy_analyzer() -> Any:
    import tantivy

    from retrieval.analyze import STOPWORDS

    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.custom_stopword(sorted(STOPWORDS)))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


class TantivySearcher:
    def __init__(self, index: Any) -> None:
        self.index = index
        self.searcher = index.searcher()

    def search(self, question: str, k: int) -> list[int]:
        text = _QUERY_SYNTAX.sub(" ", question).lower().strip()
        if not text:
            return []
        try:
            query = self.index.parse_query(text, ["body"])
        except ValueError:  # nothing but stop words
            return []
        hits = self.searcher.search(query, k).hits
        return [int(self.searcher.doc(addr)["pid"][0]) for _, addr in hits]

    def first_answer(self, question: str) -> object:
        return self.search(question, 10)


def tantivy_build(corpus_dir: Path, cache: Path) -> None:
    import tantivy

    keys, texts = _texts(cache)
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("pid", stored=True, indexed=False)
    builder.add_text_field("body", stored=False, tokenizer_name=TANTIVY_ANALYZER)
    path = cache / "tantivy"
    path.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(builder.build(), path=str(path))
    index.register_tokenizer(TANTIVY_ANALYZER, _tantivy_analyzer())
    writer = index.writer(heap_size=256_000_000)
    for i, text in enumerate(texts):
        writer.add_document(tantivy.Document(pid=i, body=text))
    writer.commit()
    writer.wait_merging_threads()
    _save_keys(cache, keys)


def tantivy_load(corpus_dir: Path, cache: Path) -> Searcher:
    import tantivy

    index = tantivy.Index.open(str(cache / "tantivy"))
    index.register_tokenizer(TANTIVY_ANALYZER, _tantivy_analyzer())
    return TantivySearcher(index)


# --- registry -------------------------------------------------------------------------------

Builder = Callable[[Path, Path], None]
Loader = Callable[[Path, Path], Searcher]

SYSTEMS: dict[str, tuple[Builder, Loader, str | None]] = {
    "citebot-sparse": (citebot_build("sparse"), citebot_load("sparse"), None),
    "citebot-rank-bm25": (citebot_build("rank-bm25"), citebot_load("rank-bm25"), None),
    "rank_bm25": (rank_bm25_build, rank_bm25_load, "rank_bm25"),
    "bm25s": (bm25s_build("numba"), bm25s_load("numba"), "bm25s"),
    "bm25s-numpy": (bm25s_build("numpy"), bm25s_load("numpy"), "bm25s"),
    "tantivy": (tantivy_build, tantivy_load, "tantivy"),
}
# Scoring every passage in Python per query: timed on a sample at 20k passages and more.
SLOW = frozenset({"citebot-rank-bm25", "rank_bm25"})
CITEBOT = frozenset({"citebot-sparse", "citebot-rank-bm25"})


# Modules a system needs besides its own.
NEEDS: dict[str, tuple[str, ...]] = {"bm25s": ("numba",)}


def available(system: str) -> bool:
    module = SYSTEMS[system][2]
    if module is None:
        return True
    return all(importlib.util.find_spec(m) is not None for m in (module, *NEEDS.get(system, ())))
