"""The BM25 index: ranking on the seeds, the two engines agreeing, top_k."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.analyze import tokenize
from retrieval.answer import answer
from retrieval.engines import RankingConfig, Variant, top_k
from retrieval.index import Index, passage_tokens
from tests.oracle import Corpus, build_index, load_corpus

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
INTERIM_CEO = "004_bbdec2aa2fae0f2f.txt:9"

QUESTIONS = [
    "who is Scale's interim CEO?",
    "How much did Meta invest in Scale AI?",
    "When was Scale AI founded?",
    "Google drops Scale AI",
    "why is OpenAI moving away from Scale AI",
    "Scale Scale AI AI data",  # repeated terms
    "contractors worldwide tag images",
]
VARIANTS: list[Variant] = ["okapi", "l", "plus"]


def test_interim_ceo_question_is_answered_from_004_line_9(seed_index: Index) -> None:
    a = answer(seed_index, "who is Scale's interim CEO?")
    assert a.answered
    assert a.passages[0].citation == INTERIM_CEO
    # The passage is a retrieval hit in its own right, not only promoted by the answer layer.
    cited = [h.passage.citation for h in seed_index.search("who is Scale's interim CEO?", 3)]
    assert INTERIM_CEO in cited


def test_search_returns_only_passages_holding_a_question_term(seed_index: Index) -> None:
    question = "interim strategy officer"
    wanted = set(tokenize(question))
    hits = seed_index.search(question, 50)
    assert hits
    for hit in hits:
        assert wanted & set(passage_tokens(hit.passage))
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert len(seed_index.search(question, 1)) == 1


@pytest.mark.parametrize("question", ["", "what is the", "zyzzyva quokka", "?!"])
def test_search_without_known_terms_is_empty(seed_index: Index, question: str) -> None:
    assert seed_index.search(question) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_sparse_and_rank_bm25_engines_agree(seeds: Corpus, variant: Variant) -> None:
    sparse = build_index(seeds, RankingConfig(engine="sparse", variant=variant))
    reference = build_index(seeds, RankingConfig(engine="rank-bm25", variant=variant))
    assert sparse.engine.name == "sparse"
    assert reference.engine.name == "rank-bm25"
    for question in QUESTIONS:
        terms = sparse.terms(question)
        assert terms.known, question
        np.testing.assert_allclose(
            sparse.scores(terms), reference.scores(reference.terms(question)), atol=1e-6, rtol=0
        )
        got = [(h.index, h.score) for h in sparse.search(question, 20)]
        want = [(h.index, h.score) for h in reference.search(question, 20)]
        assert [i for i, _ in got] == [i for i, _ in want], question
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-6, rtol=0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_with_engine_keeps_the_results(seeds: Corpus, variant: Variant) -> None:
    built = build_index(seeds, RankingConfig(engine="rank-bm25", variant=variant))
    switched = built.with_engine(RankingConfig(engine="sparse", variant=variant))
    assert switched.engine.name == "sparse"
    for question in QUESTIONS:
        assert [h.index for h in switched.search(question)] == [
            h.index for h in built.search(question)
        ]


def test_one_serving_engine_and_rank_bm25_on_request() -> None:
    assert RankingConfig().resolved_engine() == "sparse"
    assert RankingConfig(engine="auto").resolved_engine() == "sparse"
    assert RankingConfig(engine="rank-bm25").resolved_engine() == "rank-bm25"


def saturation_corpus(tmp_path: Path) -> Corpus:
    (tmp_path / "a.txt").write_text(
        " ".join(["zebra"] * 50) + ".\n"
        "A zebra crossed the road near the river.\n"
        "Lions rested in the shade at noon.\n"
        "Giraffes ate leaves from tall acacia trees.\n"
        "Hippos spent the whole day in the water.\n",
        encoding="utf-8",
    )
    return load_corpus(tmp_path)


def _bounded_case(variant: Variant, engine: str) -> object:
    marks = []
    if variant == "l":
        marks.append(
            pytest.mark.xfail(
                reason="rank-bm25 0.2.2 BM25L multiplies each term's score by its raw frequency "
                "(upstream dorianbrown/rank_bm25#5, fixed by PR #20 but never released), and "
                "SparseEngine copies it for parity: BM25L has no term-frequency saturation, so "
                "a passage repeating a word outranks one that answers (why BM25+ is the default)",
                strict=True,
            )
        )
    return pytest.param(variant, engine, marks=marks, id=f"{variant}-{engine}")


@pytest.mark.parametrize(
    ("variant", "engine"),
    [_bounded_case(v, e) for v in VARIANTS for e in ("sparse", "rank-bm25")],
)
def test_term_frequency_saturates(tmp_path: Path, variant: Variant, engine: str) -> None:
    corpus = saturation_corpus(tmp_path)
    config = RankingConfig(variant=variant, engine="sparse" if engine == "sparse" else "rank-bm25")
    index = build_index(corpus, config)
    terms = index.terms("zebra")
    scores = index.scores(terms)
    idf = float(index.idf[terms.known[0]])
    # Whatever the variant, one query term is worth at most idf * (k1 + 1 + delta).
    assert scores[0] <= idf * (config.k1 + 1 + config.delta) + 1e-9


def test_top_k_orders_best_first_and_breaks_ties_by_position() -> None:
    scores = np.array([1.0, 3.0, 2.0, 3.0, 0.5])
    assert top_k(scores, 3).tolist() == [1, 3, 2]
    assert top_k(scores, 2).tolist() == [1, 3]
    assert top_k(scores, 10).tolist() == [1, 3, 2, 0, 4]
    assert top_k(scores, 0).tolist() == []
    assert top_k(np.zeros(0), 3).tolist() == []
    ties = np.array([2.0, 5.0, 5.0, 5.0, 5.0, 1.0])
    assert top_k(ties, 2).tolist() == [1, 2]


def test_headline_words_index_once(seeds: Corpus) -> None:
    headed = next(p for p in seeds.passages if p.heading and "shuffle" in p.heading)
    tokens = passage_tokens(headed)
    assert tokens.count(tokenize("shuffle")[0]) == 1
    # A headline word the paragraph already has is not counted twice.
    body = tokenize(headed.body_for_index())
    for token in set(tokenize(headed.heading)) & set(body):
        assert tokens.count(token) == body.count(token)


def test_urls_are_not_indexed(seeds: Corpus) -> None:
    ref = next(p for p in seeds.passages if p.reference)
    assert "https" not in passage_tokens(ref)
    assert "https" in ref.text


def test_build_stats(seeds: Corpus, seed_index: Index) -> None:
    stats = seed_index.stats
    assert stats.files == len(seeds.files) == 5
    assert stats.passages == len(seeds.passages)
    assert stats.dropped == seeds.dropped > 0
    assert stats.vocabulary == len(seed_index.postings.vocab) > 0
    assert seed_index.files == sorted(seeds.files)


@pytest.mark.parametrize("variant", VARIANTS)
def test_sparse_matched_scores_equal_the_full_scores(seeds: Corpus, variant: Variant) -> None:
    index = build_index(seeds, RankingConfig(engine="sparse", variant=variant))
    engine = index.sparse
    p = index.postings
    for question in [*QUESTIONS, "scale", "meta meta scale"]:
        known = index.terms(question).known
        found, scores = engine.matched(known)
        holders = np.zeros(p.n_docs, dtype=bool)
        for t in known:
            holders[p.docs[p.indptr[t] : p.indptr[t + 1]]] = True
        assert found.tolist() == np.flatnonzero(holders).tolist()
        # Bit for bit, so the fast path and the full scores can never rank differently.
        assert np.array_equal(scores, engine.scores(known)[found])
    # The scratch mark is cleared after each question.
    assert engine.matched([])[0].size == 0
