"""The impact pre-pass must give exactly the exhaustive top-k: same passages, same order, the
same floats, whatever the corpus, question, boost or k."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from retrieval import engines, impacts
from retrieval.engines import Postings, RankingConfig, SparseEngine, Variant, top_k
from retrieval.impacts import LEVELS, Impacts, impact_search
from retrieval.store import load, save
from tests.oracle import Corpus, build_index

VARIANTS: list[Variant] = ["okapi", "l", "plus"]
Boost = npt.NDArray[np.float64]


@pytest.fixture(autouse=True)
def impacts_at_every_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine takes the impact pass only on large corpora; these ones are small."""
    monkeypatch.setattr(engines, "IMPACTS_FROM", 0)


def exhaustive(
    engine: SparseEngine, term_ids: list[int], k: int, boost: Boost
) -> tuple[list[int], list[float]]:
    docs, raw = engine.matched(term_ids)
    scores = raw * boost[docs]
    pick = top_k(scores, k)
    return docs[pick].tolist(), scores[pick].tolist()


def fast(
    engine: SparseEngine, term_ids: list[int], k: int, boost: Boost
) -> tuple[list[int], list[float]]:
    docs, scores = engine.best(term_ids, k, boost)
    return docs.tolist(), scores.tolist()


def random_postings(rng: np.random.Generator, n_docs: int, n_terms: int) -> Postings:
    """Zipf-like term frequencies, and every passage copied a few times, so exact score ties
    (broken by position) are common."""
    originals = n_docs // 4
    bags = []
    for _ in range(originals):
        length = int(rng.integers(1, 40))
        bags.append(rng.zipf(1.3, size=length) % n_terms)
    docs_terms = [bags[int(rng.integers(0, originals))] for _ in range(n_docs)]
    by_term: list[list[tuple[int, int]]] = [[] for _ in range(n_terms)]
    for d, bag in enumerate(docs_terms):
        values, counts = np.unique(bag, return_counts=True)
        for t, c in zip(values.tolist(), counts.tolist(), strict=True):
            by_term[t].append((d, c))
    for t, held in enumerate(by_term):
        if not held:  # an index never holds a term without passages
            by_term[t].append((t % n_docs, 1))
            docs_terms[t % n_docs] = np.append(docs_terms[t % n_docs], t)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(x) for x in by_term])
    flat = [pair for x in by_term for pair in x]
    return Postings(
        vocab={f"t{t}": t for t in range(n_terms)},
        indptr=indptr,
        docs=np.array([d for d, _ in flat], dtype=np.int32),
        tf=np.array([c for _, c in flat], dtype=np.int32),
        doc_len=np.array([len(b) for b in docs_terms], dtype=np.int32),
    )


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("seed", range(4))
def test_random_corpora_give_the_exhaustive_top_k(variant: Variant, seed: int) -> None:
    rng = np.random.default_rng(seed)
    postings = random_postings(rng, n_docs=2000, n_terms=300)
    config = RankingConfig(variant=variant)
    engine = SparseEngine(postings, config, SparseEngine.contributions(postings, config))
    boost = np.where(rng.random(postings.n_docs) < 0.1, 0.5, 1.0)
    pruned = 0
    for _ in range(60):
        terms = rng.zipf(1.3, size=int(rng.integers(1, 12))) % 300
        term_ids = [int(t) for t in terms]  # repeats included: they count twice
        for k in (1, 3, 10, 50):
            assert fast(engine, term_ids, k, boost) == exhaustive(engine, term_ids, k, boost)
        acc = np.zeros(postings.n_docs, dtype=np.uint16)
        found = impact_search(engine._lists, term_ids, engine._base(term_ids), boost, 10, acc)
        assert found is not None and not acc.any()
        pruned += len(found[0]) < len(engine.matched(term_ids)[0])
    # The pass does narrow the field (else it would only be slower).
    assert pruned >= 30


@pytest.mark.parametrize("variant", VARIANTS)
def test_seed_questions_give_the_exhaustive_top_k(seeds: Corpus, variant: Variant) -> None:
    index = build_index(seeds, RankingConfig(variant=variant, engine="sparse"))
    engine = index.sparse
    questions = [
        "who is Scale's interim CEO?",
        "How much did Meta invest in Scale AI?",
        "Scale Scale AI AI data",
        "scale",
        "the a of",
    ]
    for question in questions:
        known = index.terms(question).known
        for k in (1, 5, 20, 10_000):
            assert fast(engine, known, k, index.boost) == exhaustive(
                engine, known, k, index.boost
            )


def test_impacts_bound_the_contributions_from_above() -> None:
    rng = np.random.default_rng(0)
    weights = np.concatenate([rng.random(10_000) * 30, [0.0, 30.0, 1e-12]])
    found = Impacts.of(weights)
    assert found.levels.dtype == np.uint16
    assert found.levels.min() >= 1 and found.levels.max() <= LEVELS
    assert np.all(found.levels * found.scale > weights)
    # ...and tightly: one level of slack at most.
    assert np.all(found.levels * found.scale - weights <= found.scale * (1 + 1e-9))


def small_engine() -> tuple[SparseEngine, Boost]:
    postings = random_postings(np.random.default_rng(7), n_docs=400, n_terms=50)
    config = RankingConfig()
    engine = SparseEngine(postings, config, SparseEngine.contributions(postings, config))
    return engine, np.ones(postings.n_docs)


def test_a_question_whose_impacts_could_overflow_is_summed_exhaustively() -> None:
    engine, boost = small_engine()
    term_ids = [0] * 100 + [1, 2]  # 100 x up to 1023 levels does not fit 16 bits
    acc = np.zeros(engine.postings.n_docs, dtype=np.uint16)
    base = engine._base(term_ids)
    assert impact_search(engine._lists, term_ids, base, boost, 10, acc) is None
    assert fast(engine, term_ids, 10, boost) == exhaustive(engine, term_ids, 10, boost)


def test_too_many_candidates_fall_back_to_the_exhaustive_sum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, boost = small_engine()
    term_ids = [0, 1, 2, 3]
    acc = np.zeros(engine.postings.n_docs, dtype=np.uint16)
    monkeypatch.setattr(impacts, "MAX_CANDIDATES", 0)
    assert impact_search(engine._lists, term_ids, engine._base(term_ids), boost, 5, acc) is None
    assert not acc.any()  # cleared even when giving up
    assert fast(engine, term_ids, 5, boost) == exhaustive(engine, term_ids, 5, boost)


def test_a_negative_idf_disables_the_impact_pass() -> None:
    # Okapi's idf is negative for a term in most passages unless floored; epsilon=-1 keeps a
    # negative floor, and then impacts are no upper bound, so the engine must not use them.
    engine, boost = small_engine()
    config = RankingConfig(variant="okapi", epsilon=-1.0)
    p = engine.postings
    negative = SparseEngine(p, config, SparseEngine.contributions(p, config))
    assert float(negative.idf.min()) < 0
    assert not negative._prunable
    for term_ids in ([0], [0, 1, 5], [3, 3, 9]):
        assert fast(negative, term_ids, 10, boost) == exhaustive(negative, term_ids, 10, boost)


def test_a_length_norm_that_can_go_negative_disables_the_impact_pass() -> None:
    postings = random_postings(np.random.default_rng(3), n_docs=300, n_terms=40)
    for config in (RankingConfig(b=1.5), RankingConfig(k1=-0.5), RankingConfig(delta=-1.0)):
        engine = SparseEngine(postings, config, SparseEngine.contributions(postings, config))
        assert not engine._prunable
        boost = np.ones(postings.n_docs)
        assert fast(engine, [0, 1, 2], 10, boost) == exhaustive(engine, [0, 1, 2], 10, boost)


def test_the_accumulator_is_cleared_when_the_search_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    engine, boost = small_engine()

    def broken(values: Boost, k: int) -> float:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(impacts, "kth_best", broken)
    with pytest.raises(RuntimeError):
        engine.best([0, 1, 2, 3], 5, boost)
    assert engine._acc is not None and not engine._acc.any()


def test_impacts_survive_save_and_memory_mapped_load(seeds: Corpus, tmp_path: Path) -> None:
    index = build_index(seeds, RankingConfig(engine="sparse"))
    save(index, tmp_path / "entry", "key")
    loaded = load(tmp_path / "entry", "key", RankingConfig(engine="sparse"))
    assert isinstance(loaded.sparse.impacts.levels, np.memmap)
    assert loaded.sparse.impacts.scale == index.sparse.impacts.scale
    assert np.array_equal(loaded.sparse.impacts.levels, index.sparse.impacts.levels)
    for question in ["who is Scale's interim CEO?", "Meta stake Scale AI billion", "Google"]:
        known = loaded.terms(question).known
        assert fast(loaded.sparse, known, 10, loaded.boost) == exhaustive(
            index.sparse, known, 10, index.boost
        )


def test_questions_on_many_threads_get_their_own_answers() -> None:
    rng = np.random.default_rng(11)
    postings = random_postings(rng, n_docs=3000, n_terms=200)
    config = RankingConfig()
    engine = SparseEngine(postings, config, SparseEngine.contributions(postings, config))
    boost = np.ones(postings.n_docs)
    questions = [[int(t) for t in rng.zipf(1.3, size=6) % 200] for _ in range(200)]
    expected = [exhaustive(engine, q, 10, boost) for q in questions]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda q: fast(engine, q, 10, boost), questions * 3))
    assert got == expected * 3
