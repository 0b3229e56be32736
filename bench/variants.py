"""Compare BM25 variants and k1/b on the project's question set and the acceptance set.

    .venv/bin/python -m bench.variants [--questions FILE ...]

Prints one row per setting with hit@1 and answer@1 per question set; the README's table
comes from this command.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from rich.console import Console
from rich.table import Table

from retrieval.corpus import load_corpus
from retrieval.engines import RankingConfig, Variant
from retrieval.evaluate import evaluate, load_questions
from retrieval.index import Index

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SETS = [ROOT / "eval" / "questions.jsonl", ROOT.parent / "shared/eval/acceptance.jsonl"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, nargs="*", default=DEFAULT_SETS)
    parser.add_argument("--corpus", type=Path, default=ROOT / "seeds")
    args = parser.parse_args()
    sets = {p.stem: load_questions(p) for p in args.questions if p.exists()}
    corpus = load_corpus(args.corpus)
    table = Table(title="BM25 variants on " + ", ".join(sets))
    table.add_column("variant")
    table.add_column("k1")
    table.add_column("b")
    for name in sets:
        table.add_column(f"{name} hit@1")
        table.add_column(f"{name} answer@1")
    variants: list[Variant] = ["okapi", "l", "plus"]
    for variant, k1, b in itertools.product(variants, (0.9, 1.2, 1.5), (0.5, 0.75, 0.9)):
        index = Index.build(corpus, RankingConfig(variant=variant, k1=k1, b=b))
        cells = [variant, str(k1), str(b)]
        for questions in sets.values():
            _, m = evaluate(index, questions)
            cells += [f"{m.hit1:.3f}", f"{m.answer1:.3f}"]
        table.add_row(*cells)
    Console().print(table)


if __name__ == "__main__":
    main()
