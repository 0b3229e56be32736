"""Markdown ingestion rate: `Index.build_folder` over real documentation folders.

    .venv/bin/python -m bench.markdown_rate [--folders rust-book,prometheus] [--rounds 5]

A folder is a name under ../shared/data/docs/ (rust-book, prometheus), `squad` (the SQuAD dev
corpus of bench.corpora, plain text, for comparison) or a path. Each build runs in a fresh
process, as `citebot index` would (no word cache left by an earlier build), and times
`Index.build_folder(folder, RankingConfig())` alone, interpreter start-up and imports
excluded. One untimed build of every folder comes first, so the files are in the page cache;
then each round builds every folder, the order alternating between rounds. Prints each build's
wall and CPU seconds, then per folder: files, MB read (10^6 bytes; the files the build
ingests), passages, median wall seconds and MB/s (MB over the median).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.corpora import DOCS, ROOT

WORKER_TIMEOUT = 600


@dataclass(frozen=True)
class Folder:
    label: str
    path: Path
    files: int
    markdown_files: int
    bytes: int

    @property
    def kind(self) -> str:
        if self.markdown_files == self.files:
            return "Markdown"
        return "plain text" if self.markdown_files == 0 else "mixed"


def resolve(name: str) -> Path:
    if (DOCS / name).is_dir():
        return DOCS / name
    if name == "squad":
        from bench.corpora import squad

        return squad().folder
    path = Path(name)
    if not path.is_dir():
        raise SystemExit(f"no such folder: {name} (nor {DOCS / name})")
    return path


def describe(name: str) -> Folder:
    from retrieval.corpus import corpus_files, is_markdown

    path = resolve(name)
    files = corpus_files(path)
    markdown = sum(is_markdown(p.name) for p in files)
    size = sum(p.stat().st_size for p in files)
    return Folder(name, path, len(files), markdown, size)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def worker(folder: Path) -> dict[str, Any]:
    """One timed build in this process."""
    from retrieval.engines import RankingConfig
    from retrieval.index import Index

    cpu = _cpu_seconds()
    started = time.perf_counter()
    index = Index.build_folder(folder, RankingConfig())
    wall = time.perf_counter() - started
    return {
        "seconds": wall,
        "cpu": _cpu_seconds() - cpu,
        "passages": len(index.passages),
        "files": index.stats.files,
    }


def run_build(folder: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.markdown_rate", "--worker", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"build of {folder} failed: {tail[:200]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folders", default="rust-book,prometheus")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(Path(args.worker))))
        return
    folders = [describe(name) for name in args.folders.split(",")]
    passages: dict[str, int] = {}
    for folder in folders:  # untimed: the files into the page cache
        passages[folder.label] = int(run_build(folder.path)["passages"])
    walls: dict[str, list[float]] = {f.label: [] for f in folders}
    for round_ in range(1, args.rounds + 1):
        for folder in folders if round_ % 2 else folders[::-1]:
            built = run_build(folder.path)
            walls[folder.label].append(float(built["seconds"]))
            print(
                f"round {round_} {folder.label}: {built['seconds']:.3f} s wall, "
                f"{built['cpu']:.3f} s CPU, {built['passages']:,} passages",
                flush=True,
            )
    print()
    print("| folder | kind | files | MB | passages | median build s | MB/s |")
    print("|---|---|---|---|---|---|---|")
    for folder in folders:
        median = statistics.median(walls[folder.label])
        mb = folder.bytes / 1e6
        print(
            f"| {folder.label} | {folder.kind} | {folder.files} | {mb:.3g} | "
            f"{passages[folder.label]:,} | {median:.3f} | {mb / median:.3g} |"
        )


if __name__ == "__main__":
    main()
