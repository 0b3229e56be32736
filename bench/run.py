"""Speed, memory and retrieval quality of citebot against rank_bm25, bm25s and tantivy.

    .venv/bin/python -m bench.run [--sizes squad,20k] [--big] [--questions N] [--smoke]

Every system runs in fresh processes per corpus: one builds and persists its index, a second
loads it, answers a first question (cold start) and then times the question set. See
bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

_STARTED = time.perf_counter()

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.md"
WARMUP = 20
SAMPLE_AT_SCALE = 100
SMOKE_QUESTIONS = 200
SCALE = 10_000
WORKER_TIMEOUT = 3600
REFERENCES = ("rank_bm25", "bm25s", "tantivy")
ORDER = ("citebot-sparse", "citebot-rank-bm25", "rank_bm25", "bm25s", "bm25s-numpy", "tantivy")


@dataclass
class Row:
    corpus: str
    system: str
    passages: int = 0
    questions: int = 0
    figures: dict[str, float] = field(default_factory=dict)
    top_digest: str = ""
    note: str = ""


# --- worker (runs in its own process) -------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux carries ru_maxrss over from the parent across exec (the
    driver's own ~60 MB would floor every worker), so VmHWM is preferred where it exists."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pick_questions(path: Path, n: int) -> list[Any]:
    from bench.corpora import load_questions

    questions = load_questions(path)
    random.Random(7).shuffle(questions)
    return questions[:n]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    pos = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[pos]


def quality(
    ranked: list[list[int]], keys: list[list[Any]], questions: list[Any]
) -> dict[str, float]:
    hits = {1: 0, 3: 0, 10: 0}
    rr = 0.0
    for ids, q in zip(ranked, questions, strict=True):
        for rank, i in enumerate(ids[:10], start=1):
            file, lo, hi = keys[i]
            if q.gold_in(file, lo, hi):
                for k in hits:
                    hits[k] += rank <= k
                rr += 1 / rank
                break
    n = max(len(questions), 1)
    out = {f"hit@{k}": v / n for k, v in hits.items()}
    out["mrr@10"] = rr / n
    return out


def answer_at_1(searcher: Any, questions: list[Any]) -> dict[str, float]:
    """citebot's answer: a gold answer text in the top quote (answer@1), and the gold
    paragraph as the first passage shown after re-ranking (shown@1)."""
    from retrieval.answer import answer

    good = shown = 0
    for q in questions:
        a = answer(searcher.index, q.question)
        first = a.passages[0] if a.passages else None
        quote = first.quote if a.answered and first else ""
        good += any(text in quote for text in q.answers)
        shown += first is not None and q.gold_in(first.file, first.line_start, first.line_end)
    n = max(len(questions), 1)
    return {"answer@1": good / n, "shown@1": shown / n}


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and the children it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def worker_build(system: str, corpus: Path, cache: Path) -> dict[str, Any]:
    from bench.systems import SYSTEMS

    cpu = cpu_seconds()
    started = time.perf_counter()
    SYSTEMS[system][0](corpus, cache)
    return {
        "build_s": time.perf_counter() - started,
        "build_cpu_s": cpu_seconds() - cpu,
        "rss_build_mb": peak_rss_mb(),
        "load_build": os.getloadavg()[0],
    }


def worker_query(
    system: str,
    corpus: Path,
    cache: Path,
    questions_file: Path,
    n: int,
    gold: bool,
    quality_n: int = 0,
) -> dict[str, Any]:
    from bench.systems import CITEBOT, SYSTEMS, load_keys

    questions = pick_questions(questions_file, n + WARMUP)
    searcher = SYSTEMS[system][1](corpus, cache)
    searcher.first_answer(questions[0].question)
    cold = time.perf_counter() - _STARTED
    for q in questions[:WARMUP]:
        searcher.search(q.question, 10)
    timed = questions[WARMUP:] if len(questions) > WARMUP else questions
    ranked: list[list[int]] = []
    latencies: list[float] = []
    cpu_latencies: list[float] = []
    begin = time.perf_counter()
    for q in timed:
        t, c = time.perf_counter(), time.process_time()
        ranked.append(searcher.search(q.question, 10))
        cpu_latencies.append((time.process_time() - c) * 1000)
        latencies.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - begin
    keys = load_keys(cache)
    out: dict[str, Any] = {
        "cold_s": cold,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "p50_cpu_ms": percentile(cpu_latencies, 50),
        "load_query": os.getloadavg()[0],
        "qps": len(timed) / total if total else 0.0,
        "questions": len(timed),
        "passages": len(keys),
        "top_digest": hashlib.blake2b(
            json.dumps([[keys[i] for i in ids] for ids in ranked]).encode(), digest_size=8
        ).hexdigest(),
    }
    out["rss_query_mb"] = peak_rss_mb()  # before judging, which grows caches
    if gold:
        # Quality over the whole question set (or quality_n of it), untimed: a 1,000-question
        # sample moves Hit@1 by about 0.01 either way.
        judged = pick_questions(questions_file, quality_n or 1 << 30)
        out["quality_questions"] = len(judged)
        out.update(quality([searcher.search(q.question, 10) for q in judged], keys, judged))
        if system in CITEBOT:
            out.update(answer_at_1(searcher, judged))
    return out


def worker(args: argparse.Namespace) -> None:
    corpus, cache = Path(args.corpus), Path(args.cache)
    if args.phase == "prepare":
        from bench.systems import prepare_passages

        started = time.perf_counter()
        prepare_passages(corpus, cache)
        result = {"prepare_s": time.perf_counter() - started}
    elif args.phase == "build":
        result = worker_build(args.worker, corpus, cache)
    else:
        result = worker_query(
            args.worker,
            corpus,
            cache,
            Path(args.questions_file),
            args.questions,
            args.gold,
            args.quality_questions,
        )
    print(json.dumps(result))


# --- driver ---------------------------------------------------------------------------------


def run_worker(
    system: str, phase: str, extra: list[str], root: Path = ROOT
) -> dict[str, Any]:
    """One worker process. `root` is the checkout whose bench and retrieval code it runs (by
    default this one; bench.build_rounds passes an older checkout)."""
    cmd = [sys.executable, "-m", "bench.run", "--worker", system, "--phase", phase, *extra]
    env = None
    if root != ROOT:
        env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run(
        cmd, cwd=root, env=env, capture_output=True, text=True, timeout=WORKER_TIMEOUT,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{phase} failed: {tail[:160]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def prepare_peer_passages(folder: Path, corpus_cache: Path) -> None:
    """citebot's passages of the corpus in `folder`, written into `corpus_cache` for the peers'
    builds to read (bench.systems.prepare_passages), in a worker process of its own."""
    run_worker("citebot-sparse", "prepare", ["--corpus", str(folder), "--cache", str(corpus_cache)])


def bench_system(
    system: str, corpus: Any, cache_root: Path, n: int, quality_n: int = 0
) -> Row:
    from bench.systems import SLOW, available

    row = Row(corpus.name, system, passages=corpus.passages)
    if not available(system):
        row.note = "skipped: not importable"
        return row
    if corpus.passages >= SCALE and system in SLOW and n > SAMPLE_AT_SCALE:
        n = quality_n = SAMPLE_AT_SCALE
        row.note = f"sample of {n} questions"
    cache = cache_root / corpus.name / system
    # A cache left by an earlier run would turn the build into a load.
    shutil.rmtree(cache, ignore_errors=True)
    base = ["--corpus", str(corpus.folder), "--cache", str(cache)]
    try:
        built = run_worker(system, "build", base)
        extra = [*base, "--questions-file", str(corpus.questions_file), "--questions", str(n)]
        if corpus.has_gold:
            extra += ["--gold", "--quality-questions", str(quality_n)]
        queried = run_worker(system, "query", extra)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        row.note = f"error: {exc}"
        return row
    row.passages = int(queried.pop("passages"))
    row.questions = int(queried.pop("questions"))
    row.top_digest = str(queried.pop("top_digest"))
    row.figures = {**built, **queried}
    return row


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


COLUMNS = [
    ("build s", "build_s", 2),
    ("build CPU s", "build_cpu_s", 2),
    ("cold s", "cold_s", 2),
    ("p50 ms", "p50_ms", 2),
    ("p99 ms", "p99_ms", 2),
    ("p50 CPU ms", "p50_cpu_ms", 2),
    ("QPS", "qps", 1),
    ("RSS build MB", "rss_build_mb", 0),
    ("RSS query MB", "rss_query_mb", 0),
    ("Hit@1", "hit@1", 3),
    ("Hit@3", "hit@3", 3),
    ("Hit@10", "hit@10", 3),
    ("MRR@10", "mrr@10", 3),
    ("shown@1", "shown@1", 3),
    ("answer@1", "answer@1", 3),
]


def ratio(row: Row, rows: list[Row], ref: str) -> str:
    base = next((r for r in rows if r.corpus == row.corpus and r.system == ref), None)
    if base is None or "p50_ms" not in base.figures or "p50_ms" not in row.figures:
        return "-"
    if base.figures["p50_ms"] == 0:
        return "-"
    ratio = row.figures["p50_ms"] / base.figures["p50_ms"]
    if ratio == 0 or ratio >= 0.1:
        return f"{ratio:.2f}x"
    return f"1/{1 / ratio:,.0f}"  # 0.00x would hide how much faster


def table_cells(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    header = ["corpus", "system", "passages", "questions"]
    header += [c[0] for c in COLUMNS] + [f"p50 vs {r}" for r in REFERENCES] + ["note"]
    body: list[list[str]] = []
    for row in rows:
        cells = [row.corpus, row.system, str(row.passages), str(row.questions or "-")]
        cells += [fmt(row.figures.get(key), d) for _, key, d in COLUMNS]
        cells += [ratio(row, rows, ref) for ref in REFERENCES]
        body.append([*cells, row.note])
    return header, body


def machine() -> str:
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = []
    for pkg in ("numpy", "rank-bm25", "PyStemmer", "bm25s", "numba", "tantivy"):
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{pkg} (not installed)")
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs (nproc), "
        f"{ram:.1f} GiB RAM; Python {platform.python_version()}; " + ", ".join(versions)
        + f"; citebot {revision()}"
    )


def revision() -> str:
    """The checkout's commit, marked when files git tracks (other than the results) have
    changed since."""
    def git(*args: str) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        )
        return proc.stdout.strip() if proc.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "(not a git checkout)"
    # The results files themselves change as a run goes.
    changed = git("status", "--porcelain", "-uno", "--", ".", ":!bench/results*")
    return commit + (" with local changes" if changed else "")


def markdown(rows: list[Row], notes: list[str]) -> str:
    header, body = table_cells(rows)
    lines = ["# citebot benchmark", "", machine(), ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    lines += ["", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"


def print_table(rows: list[Row]) -> None:
    from rich.console import Console
    from rich.table import Table

    header, body = table_cells(rows)
    table = Table(title="citebot benchmark")
    for name in header:
        table.add_column(name)
    for cells in body:
        table.add_row(*cells)
    Console(width=250).print(table)


def notes_for(rows: list[Row]) -> list[str]:
    notes = [
        "build: index built and persisted in a fresh process; cold: a second fresh process, "
        "from its start (interpreter start-up excluded) to the first answer from the "
        "persisted index.",
        f"p50/p99/QPS: top-10 search, one question at a time, after {WARMUP} warm-up questions; "
        "p50 CPU: the median of each search's CPU time (process_time: every thread of the "
        "process), which other processes on the machine disturb less than wall time; build "
        "CPU: the build process's and its worker processes' CPU seconds.",
        "p50 vs X: this system's p50 over X's; 1/N means N times faster.",
        "Hit@k/MRR@10: gold SQuAD paragraph in the top k of the BM25 search; shown@1: the gold "
        "paragraph first among the passages citebot shows (after its sentence re-ranking); "
        "answer@1: a gold answer text inside citebot's top displayed quote (answered "
        "questions only).",
    ]
    judged = {
        (r.corpus, int(r.figures["quality_questions"]))
        for r in rows
        if "quality_questions" in r.figures
    }
    for corpus, n in sorted(judged):
        notes.append(
            f"{corpus}: Hit@k, MRR@10, shown@1 and answer@1 over {n:,} questions; speed over "
            "the timed sample in the questions column."
        )
    loads = [
        r.figures[key] for r in rows for key in ("load_build", "load_query") if key in r.figures
    ]
    if loads:
        notes.append(
            f"machine load (1-minute load average at the end of each worker, {os.cpu_count()} "
            f"CPUs): {min(loads):.1f} to {max(loads):.1f}."
        )
    digests: dict[str, set[str]] = {r.corpus: set() for r in rows}
    for r in rows:
        if r.system in ("citebot-sparse", "citebot-rank-bm25") and r.top_digest:
            digests[r.corpus].add(r.top_digest)
    engines = {(r.corpus, r.system) for r in rows if r.top_digest}
    for corpus, found in digests.items():
        both = all((corpus, s) in engines for s in ("citebot-sparse", "citebot-rank-bm25"))
        if both and len(found) == 1:
            notes.append(f"{corpus}: citebot sparse and rank-bm25 engines ranked identically.")
    return notes


def write_results(out: Path, rows: list[Row]) -> None:
    """Rewritten after every system, so a long run that is stopped keeps what it measured."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown(rows, notes_for(rows)), encoding="utf-8")
    out.with_suffix(".json").write_text(
        json.dumps([r.__dict__ for r in rows], indent=1), encoding="utf-8"
    )


def drive(args: argparse.Namespace) -> int:
    from bench.corpora import DATA, corpus_for

    if args.smoke:
        tmp = Path(tempfile.mkdtemp(prefix="citebot-bench-"))
        data, sizes = tmp / "data", ["smoke"]
        args.questions = min(args.questions, SMOKE_QUESTIONS)
        out = Path(args.out) if args.out else tmp / "results.md"
    else:
        data, sizes = DATA, args.sizes.split(",") + (["1M"] if args.big else [])
        out = Path(args.out) if args.out else RESULTS
    from bench.systems import CITEBOT

    rows: list[Row] = []
    for size in sizes:
        corpus = corpus_for(size, data)
        systems = [s for s in ORDER if s in args.systems.split(",")]
        if any(s not in CITEBOT for s in systems):
            started = time.perf_counter()
            prepare_peer_passages(corpus.folder, data / "cache" / corpus.name)
            print(f"{corpus.name} passages for the peers: {time.perf_counter() - started:.1f}s")
        for system in systems:
            started = time.perf_counter()
            rows.append(
                bench_system(system, corpus, data / "cache", args.questions, args.quality_questions)
            )
            print(f"{corpus.name} {system}: {time.perf_counter() - started:.1f}s", flush=True)
            write_results(out, rows)
    print_table(rows)
    print(f"results written to {out}")
    return 0 if all(not r.note.startswith("error") for r in rows) else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="squad,20k")
    parser.add_argument("--big", action="store_true", help="also a 1M-passage corpus")
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--systems", default=",".join(ORDER), help="comma-separated subset")
    parser.add_argument(
        "--quality-questions",
        type=int,
        default=0,
        help="questions judged for Hit@k and answer@1 (default 0: all of them)",
    )
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--out", help="results markdown (default bench/results.md)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument(
        "--phase", choices=("prepare", "build", "query"), help=argparse.SUPPRESS
    )
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--questions-file", help=argparse.SUPPRESS)
    parser.add_argument("--gold", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(args)
        return
    sys.exit(drive(args))


if __name__ == "__main__":
    main()
