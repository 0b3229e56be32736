"""Compare BM25 variants and k1/b on the seeds question sets and on SQuAD dev.

    .venv/bin/python -m bench.variants [--questions FILE ...] [--squad N] [--only plus,0.9,0.3]

One row per setting: hit@1 and answer@1 of the full answer (re-ranking included) on each
seeds question set, then on N SQuAD dev questions (built by `python -m bench.corpora`) the
plain BM25 hit@1 and the answer's hit@1. The README's table comes from this command.
"""

from __future__ import annotations

import argparse
import itertools
import random
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.corpora import DATA
from bench.corpora import load_questions as load_squad_questions
from retrieval.answer import answer
from retrieval.engines import RankingConfig, Variant
from retrieval.evaluate import evaluate, load_questions
from tests.oracle import Corpus, build_index, load_corpus

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SETS = [ROOT / "eval" / "questions.jsonl", ROOT.parent / "shared/eval/acceptance.jsonl"]
SQUAD = DATA / "squad"


def squad_hits(corpus: Corpus, config: RankingConfig, n: int) -> tuple[float, float]:
    """Plain-search hit@1 and answer hit@1 on n seeded-random SQuAD dev questions."""
    questions = load_squad_questions(SQUAD / "questions.jsonl")
    random.Random(11).shuffle(questions)
    questions = questions[:n]
    index = build_index(corpus, config)
    search = ranked = 0
    for q in questions:
        hits = index.search(q.question, 1)
        if hits:
            top = hits[0].passage
            search += q.gold_in(top.file, top.line_start, top.line_end)
        shown = answer(index, q.question).passages
        if shown:
            ranked += q.gold_in(shown[0].file, shown[0].line_start, shown[0].line_end)
    return search / len(questions), ranked / len(questions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, nargs="*", default=DEFAULT_SETS)
    parser.add_argument("--corpus", type=Path, default=ROOT / "seeds")
    parser.add_argument("--squad", type=int, default=1000, help="SQuAD questions (0: skip)")
    parser.add_argument(
        "--only", metavar="VARIANT,K1,B", help="one setting, e.g. plus,0.9,0.3 (default: 27)"
    )
    args = parser.parse_args()
    sets = {p.stem: load_questions(p) for p in args.questions if p.exists()}
    corpus = load_corpus(args.corpus)
    squad = load_corpus(SQUAD / "corpus") if args.squad and SQUAD.exists() else None
    table = Table(title="BM25 variants")
    for name in ("variant", "k1", "b"):
        table.add_column(name)
    for name in sets:
        table.add_column(f"{name} hit@1")
        table.add_column(f"{name} answer@1")
    if squad is not None:
        table.add_column(f"SQuAD {args.squad} BM25 hit@1")
        table.add_column(f"SQuAD {args.squad} answer hit@1")
    variants: list[Variant] = ["okapi", "l", "plus"]
    grid = list(itertools.product(variants, (0.9, 1.2, 1.5), (0.3, 0.5, 0.75)))
    if args.only:
        name, k1_text, b_text = args.only.split(",")
        grid = [(v, float(k1_text), float(b_text)) for v in variants if v == name]
    for variant, k1, b in grid:
        config = RankingConfig(variant=variant, k1=k1, b=b)
        index = build_index(corpus, config)
        cells = [variant, str(k1), str(b)]
        for questions in sets.values():
            _, m = evaluate(index, questions)
            cells += [f"{m.hit1:.3f}", f"{m.answer1:.3f}"]
        if squad is not None:
            cells += [f"{x:.3f}" for x in squad_hits(squad, config, args.squad)]
        table.add_row(*cells)
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
