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
WARMUP = 20


def measure(size: str, questions: int) -> tuple[int, float, float, float]:
    """Passages, p50 ms of a search through the impact pass (its fallback to the full sum
    included) and through the full sum, and the median passages the impact pass scored
    exactly. The two alternate which goes first, after a warm-up round."""
    corpus = corpus_for(size)
    cache = DATA / "cache" / corpus.name / "crossover"
    index = load_or_build(corpus.folder, RankingConfig(engine="sparse"), cache).index
    engine, boost = index.sparse, index.boost

    def impact_pass(known: list[int]) -> int:
        found = engine.impact_pass(known, K, boost)
        if found is None:
            docs, raw = engine.matched(known)
            found = docs, raw * boost[docs]
        top_k(found[1], K)
        return len(found[0])

    def full_sum(known: list[int]) -> int:
        docs, raw = engine.matched(known)
        top_k(raw * boost[docs], K)
        return len(docs)

    picked = pick_questions(corpus.questions_file, questions + WARMUP)
    asked = [known for q in picked if (known := index.terms(q.question).known)]
    for known in asked[:WARMUP]:
        impact_pass(known)
        full_sum(known)
    times: dict[str, list[float]] = {"impact": [], "full": []}
    scored: list[int] = []
    for n, known in enumerate(asked[WARMUP:]):
        order = [("impact", impact_pass), ("full", full_sum)]
        for name, search in order if n % 2 else order[::-1]:
            started = time.perf_counter()
            found = search(known)
            times[name].append((time.perf_counter() - started) * 1000)
            if name == "impact":
                scored.append(found)
    if not scored:
        raise SystemExit(f"{size}: no question has a term this corpus knows")
    return (
        index.postings.n_docs,
        statistics.median(times["impact"]),
        statistics.median(times["full"]),
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
