"""The abstention trade-off: for each confidence threshold, the share of no-answer questions
citebot abstains on and the share of answerable ones it wrongly abstains on, per set.

    python -m eval.abstention_curve [--squad N]

Sets: the suite's (eval/suite.json) and, with --squad, N SQuAD dev questions against half of
the SQuAD articles, where a question about an article left out is a realistic no-answer case
(build the SQuAD corpus first: `python -m bench.corpora`).
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from retrieval.answer import AnswerConfig, answer
from retrieval.engines import RankingConfig
from retrieval.evaluate import load_questions, load_suite
from retrieval.index import Index

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT / "bench" / ".data" / "squad"
THRESHOLDS = [round(0.05 * i, 2) for i in range(0, 17)]


@dataclass(frozen=True)
class Scored:
    no_answer: bool
    confidence: float
    # Abstained without the confidence gate (a question word nowhere in the corpus, a name
    # of the question not on the best passage's page, a figure asked for and not stated):
    # it abstains at any threshold.
    missing: bool


def scored_suite() -> dict[str, list[Scored]]:
    out: dict[str, list[Scored]] = {}
    no_gate = AnswerConfig(min_confidence=0.0)
    for qs in load_suite(ROOT / "eval" / "suite.json"):
        if not (qs.questions.exists() and qs.corpus.is_dir()):
            continue  # e.g. ../shared is not on this machine
        index = Index.build_folder(qs.corpus, RankingConfig())
        rows = []
        for q in load_questions(qs.questions):
            a = answer(index, q.question, no_gate)
            rows.append(Scored(q.no_answer, a.confidence, not a.answered))
        out[qs.name] = rows
    return out


def scored_squad(n: int) -> list[Scored]:
    """Even-numbered articles indexed; questions on odd ones have no answer there."""
    from bench.corpora import load_questions as squad_questions

    files = sorted((SQUAD / "corpus").iterdir())
    kept = {f.name for i, f in enumerate(files) if i % 2 == 0}
    questions = squad_questions(SQUAD / "questions.jsonl")
    random.Random(7).shuffle(questions)
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            if f.name in kept:
                shutil.copy(f, Path(tmp) / f.name)
        index = Index.build_folder(tmp, RankingConfig())
        no_gate = AnswerConfig(min_confidence=0.0)
        rows = []
        for q in questions[:n]:
            a = answer(index, q.question, no_gate)
            rows.append(Scored(q.file not in kept, a.confidence, not a.answered))
    return rows


def curve(rows: list[Scored], threshold: float) -> tuple[float, float]:
    """(abstain, false_abstain) at a threshold."""
    no = [r for r in rows if r.no_answer]
    yes = [r for r in rows if not r.no_answer]

    def abstains(r: Scored) -> bool:
        return r.missing or r.confidence < threshold

    return (
        sum(map(abstains, no)) / max(len(no), 1),
        sum(map(abstains, yes)) / max(len(yes), 1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--squad", type=int, default=0, metavar="N")
    args = parser.parse_args()
    sets = scored_suite()
    if args.squad and (SQUAD / "corpus").is_dir():
        sets["squad-half"] = scored_squad(args.squad)
    table = Table(title="abstain / false abstain by confidence threshold (default 0.35)")
    table.add_column("threshold")
    for name in sets:
        table.add_column(name)
    for t in THRESHOLDS:
        cells = [f"{a:.2f}/{f:.2f}" for a, f in (curve(rows, t) for rows in sets.values())]
        table.add_row(f"{t:.2f}", *cells)
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
