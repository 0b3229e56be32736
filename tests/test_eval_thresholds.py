"""Every question set of eval/suite.json keeps its measured scores (the seeds' own set, the
acceptance set, and the sets over two real documentation folders)."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.engines import RankingConfig
from retrieval.evaluate import QuestionSet, evaluate, load_questions, load_suite, shortfalls
from retrieval.index import Index

ROOT = Path(__file__).resolve().parent.parent
SUITE = load_suite(ROOT / "eval" / "suite.json")


@pytest.mark.parametrize("qs", SUITE, ids=[qs.name for qs in SUITE])
def test_question_set_meets_thresholds(qs: QuestionSet) -> None:
    if not (qs.questions.exists() and qs.corpus.is_dir()):
        pytest.skip(f"{qs.name}: {qs.questions} or {qs.corpus} is not on this machine")
    questions = load_questions(qs.questions)
    assert sum(q.no_answer for q in questions) >= 1
    _, m = evaluate(Index.build_folder(qs.corpus, RankingConfig()), questions)
    assert not shortfalls(m, qs.thresholds)


def test_real_docs_sets_are_written_as_the_issue_asks() -> None:
    for name in ("rust-book", "prometheus"):
        questions = load_questions(ROOT / "eval" / f"{name}.jsonl")
        assert len(questions) >= 40
        assert sum(q.no_answer for q in questions) >= 8
        assert all("/" in s or s.count(":") == 1 for q in questions for s in q.sources)


def test_abstention_curve_counts_both_sides() -> None:
    from eval.abstention_curve import Scored, curve

    rows = [
        Scored(no_answer=True, confidence=0.2, missing=False),
        Scored(no_answer=True, confidence=0.9, missing=True),
        Scored(no_answer=False, confidence=0.5, missing=False),
        Scored(no_answer=False, confidence=0.1, missing=False),
    ]
    assert curve(rows, 0.0) == (0.5, 0.0)  # a missing word abstains at any threshold
    assert curve(rows, 0.3) == (1.0, 0.5)
    assert curve(rows, 0.6) == (1.0, 1.0)
