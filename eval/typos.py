"""How citebot answers when the asker slips: every question of the suite's sets with one
typing slip injected, against the same questions as written.

    python -m eval.typos [--seed N] [--two]

A slip is one dropped or replaced letter inside one word of 5+ letters (never its first or
last letter), or two neighbouring letters swapped (never the first), drawn with a seeded
generator, so a run is repeatable and the seed can be
varied. With --two, two slips go into one word of 8+ letters instead, and only questions
with such a word are asked. The table gives hit@1, answer@1, abstain and false abstain, as
written -> slipped.
"""

from __future__ import annotations

import argparse
import random
import re
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from retrieval.engines import RankingConfig
from retrieval.evaluate import Metrics, Question, evaluate, load_questions, load_suite
from retrieval.index import Index

ROOT = Path(__file__).resolve().parent.parent
MIN_SLIP_LETTERS = 5
# Two slips go into a word this long (see `retrieval.spelling`).
MIN_TWO_SLIP_LETTERS = 8
# Replacements come from letters that typists hit for one another most.
NEAR_LETTERS = "aeiourstnl"
_WORD = re.compile(rf"[A-Za-z]{{{MIN_SLIP_LETTERS},}}")
_LONG_WORD = re.compile(rf"[A-Za-z]{{{MIN_TWO_SLIP_LETTERS},}}")


def slip(text: str, rng: random.Random, slips: int = 1) -> str:
    """The text with one slip in one of its longer words, or `slips` in one of 8+ letters
    (unchanged if it has none)."""
    found = list((_WORD if slips == 1 else _LONG_WORD).finditer(text))
    if not found:
        return text
    m = rng.choice(found)
    word = m.group(0)
    for _ in range(slips):
        word = _slip_word(word, rng)
    if slips > 1 and word == m.group(0):  # the second slip undid the first: slip again
        word = _slip_word(_slip_word(word, rng), rng)
    return text[: m.start()] + word + text[m.end() :]


def _slip_word(word: str, rng: random.Random) -> str:
    at = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        slipped = word[:at] + word[at + 1 :]
    elif kind == 1:
        slipped = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    else:
        choices = [c for c in NEAR_LETTERS if c != word[at].lower()]
        slipped = word[:at] + rng.choice(choices) + word[at + 1 :]
    return slipped


def cell(before: float, after: float) -> str:
    return f"{before:.3f} → {after:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--two", action="store_true", help="two slips in a word of 8+ letters")
    args = parser.parse_args()
    slips = 2 if args.two else 1
    what = "two slips in one long word" if args.two else "one slip"
    table = Table(title=f"as written → {what} per question (seed {args.seed})")
    for name in ("set", "n", "hit@1", "answer@1", "abstain", "false abstain"):
        table.add_column(name)
    for qs in load_suite(ROOT / "eval" / "suite.json"):
        if not (qs.questions.exists() and qs.corpus.is_dir()):
            continue  # e.g. ../shared is not on this machine
        rng = random.Random(args.seed)
        index = Index.build_folder(qs.corpus, RankingConfig())
        questions = load_questions(qs.questions)
        if args.two:
            questions = [q for q in questions if _LONG_WORD.search(q.question)]
        slipped: list[Question] = [
            replace(q, question=slip(q.question, rng, slips)) for q in questions
        ]
        _, clean = evaluate(index, questions)
        _, typed = evaluate(index, slipped)
        table.add_row(qs.name, str(len(questions)), *_cells(clean, typed))
    Console(width=120).print(table)


def _cells(clean: Metrics, typed: Metrics) -> list[str]:
    return [
        cell(clean.hit1, typed.hit1),
        cell(clean.answer1, typed.answer1),
        cell(clean.abstain, typed.abstain),
        cell(clean.false_abstain, typed.false_abstain),
    ]


if __name__ == "__main__":
    main()
