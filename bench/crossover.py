"""Where the sparse engine's impact pass starts to pay: the same top-10 searches through the
impact pass and through the full sum, per corpus size, in one process.

    .venv/bin/python -m bench.crossover [--sizes squad,20k,100k,1M] [--questions 1000]

`engines.IMPACTS_FROM` is set from these medians. Indexes are built into
bench/.data/cache/<corpus>/crossover on first use.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.corpora import DATA, corpus_for
from bench.run import pick_questions
from retrieval.engines import RankingConfig, top_k
from retrieval.store import load_or_build

K = 10


def measure(size: str, questions: int) -> tuple[int, float, float, float]:
    """Passages, p50 ms of the impact pass and of the full sum, median passages scored
    exactly by the impact pass."""
    corpus = corpus_for(size)
    cache = DATA / "cache" / corpus.name / "crossover"
    index = load_or_build(corpus.folder, RankingConfig(engine="sparse"), cache).index
    engine, boost = index.sparse, index.boost
    impact: list[float] = []
    full: list[float] = []
    scored: list[int] = []
    for q in pick_questions(corpus.questions_file, questions):
        known = index.terms(q.question).known
        if not known:
            continue
        started = time.perf_counter()
        found = engine.impact_pass(known, K, boost)
        if found is not None:
            top_k(found[1], K)
        middle = time.perf_counter()
        docs, raw = engine.matched(known)
        top_k(raw * boost[docs], K)
        impact.append((middle - started) * 1000)
        full.append((time.perf_counter() - middle) * 1000)
        scored.append(len(found[0]) if found is not None else len(docs))
    return (
        index.postings.n_docs,
        statistics.median(impact),
        statistics.median(full),
        statistics.median(scored),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="squad,20k,100k")
    parser.add_argument("--questions", type=int, default=1000)
    args = parser.parse_args()
    print("| passages | impact pass p50 ms | full sum p50 ms | scored exactly (median) |")
    print("|---|---|---|---|")
    for size in args.sizes.split(","):
        n, impact, full, scored = measure(size, args.questions)
        print(f"| {n:,} | {impact:.3f} | {full:.3f} | {scored:g} |")


if __name__ == "__main__":
    main()
