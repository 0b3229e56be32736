"""BM25 scoring engines over one shared postings table.

`RankBM25Engine` scores with rank-bm25 itself. `SparseEngine` precomputes every (term, passage)
contribution with rank-bm25's formulas, so a query costs the postings of its terms instead of a
Python loop over every passage. Both give the same scores for the same tokens.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
import rank_bm25

from retrieval.fields import BODY, FIELD_WEIGHTS, FieldArray, field_of
from retrieval.impacts import Impacts, Lists, impact_candidates

Variant = Literal["okapi", "l", "plus"]
# Passages from which the sparse engine's impact pass beats summing every posting of the
# question's terms (`python -m bench.crossover`, p50 of a top-10 search: 0.16 against 0.09
# ms at 20k passages, 0.25 against 0.32 at 100k, 1.4 against 3.7 at 1M); below it the full
# sum's corpus-sized arrays are cheap.
IMPACTS_FROM = 100_000
EngineName = Literal["auto", "rank-bm25", "sparse"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RankingConfig:
    """BM25 variant and parameters; chosen with `citebot eval` (see README)."""

    variant: Variant = "plus"
    k1: float = 0.9
    b: float = 0.3
    delta: float = 1.0
    epsilon: float = 0.25
    # The sparse engine serves; rank-bm25 can be chosen to compare against ("auto" is the
    # sparse engine, kept so that older settings files still load).
    engine: EngineName = "sparse"

    def resolved_engine(self) -> Literal["rank-bm25", "sparse"]:
        return "rank-bm25" if self.engine == "rank-bm25" else "sparse"


@dataclass
class Postings:
    """Term-major sparse table: postings of term t are rows indptr[t]:indptr[t+1]."""

    vocab: dict[str, int]
    indptr: IntArray
    docs: npt.NDArray[np.int32]
    tf: npt.NDArray[np.int32]
    doc_len: npt.NDArray[np.int32]  # the text's tokens: other fields are not normalised
    # Each term's field (`retrieval.fields`), or None when all are of the text.
    fields: FieldArray | None = None

    @property
    def n_docs(self) -> int:
        return len(self.doc_len)

    def doc_freq(self) -> IntArray:
        return np.diff(self.indptr)

    def bags(self) -> list[list[str]]:
        """Token lists with the same counts (order is irrelevant to BM25)."""
        out: list[list[str]] = [[] for _ in range(self.n_docs)]
        for term, t in self.vocab.items():
            lo, hi = int(self.indptr[t]), int(self.indptr[t + 1])
            for d, f in zip(self.docs[lo:hi].tolist(), self.tf[lo:hi].tolist(), strict=True):
                out[d].extend([term] * f)
        return out


def idf_table(
    config: RankingConfig, df: IntArray, n: int, fields: FieldArray | None = None
) -> FloatArray:
    """rank-bm25's idf for each variant, including Okapi's floor for negative values, for
    each field as rank-bm25 over that field alone would give it."""
    if fields is not None:
        out = np.empty(len(df), dtype=np.float64)
        for f in np.unique(fields).tolist():
            mask = fields == f
            out[mask] = idf_table(config, df[mask], n)
        return out
    dff = df.astype(np.float64)
    if config.variant == "okapi":
        idf = np.log(n - dff + 0.5) - np.log(dff + 0.5)
        floor = config.epsilon * (float(idf.mean()) if len(idf) else 0.0)
        return np.where(idf < 0, floor, idf)
    if config.variant == "l":
        return math.log(n + 1) - np.log(dff + 0.5)
    return np.log((n + 1) / dff)


class Engine(Protocol):
    name: str

    def scores(self, term_ids: list[int]) -> FloatArray: ...


class SparseEngine:
    """Precomputed contributions: a query adds up the postings of its terms."""

    name = "sparse"

    def __init__(
        self,
        postings: Postings,
        config: RankingConfig,
        weights: FloatArray,
        impacts: Impacts | None = None,
    ) -> None:
        self.postings = postings
        self.config = config
        self.weights = weights
        self.impacts = impacts if impacts is not None else Impacts.of(weights)
        self.idf = idf_table(config, postings.doc_freq(), postings.n_docs, postings.fields)
        # Each term's field weight, where a term is not of the text.
        self.term_weight = None if postings.fields is None else FIELD_WEIGHTS[postings.fields]
        self._mark: npt.NDArray[np.bool_] | None = None
        self._acc: npt.NDArray[np.uint16] | None = None
        # Plain views: slicing a numpy memmap costs a Python-level __array_finalize__.
        self._lists = Lists(
            np.asarray(postings.indptr),
            np.asarray(postings.docs),
            np.asarray(weights),
            Impacts(np.asarray(self.impacts.levels), self.impacts.scale),
        )
        self._lock = threading.Lock()
        # Impact bounds rely on contributions and BM25+'s base never being negative: idf >= 0,
        # a length norm 1 - b + b*dl/avgdl >= 0 (b in 0..1), k1 >= 0 and delta >= 0.
        self._prunable = bool(
            (len(self.idf) == 0 or float(self.idf.min()) >= 0)
            and 0 <= config.b <= 1
            and config.k1 >= 0
            and config.delta >= 0
        )

    @staticmethod
    def contributions(postings: Postings, config: RankingConfig) -> FloatArray:
        n = postings.n_docs
        df = postings.doc_freq()
        idf = idf_table(config, df, n, postings.fields)
        avgdl = float(postings.doc_len.mean()) if n else 1.0
        tf = postings.tf.astype(np.float64)
        # Per passage, then gathered: the same float operations on each value, in a fraction
        # of the passes over the postings.
        doc_norm = 1 - config.b + config.b * postings.doc_len / avgdl
        term_idf = np.repeat(idf, df)
        k1 = config.k1
        field = None if postings.fields is None else np.repeat(postings.fields, df)

        def per_posting(per_doc: npt.NDArray[np.floating[Any]], plain: float) -> FloatArray:
            """A passage value for each posting; `plain` for terms of fields other than
            the text, which are not length-normalised (rank-bm25 with b = 0)."""
            out: FloatArray = np.asarray(per_doc[postings.docs], dtype=np.float64)
            if field is not None:
                out[field != BODY] = plain
            return out

        if config.variant == "okapi":
            part = tf * (k1 + 1) / (tf + per_posting(k1 * doc_norm, k1))
        elif config.variant == "l":
            ctd = tf / per_posting(doc_norm, 1.0)
            part = tf * (k1 + 1) * (ctd + config.delta) / (k1 + ctd + config.delta)
        else:
            # BM25+ also gives idf*delta to passages without the term; `scores` adds it.
            part = (tf * (k1 + 1)) / (per_posting(k1 * doc_norm, k1) + tf)
        out: FloatArray = term_idf * part
        if field is not None:
            out *= FIELD_WEIGHTS[field]
        return out

    def scores(self, term_ids: list[int]) -> FloatArray:
        out = np.zeros(self.postings.n_docs, dtype=np.float64)
        for t in term_ids:
            lo, hi = self.postings.indptr[t], self.postings.indptr[t + 1]
            out[self.postings.docs[lo:hi]] += self.weights[lo:hi]
        base = self._base(term_ids)
        if base:
            out += base
        return out

    def scores_at(self, term_ids: list[int], docs: IntArray) -> FloatArray:
        """`scores(term_ids)[docs]`, float for float, for a few passages `docs` (ascending):
        each term's postings (ascending) are searched for them."""
        out = np.zeros(len(docs), dtype=np.float64)
        for t in term_ids:
            lo, hi = int(self.postings.indptr[t]), int(self.postings.indptr[t + 1])
            if hi == lo:
                continue
            holders = self.postings.docs[lo:hi]
            at = np.minimum(np.searchsorted(holders, docs), hi - lo - 1)
            held = holders[at] == docs
            out[held] += self.weights[lo + at[held]]
        base = self._base(term_ids)
        if base:
            out += base
        return out

    def _base(self, term_ids: list[int]) -> float:
        """BM25+'s idf*delta, which every passage gets for each query term (0 otherwise);
        one summation order for `scores` and `matched`, so their floats agree exactly."""
        base = 0.0
        if self.config.variant == "plus":
            weight = self.term_weight
            for t in term_ids:
                if weight is None:
                    base += float(self.idf[t]) * self.config.delta
                else:
                    base += float(self.idf[t]) * self.config.delta * float(weight[t])
        return base

    def holders(self, docs: IntArray | npt.NDArray[np.int32]) -> IntArray:
        """The distinct passages in `docs` (postings of the query terms), ascending. A reused
        mark saves allocating a corpus-sized mask for every question."""
        with self._lock:  # questions are answered on worker threads
            if self._mark is None:
                self._mark = np.zeros(self.postings.n_docs, dtype=bool)
            mark = self._mark
            mark[docs] = True
            found: IntArray = np.flatnonzero(mark)
            mark[found] = False
        return found

    def holders_of(self, term_ids: list[int]) -> IntArray:
        """The distinct passages holding any of the terms, ascending."""
        p = self.postings
        spans = [(int(p.indptr[t]), int(p.indptr[t + 1])) for t in term_ids]
        return self.holders(np.concatenate([p.docs[lo:hi] for lo, hi in spans] or [p.docs[:0]]))

    def postings_of(self, term_ids: list[int]) -> tuple[npt.NDArray[np.int32], FloatArray]:
        """The query terms' postings end to end: passages and contributions, term by term."""
        p = self.postings
        if not term_ids:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64)
        spans = [(int(p.indptr[t]), int(p.indptr[t + 1])) for t in term_ids]
        docs = np.concatenate([p.docs[lo:hi] for lo, hi in spans])
        weights = np.concatenate([self.weights[lo:hi] for lo, hi in spans])
        return docs, weights

    def matched(self, term_ids: list[int]) -> tuple[IntArray, FloatArray]:
        """The passages holding at least one of the terms (ascending) and their scores, equal
        to `scores(term_ids)` there, bit for bit: bincount adds each passage's contributions
        in the same order as the loop in `scores`, in one pass instead of one per term."""
        docs, weights = self.postings_of(term_ids)
        totals = np.bincount(docs, weights, minlength=self.postings.n_docs)
        found = self.holders(docs)
        out: FloatArray = np.asarray(totals[found], dtype=np.float64)  # float: weighted
        out += self._base(term_ids)
        return found, out

    def impact_pass(
        self, term_ids: list[int], k: int, boost: FloatArray
    ) -> tuple[IntArray, FloatArray] | None:
        """The candidates of `retrieval.impacts.impact_search` and their boosted scores, or
        None where it does not apply (negative idf, or the search declines)."""
        if not self._prunable:
            return None
        base = self._base(term_ids)
        with self._lock:  # the accumulator is shared; the exact scoring after it is not
            if self._acc is None:
                self._acc = np.zeros(self.postings.n_docs, dtype=np.uint16)
            found = impact_candidates(self._lists, term_ids, base, boost, k, self._acc)
        if found is None:
            return None
        return found.astype(np.int64), self._lists.exact(term_ids, found, base) * boost[found]

    def best(self, term_ids: list[int], k: int, boost: FloatArray) -> tuple[IntArray, FloatArray]:
        """The k best passages holding a query term, best first, with their boosted scores:
        what `top_k(matched(...) * boost)` picks, on large corpora without summing floats
        for every posting."""
        if k <= 0 or not term_ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        found = None
        if self.postings.n_docs >= IMPACTS_FROM:
            found = self.impact_pass(term_ids, k, boost)
        if found is None:
            docs, raw = self.matched(term_ids)
            found = docs, raw * boost[docs]
        docs, scores = found
        pick = top_k(scores, k)
        return docs[pick], scores[pick]


def rank_bm25_model(bags: list[list[str]], config: RankingConfig, b: float) -> rank_bm25.BM25:
    if config.variant == "okapi":
        return rank_bm25.BM25Okapi(bags, k1=config.k1, b=b, epsilon=config.epsilon)
    if config.variant == "l":
        return rank_bm25.BM25L(bags, k1=config.k1, b=b, delta=config.delta)
    return rank_bm25.BM25Plus(bags, k1=config.k1, b=b, delta=config.delta)


class RankBM25Engine:
    """rank-bm25 itself, the definition of the scores, kept to compare against (tests, and
    `engine = "rank-bm25"`): O(terms x passages). One model per field, weighted."""

    name = "rank-bm25"

    def __init__(self, postings: Postings, config: RankingConfig) -> None:
        self.terms = {t: term for term, t in postings.vocab.items()}
        bags = postings.bags()
        by_field: dict[int, list[list[str]]] = {BODY: [[] for _ in bags]}
        for d, bag in enumerate(bags):
            for term in bag:
                f = field_of(term)
                if f not in by_field:
                    by_field[f] = [[] for _ in bags]
                by_field[f][d].append(term)
        self.models = {
            f: rank_bm25_model(fb, config, config.b if f == BODY else 0.0)
            for f, fb in by_field.items()
        }

    def scores(self, term_ids: list[int]) -> FloatArray:
        out: FloatArray = np.zeros(len(self.models[BODY].doc_len), dtype=np.float64)
        for f, model in self.models.items():
            asked = [self.terms[t] for t in term_ids if field_of(self.terms[t]) == f]
            if asked:
                out += float(FIELD_WEIGHTS[f]) * np.asarray(model.get_scores(asked))
        return out


# Scores this close count as tied: the engines add the same terms in different orders, and
# float noise must not decide between equal passages, so that switching engines never
# changes an answer.
TIE = 1e-9


def top_k(scores: FloatArray, k: int) -> IntArray:
    """Indices of the k best scores, best first; ties (within TIE) broken by position."""
    n = len(scores)
    if n == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64)
    k = min(k, n)
    if k < n:
        # Keep everything tied with the k-th score so the tie-break stays by position.
        kth = np.partition(scores, n - k)[n - k]
        candidates = np.flatnonzero(scores >= kth - TIE)
    else:
        candidates = np.arange(n)
    rounded = np.round(scores[candidates] / TIE) * TIE
    order = np.lexsort((candidates, -rounded))
    out: IntArray = candidates[order][:k].astype(np.int64)
    return out
