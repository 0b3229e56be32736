"""Seeds: time from question to rendered Discord text, in process.

    .venv/bin/python -m bench.answer_latency [--rounds N]

Reports p50/p99 over the project's question set after a warm-up round, with the raw
rank-bm25 `get_scores` call on the same tokens as the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bot.render import render_answer
from retrieval.answer import answer
from retrieval.engines import RankBM25Engine, RankingConfig
from retrieval.evaluate import load_questions
from tests.oracle import build_index, load_corpus

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    index = build_index(load_corpus(ROOT / "seeds"), RankingConfig())
    baseline = RankBM25Engine(index.postings, index.config)
    questions = [q.question for q in load_questions(ROOT / "eval" / "questions.jsonl")]
    full: list[float] = []
    scoring: list[float] = []
    for round_ in range(args.rounds + 1):
        for q in questions:
            terms = index.terms(q)
            t0 = time.perf_counter()
            render_answer(answer(index, q))
            t1 = time.perf_counter()
            baseline.scores(terms.known)
            t2 = time.perf_counter()
            if round_:  # round 0 warms caches
                full.append((t1 - t0) * 1000)
                scoring.append((t2 - t1) * 1000)
    p50, base = percentile(full, 0.5), percentile(scoring, 0.5)
    print(f"questions {len(questions)} x {args.rounds} rounds, engine {index.engine.name}")
    print(f"question -> rendered reply: p50 {p50:.3f} ms  p99 {percentile(full, 0.99):.3f} ms")
    print(f"rank-bm25 get_scores alone: p50 {base:.3f} ms  (reply/baseline {p50 / base:.1f}x)")


if __name__ == "__main__":
    main()
