"""Top-k in two passes: coarse integer impacts find the few passages worth scoring exactly.

Each contribution is also stored as a small integer "impact", rounded up, so a passage's summed
impacts times `scale` never fall below its BM25 score. Summing 2-byte impacts into a 2-byte
accumulator reads half the bytes per posting that float sums do (passage number included),
keeps the accumulator a quarter of the size, and lets a busy question clear it with one
memset. A handful of passages scored exactly gives a floor `theta` for the k-th best score;
only passages whose impact sum reaches it are scored exactly, with the float contributions
added in the question's term order, as `SparseEngine.matched` adds them. So the result is the
exhaustive top-k, float for float.
"""

from __future__ import annotations

import math
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
# Passage numbers as the postings hold them; searching int32 in int32 avoids a copy.
DocArray = npt.NDArray[np.int32]
ImpactArray = npt.NDArray[np.uint16]

# Impact levels: finer levels admit fewer passages to the exact pass, but a question may then
# hold fewer terms before its impact sum could overflow 16 bits (65535 // LEVELS of the
# largest; more falls back to the exhaustive sum).
LEVELS = 1023
ACC_MAX = int(np.iinfo(np.uint16).max)
# Passages of the rarest list scored exactly to set theta, per requested result.
SEED_PER_RESULT = 4
# More candidates than this and scoring them one by one costs more than the exhaustive sum.
MAX_CANDIDATES = 50_000
_CHUNK = 1 << 22


@dataclass(frozen=True)
class Impacts:
    """levels[i] = floor(weights[i] / scale) + 1 > weights[i] / scale, in 1..LEVELS."""

    levels: ImpactArray
    scale: float

    @classmethod
    def of(cls, weights: FloatArray) -> Impacts:
        top = float(weights.max()) if len(weights) else 0.0
        scale = top / (LEVELS - 1) if top > 0 else 1.0
        levels = np.empty(len(weights), dtype=np.uint16)

        def fill(lo: int) -> None:
            part = weights[lo : lo + _CHUNK] / scale
            np.floor(part, out=part)
            part += 1
            # Bounds from above even for a negative weight (the engine then skips the pass).
            np.clip(part, 1, LEVELS, out=part)
            levels[lo : lo + _CHUNK] = part

        # numpy releases the GIL in elementwise work, so chunks fill in parallel.
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(fill, range(0, len(weights), _CHUNK)))
        return cls(levels, scale)


@dataclass(frozen=True)
class Lists:
    """The postings read by the search: term t's passages (ascending) and float contributions
    are docs[indptr[t]:indptr[t+1]] and weights[...], its impacts the same slice of levels."""

    indptr: npt.NDArray[np.int64]
    docs: npt.NDArray[np.int32]
    weights: FloatArray
    impacts: Impacts

    def span(self, t: int) -> tuple[int, int]:
        return int(self.indptr[t]), int(self.indptr[t + 1])

    def lookup(self, t: int, docs: DocArray) -> FloatArray:
        """Term t's contribution to each of `docs` (ascending), 0.0 where it is absent."""
        lo, hi = self.span(t)
        held = self.docs[lo:hi]
        out = np.zeros(len(docs), dtype=np.float64)
        if hi == lo or len(docs) == 0:
            return out
        if len(held) <= len(docs):  # binary-search the shorter list in the longer one
            pos = np.minimum(np.searchsorted(docs, held), len(docs) - 1)
            hit = docs[pos] == held
            out[pos[hit]] = self.weights[lo:hi][hit]
        else:
            pos = np.minimum(np.searchsorted(held, docs), len(held) - 1)
            hit = held[pos] == docs
            out[hit] = self.weights[lo + pos[hit]]
        return out

    def exact(self, term_ids: list[int], docs: DocArray, base: float) -> FloatArray:
        """BM25 scores of `docs`, term contributions added in question order, then `base`."""
        values = {t: self.lookup(t, docs) for t in dict.fromkeys(term_ids)}
        total = np.zeros(len(docs), dtype=np.float64)
        for t in term_ids:
            total += values[t]
        total += base
        return total


def margin(theta: float) -> float:
    """Slack below theta: more than `top_k`'s tie tolerance (1e-9) plus float rounding."""
    return 4e-9 + 1e-12 * abs(theta)


def distinct(sorted_parts: list[DocArray]) -> DocArray:
    """The union of ascending arrays, ascending (numpy's unique hashes, which is slower
    here than sorting the few values)."""
    if len(sorted_parts) == 1:
        return sorted_parts[0]
    values = np.sort(np.concatenate(sorted_parts))
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    out: DocArray = values[keep]
    return out


def kth_best(values: FloatArray, k: int) -> float:
    if len(values) < k:
        return -math.inf
    return float(np.partition(values, len(values) - k)[len(values) - k])


def impact_search(
    lists: Lists,
    term_ids: list[int],
    base: float,
    boost: FloatArray,
    k: int,
    acc: ImpactArray,
) -> tuple[IntArray, FloatArray] | None:
    """Every passage that can be among the k best (ascending) with its exact boosted score,
    or None when this question does not suit the impact pass (sums that could overflow,
    too many candidates) and the caller should sum exhaustively.

    Needs non-negative contributions and `base`, and `boost` between 0 and 1; `acc` is all
    zero and stays so."""
    found = impact_candidates(lists, term_ids, base, boost, k, acc)
    if found is None:
        return None
    return found.astype(np.int64), lists.exact(term_ids, found, base) * boost[found]


def impact_candidates(
    lists: Lists,
    term_ids: list[int],
    base: float,
    boost: FloatArray,
    k: int,
    acc: ImpactArray,
) -> DocArray | None:
    """The passages `impact_search` scores exactly, ascending: the only part that uses `acc`,
    so the only part a caller sharing `acc` between threads must hold a lock for."""
    levels = lists.impacts.levels
    mult = Counter(term_ids)
    spans = {t: lists.span(t) for t in mult}
    terms = [t for t in mult if spans[t][1] > spans[t][0]]
    if not terms:
        return np.zeros(0, dtype=np.int32)
    ceiling = sum(int(levels[spans[t][0] : spans[t][1]].max()) * mult[t] for t in terms)
    if ceiling > ACC_MAX:
        return None
    touched = sum(spans[t][1] - spans[t][0] for t in terms)
    try:
        for t in terms:
            lo, hi = spans[t]
            add = levels[lo:hi] if mult[t] == 1 else levels[lo:hi] * np.uint16(mult[t])
            np.add.at(acc, lists.docs[lo:hi], add)
        # Theta: the k-th best exact score among the rarest lists' most promising passages.
        # It is a real passage's score, so no more than the true k-th best.
        by_size = sorted(terms, key=lambda t: spans[t][1] - spans[t][0])
        parts: list[DocArray] = []
        for t in by_size:
            parts.append(lists.docs[spans[t][0] : spans[t][1]])
            seed = distinct(parts)
            if len(seed) >= k:
                break
        keep = SEED_PER_RESULT * k
        if len(seed) > keep:
            seed = np.sort(seed[np.argpartition(acc[seed], len(seed) - keep)[-keep:]])
        theta = kth_best(lists.exact(term_ids, seed, base) * boost[seed], k)
        # A passage in the top k scores at least theta (less the tie tolerance) and, as boost
        # is at most 1, so does its unboosted score, which its impacts bound from above.
        cut = 0
        if theta > -math.inf:
            cut = max(math.floor((theta - margin(theta) - base) / lists.impacts.scale), 0)
        found = []
        for t in terms:
            docs = lists.docs[spans[t][0] : spans[t][1]]
            found.append(docs[acc[docs] >= cut])
    finally:
        if touched * 8 > len(acc):
            acc.fill(0)
        else:
            for t in terms:
                acc[lists.docs[spans[t][0] : spans[t][1]]] = 0
    candidates = distinct(found)
    return None if len(candidates) > MAX_CANDIDATES else candidates
