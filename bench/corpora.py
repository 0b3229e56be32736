"""Benchmark corpora in bench/.data/: SQuAD v1.1 dev, a 200-passage smoke slice of it, and
deterministic synthetic corpora of N passages.

    .venv/bin/python -m bench.corpora [--big]

Every corpus is a folder of .txt files with one paragraph per line, which citebot's loader
reads as one passage per line. SQuAD questions go to questions.jsonl next to the folder, each
with its gold paragraph as file + line and its answer texts.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data"
# The shared data folder beside the project's checkout (../shared from the project root).
SHARED_DATA = ROOT.parent / "shared" / "data"
SQUAD_JSON = SHARED_DATA / "squad" / "dev-v1.1.json"
DOCS = SHARED_DATA / "docs"
SMOKE_PASSAGES = 200
LINES_PER_FILE = 1000
SEED = 20240601
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Question:
    qid: str
    question: str
    answers: list[str]
    file: str
    line: int

    def gold_in(self, file: str, line_start: int, line_end: int) -> bool:
        """Whether a passage with this citation is the question's gold paragraph."""
        return file == self.file and line_start <= self.line <= line_end


@dataclass(frozen=True)
class BenchCorpus:
    name: str
    folder: Path
    questions_file: Path
    passages: int
    has_gold: bool


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _file_name(n: int, title: str) -> str:
    return f"{n:03d}_{re.sub(r'[^A-Za-z0-9_-]+', '_', title)[:60]}.txt"


def _articles() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(SQUAD_JSON.read_text(encoding="utf-8"))["data"]
    return data


def _write_questions(path: Path, questions: list[Question]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for q in questions:
            fh.write(json.dumps(asdict(q), ensure_ascii=False) + "\n")


def load_questions(path: Path) -> list[Question]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Question(**json.loads(line)) for line in lines if line.strip()]


def _done(base: Path, stamp: str) -> bool:
    marker = base / ".done"
    return marker.exists() and marker.read_text(encoding="utf-8") == stamp


def _write_squad(base: Path, limit: int | None) -> int:
    """Write SQuAD articles (up to `limit` paragraphs) and their questions; paragraph count."""
    folder = base / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    questions: list[Question] = []
    written = 0
    for n, article in enumerate(_articles()):
        if limit is not None and written >= limit:
            break
        paragraphs = article["paragraphs"]
        if limit is not None:
            paragraphs = paragraphs[: limit - written]
        name = _file_name(n, article["title"])
        lines = [_one_line(p["context"]) for p in paragraphs]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        for line_no, p in enumerate(paragraphs, start=1):
            for qa in p["qas"]:
                answers = sorted({a["text"] for a in qa["answers"]})
                questions.append(Question(qa["id"], qa["question"], answers, name, line_no))
        written += len(paragraphs)
    _write_questions(base / "questions.jsonl", questions)
    return written


def squad(data: Path = DATA, smoke: bool = False) -> BenchCorpus:
    """SQuAD dev (or its first 200 paragraphs for the smoke run), built once."""
    name = "smoke" if smoke else "squad"
    base = data / name
    limit = SMOKE_PASSAGES if smoke else None
    stamp = f"{name}:{limit}:v1"
    if not _done(base, stamp):
        count = _write_squad(base, limit)
        (base / ".count").write_text(str(count), encoding="utf-8")
        (base / ".done").write_text(stamp, encoding="utf-8")
    count = int((base / ".count").read_text(encoding="utf-8"))
    return BenchCorpus(name, base / "corpus", base / "questions.jsonl", count, True)


def _pseudo_vocab(rng: np.random.Generator, size: int) -> list[str]:
    """Distinct letter-only pseudo-words of 4-10 letters."""
    letters = np.array(list(_LETTERS))
    out: set[str] = set()
    while len(out) < size:
        length = int(rng.integers(4, 11))
        out.add("".join(rng.choice(letters, length)))
    return sorted(out)


def _uid(i: int) -> str:
    """A unique letter-only token (the analyzer splits letters from digits)."""
    chars = ["u", "q"]
    while True:
        i, r = divmod(i, 26)
        chars.append(_LETTERS[r])
        if i == 0:
            return "".join(chars)


def _sentences() -> list[list[str]]:
    return [
        [s for s in _SENTENCE.split(_one_line(p["context"])) if s]
        for article in _articles()
        for p in article["paragraphs"]
    ]


def _synthetic_lines(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    paragraphs = _sentences()
    vocab = _pseudo_vocab(rng, 50_000)
    picks = rng.integers(0, len(paragraphs), n)
    lines: list[str] = []
    for i, p in enumerate(picks.tolist()):
        sents = list(paragraphs[p])
        order = rng.permutation(len(sents))
        words = " ".join(sents[j] for j in order).split()
        replace = np.flatnonzero(rng.random(len(words)) < 0.1)
        ranks = np.minimum(rng.zipf(1.3, len(replace)), len(vocab)) - 1
        for pos, rank in zip(replace.tolist(), ranks.tolist(), strict=True):
            words[pos] = vocab[rank]
        lines.append(" ".join(words) + f" Ref {_uid(i)}.")
    return lines


def synthetic(n: int, data: Path = DATA, seed: int = SEED) -> BenchCorpus:
    """N passages from dev paragraphs: sentences shuffled, ~10% Zipf pseudo-words, unique ids.
    Questions are SQuAD dev's, without gold (no quality figures on these corpora)."""
    label = f"synth-{n // 1000}k" if n < 1_000_000 else f"synth-{n // 1_000_000}M"
    base = data / label
    stamp = f"{label}:{n}:{seed}:v1"
    dev = squad(data)
    if not _done(base, stamp):
        folder = base / "corpus"
        folder.mkdir(parents=True, exist_ok=True)
        lines = _synthetic_lines(n, seed)
        for f, start in enumerate(range(0, n, LINES_PER_FILE)):
            chunk = lines[start : start + LINES_PER_FILE]
            (folder / f"part-{f:05d}.txt").write_text("\n".join(chunk) + "\n", encoding="utf-8")
        (base / ".done").write_text(stamp, encoding="utf-8")
    return BenchCorpus(label, base / "corpus", dev.questions_file, n, False)


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def corpus_for(size: str, data: Path = DATA) -> BenchCorpus:
    if size in ("squad", "smoke"):
        return squad(data, smoke=size == "smoke")
    return synthetic(parse_size(size), data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="squad,20k")
    parser.add_argument("--big", action="store_true", help="also the 1M-passage corpus")
    args = parser.parse_args()
    sizes = args.sizes.split(",") + (["1M"] if args.big else [])
    for size in sizes:
        c = corpus_for(size)
        print(f"{c.name}: {c.passages} passages in {c.folder}")


if __name__ == "__main__":
    main()
