"""The project's question set must not fall below the measured scores in eval/thresholds.json."""

from __future__ import annotations

import json
from pathlib import Path

from retrieval.engines import RankingConfig
from retrieval.evaluate import evaluate, load_questions
from tests.oracle import build_index, load_corpus

ROOT = Path(__file__).resolve().parent.parent


def test_question_set_meets_thresholds() -> None:
    limits = json.loads((ROOT / "eval" / "thresholds.json").read_text(encoding="utf-8"))
    questions = load_questions(ROOT / "eval" / "questions.jsonl")
    assert len(questions) >= 60
    assert sum(q.no_answer for q in questions) >= 10
    _, m = evaluate(build_index(load_corpus(ROOT / "seeds"), RankingConfig()), questions)
    scores = m.to_json()
    for key in ("hit@1", "hit@3", "mrr@10", "answer@1", "abstain"):
        assert scores[key] >= limits[key], f"{key} {scores[key]} < {limits[key]}"
    assert m.false_abstain <= limits["false_abstain_max"]
