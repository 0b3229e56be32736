"""The BM25 index: build from a corpus, search(question, k), save and load."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from retrieval.analyze import tokenize
from retrieval.corpus import Corpus, Passage, load_corpus
from retrieval.engines import (
    Engine,
    FloatArray,
    Postings,
    RankBM25Engine,
    RankingConfig,
    SparseEngine,
    top_k,
)

log = logging.getLogger(__name__)

# A bibliography entry may answer a question nobody else answers, but never beats prose.
REFERENCE_WEIGHT = 0.5

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    index: int


@dataclass(frozen=True)
class QueryTerms:
    """A question's tokens, with the ones the corpus knows and their idf."""

    tokens: list[str]
    known: list[int]
    idf: list[float]
    unknown: list[str]


def passage_tokens(passage: Passage) -> list[str]:
    """The paragraph's tokens plus the words its headline adds, each once: the headline makes
    the paragraph findable by its words without inflating terms it already has."""
    tokens = tokenize(passage.body_for_index())
    if passage.heading:
        have = set(tokens)
        for tok in tokenize(passage.heading):
            if tok not in have:
                tokens.append(tok)
                have.add(tok)
    return tokens


@dataclass
class BuildStats:
    files: int = 0
    passages: int = 0
    dropped: int = 0
    vocabulary: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


class Index:
    def __init__(
        self,
        passages: list[Passage],
        postings: Postings,
        config: RankingConfig,
        weights: FloatArray | None = None,
        stats: BuildStats | None = None,
    ) -> None:
        self.passages = passages
        self.postings = postings
        self.config = config
        self.stats = stats or BuildStats()
        if weights is None:
            weights = SparseEngine.contributions(postings, config)
        self.weights = weights
        self.sparse = SparseEngine(postings, config, weights)
        self.engine: Engine = (
            self.sparse
            if config.resolved_engine(len(passages)) == "sparse"
            else RankBM25Engine(postings, config)
        )
        self.idf = self.sparse.idf
        self.max_idf = float(self.idf.max()) if len(self.idf) else 1.0
        self._boost = np.array([REFERENCE_WEIGHT if p.reference else 1.0 for p in passages])
        self.files = sorted({p.file for p in passages})
        self._terms_cache: dict[int, frozenset[str]] = {}

    @classmethod
    def build(
        cls, corpus: Corpus, config: RankingConfig, progress: Progress | None = None
    ) -> Index:
        started = time.perf_counter()
        docs: list[list[str]] = []
        total = len(corpus.passages)
        for i, passage in enumerate(corpus.passages):
            docs.append(passage_tokens(passage))
            if progress is not None and (i % 2000 == 0 or i + 1 == total):
                progress(i + 1, total)
        postings = Postings.from_tokens(docs)
        stats = BuildStats(
            files=len(corpus.files),
            passages=total,
            dropped=corpus.dropped,
            vocabulary=len(postings.vocab),
            warnings=list(corpus.warnings),
        )
        index = cls(corpus.passages, postings, config, stats=stats)
        stats.seconds = time.perf_counter() - started
        return index

    @classmethod
    def from_folder(cls, folder: Path | str, config: RankingConfig | None = None) -> Index:
        return cls.build(load_corpus(folder), config or RankingConfig())

    def with_engine(self, config: RankingConfig) -> Index:
        """The same passages and postings scored by another engine (same variant)."""
        return Index(self.passages, self.postings, config, self.weights, self.stats)

    def terms(self, question: str) -> QueryTerms:
        tokens = tokenize(question)
        known: list[int] = []
        idf: list[float] = []
        unknown: list[str] = []
        for tok in tokens:
            t = self.postings.vocab.get(tok)
            if t is None:
                unknown.append(tok)
            else:
                known.append(t)
                idf.append(float(self.idf[t]))
        return QueryTerms(tokens, known, idf, unknown)

    def scores(self, terms: QueryTerms) -> FloatArray:
        out: FloatArray = self.engine.scores(terms.known) * self._boost
        return out

    def search(self, question: str | QueryTerms, k: int = 10) -> list[Hit]:
        terms = self.terms(question) if isinstance(question, str) else question
        if not terms.known:
            return []
        scores = self.scores(terms)
        # BM25+ credits every passage a little for each query term; only real matches count.
        matched = np.zeros(len(scores), dtype=bool)
        p = self.postings
        for t in terms.known:
            matched[p.docs[p.indptr[t] : p.indptr[t + 1]]] = True
        ranked = top_k(np.where(matched, scores, -np.inf), k)
        return [Hit(self.passages[i], float(scores[i]), int(i)) for i in ranked if matched[i]]

    def passage_terms(self, i: int) -> frozenset[str]:
        found = self._terms_cache.get(i)
        if found is None:
            found = self._terms_cache[i] = frozenset(passage_tokens(self.passages[i]))
        return found

    def find(self, file: str) -> list[Passage]:
        return [p for p in self.passages if p.file == file]
