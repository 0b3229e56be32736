"""A question set to per-question results and the metrics of shared/eval/README.md."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrieval.analyze import normalize
from retrieval.answer import Answer, AnswerConfig, AnswerPassage, answer
from retrieval.index import Index


class QuestionSetError(Exception):
    """The question file cannot be used; the message is meant for the user."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    no_answer: bool = False


@dataclass(frozen=True)
class Result:
    question: Question
    answer: Answer
    rank: int | None  # 1-based rank of the first gold passage within the top 10
    correct: bool  # answered, and the top quote holds an acceptable answer

    def to_json(self) -> dict[str, Any]:
        return {"id": self.question.id, **self.answer.to_json()}


@dataclass(frozen=True)
class Metrics:
    hit1: float
    hit3: float
    mrr10: float
    answer1: float
    abstain: float
    false_abstain: float
    answerable: int
    unanswerable: int

    def to_json(self) -> dict[str, Any]:
        return {
            "hit@1": round(self.hit1, 4),
            "hit@3": round(self.hit3, 4),
            "mrr@10": round(self.mrr10, 4),
            "answer@1": round(self.answer1, 4),
            "abstain": round(self.abstain, 4),
            "false_abstain": round(self.false_abstain, 4),
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
        }


def load_questions(path: Path | str) -> list[Question]:
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(f"cannot read question file {file}: {exc}") from exc
    out: list[Question] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            out.append(
                Question(
                    id=str(raw["id"]),
                    question=str(raw["question"]),
                    answers=[str(a) for a in raw.get("answers", [])],
                    sources=[str(s) for s in raw.get("sources", [])],
                    no_answer=bool(raw.get("no_answer", False)),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise QuestionSetError(f"{file}:{n}: not a question object ({exc})") from exc
    if not out:
        raise QuestionSetError(f"no questions in {file}")
    return out


def fold(text: str) -> str:
    return re.sub(r"\s+", " ", normalize(text)).strip().casefold()


def covers(passage: AnswerPassage, source: str) -> bool:
    file, _, line = source.rpartition(":")
    return passage.file == file and passage.line_start <= int(line) <= passage.line_end


def judge(q: Question, a: Answer) -> Result:
    rank = next(
        (i + 1 for i, p in enumerate(a.passages[:10]) if any(covers(p, s) for s in q.sources)),
        None,
    )
    top = fold(a.passages[0].quote) if a.passages else ""
    correct = a.answered and any(fold(ans) in top for ans in q.answers)
    return Result(q, a, rank, correct)


def metrics(results: list[Result]) -> Metrics:
    answerable = [r for r in results if not r.question.no_answer]
    unanswerable = [r for r in results if r.question.no_answer]
    n = max(len(answerable), 1)
    m = max(len(unanswerable), 1)
    return Metrics(
        hit1=sum(r.rank == 1 for r in answerable) / n,
        hit3=sum(r.rank is not None and r.rank <= 3 for r in answerable) / n,
        mrr10=sum(1 / r.rank for r in answerable if r.rank) / n,
        answer1=sum(r.correct for r in answerable) / n,
        abstain=sum(not r.answer.answered for r in unanswerable) / m,
        false_abstain=sum(not r.answer.answered for r in answerable) / n,
        answerable=len(answerable),
        unanswerable=len(unanswerable),
    )


def evaluate(
    index: Index, questions: list[Question], config: AnswerConfig | None = None
) -> tuple[list[Result], Metrics]:
    results = [judge(q, answer(index, q.question, config)) for q in questions]
    return results, metrics(results)


# The metric names of a thresholds object, and whether each is a minimum or a maximum.
MINIMUMS = ("hit@1", "hit@3", "mrr@10", "answer@1", "abstain")
MAXIMUMS = {"false_abstain_max": "false_abstain"}


@dataclass(frozen=True)
class QuestionSet:
    """One entry of an evaluation suite: questions, the corpus they ask about, and the
    scores they must keep (the measured values, so any regression fails)."""

    name: str
    questions: Path
    corpus: Path
    thresholds: dict[str, float] = field(default_factory=dict)


def load_suite(path: Path | str) -> list[QuestionSet]:
    """A suite file: a JSON list of {name, questions, corpus, thresholds}, paths relative to
    the folder that holds the suite's folder (the project root for `eval/suite.json`)."""
    file = Path(path)
    root = file.resolve().parent.parent
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        return [
            QuestionSet(
                str(entry["name"]),
                root / str(entry["questions"]),
                root / str(entry["corpus"]),
                {str(k): float(v) for k, v in entry.get("thresholds", {}).items()},
            )
            for entry in raw
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise QuestionSetError(f"cannot read suite {file}: {exc}") from exc


def shortfalls(m: Metrics, thresholds: dict[str, float]) -> list[str]:
    """Each score that misses its threshold, as a line for the user."""
    scores = {k: float(v) for k, v in m.to_json().items()}
    out = [
        f"{key} {scores[key]:.3f} < {thresholds[key]}"
        for key in MINIMUMS
        if key in thresholds and scores[key] < thresholds[key] - 1e-9
    ]
    for key, metric in MAXIMUMS.items():
        if key in thresholds and scores[metric] > thresholds[key] + 1e-9:
            out.append(f"{metric} {scores[metric]:.3f} > {thresholds[key]}")
    return out
