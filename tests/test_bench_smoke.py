"""The benchmark's smoke run, and parity of citebot's two BM25 engines on SQuAD dev."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.corpora import SQUAD_JSON, load_questions, squad
from retrieval import engines
from retrieval.engines import RankingConfig, top_k
from retrieval.index import Index
from tests.oracle import build_index, load_corpus

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = ("citebot-sparse", "citebot-rank-bm25", "rank_bm25")
PARITY_QUESTIONS = 200

needs_squad = pytest.mark.skipif(not SQUAD_JSON.exists(), reason="SQuAD dev not available")


def _bench_module(module: str, *args: str, timeout: float = 120) -> str:
    """Run `python -m bench.<module> args` from the project root; its stdout, once it has
    exited cleanly."""
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@needs_squad
def test_smoke_benchmark(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    _bench_module("run", "--smoke", "--out", str(out))
    table = out.read_text(encoding="utf-8")
    for system in SYSTEMS:
        assert f"| {system} |" in table
    rows = {r["system"]: r for r in json.loads(out.with_suffix(".json").read_text())}
    for system in SYSTEMS:
        figures = rows[system]["figures"]
        assert figures["p50_ms"] > 0 and figures["qps"] > 0 and figures["build_s"] > 0
        assert 0 < figures["hit@10"] <= 1
    assert rows["citebot-sparse"]["top_digest"] == rows["citebot-rank-bm25"]["top_digest"]


@pytest.fixture(scope="module")
def squad_index() -> Index:
    corpus = squad()
    return build_index(load_corpus(corpus.folder), RankingConfig(engine="sparse"))


@needs_squad
def test_engines_agree_on_squad(squad_index: Index) -> None:
    reference = squad_index.with_engine(RankingConfig(engine="rank-bm25"))
    assert squad_index.engine.name == "sparse" and reference.engine.name == "rank-bm25"
    questions = load_questions(squad().questions_file)
    random.Random(3).shuffle(questions)
    for q in questions[:PARITY_QUESTIONS]:
        terms = squad_index.terms(q.question)
        fast, slow = squad_index.scores(terms), reference.scores(terms)
        np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-6)
        fast_top = [h.index for h in squad_index.search(terms, 10)]
        slow_top = [h.index for h in reference.search(terms, 10)]
        assert fast_top == slow_top, q.question


@needs_squad
@pytest.mark.parametrize("k", [1, 10, 20])
def test_impact_pass_gives_the_full_top_k_on_squad(
    squad_index: Index, monkeypatch: pytest.MonkeyPatch, k: int
) -> None:
    """Real questions on real paragraphs, with the impact pass forced on this small corpus:
    the same passages and floats as summing every posting."""
    monkeypatch.setattr(engines, "IMPACTS_FROM", 0)
    engine, boost = squad_index.sparse, squad_index.boost
    questions = load_questions(squad().questions_file)
    random.Random(5).shuffle(questions)
    for q in questions[:PARITY_QUESTIONS]:
        known = squad_index.terms(q.question).known
        docs, raw = engine.matched(known)
        scores = raw * boost[docs]
        pick = top_k(scores, k)
        found, found_scores = engine.best(known, k, boost)
        assert found.tolist() == docs[pick].tolist(), q.question
        assert found_scores.tolist() == scores[pick].tolist(), q.question


@needs_squad
def test_build_rounds_alternate_and_report_medians() -> None:
    stdout = _bench_module(
        "build_rounds", "--size", "smoke", "--systems", "citebot-sparse,rank_bm25", "--rounds", "2"
    )
    lines = stdout.splitlines()
    rounds = [line.split(":")[0] for line in lines if line.startswith("round")]
    # The second round starts with the system that ended the first.
    assert rounds == [
        "round 1 citebot-sparse", "round 1 rank_bm25", "round 2 rank_bm25", "round 2 citebot-sparse"
    ]
    assert all(" s wall, " in line and " s CPU" in line for line in lines[:4])
    medians = [line for line in lines if "median" in line]
    assert [m.split(":")[0] for m in medians] == ["citebot-sparse", "rank_bm25"]


def _git_checkout() -> bool:
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "HEAD"], cwd=ROOT, capture_output=True, check=False
    )
    return proc.returncode == 0


@needs_squad
@pytest.mark.skipif(not _git_checkout(), reason="not a git checkout")
def test_build_rounds_build_an_older_revision_from_its_own_files() -> None:
    stdout = _bench_module(
        "build_rounds", "--size", "smoke", "--systems", "citebot-sparse,citebot-sparse@HEAD",
        "--rounds", "2",
    )
    lines = stdout.splitlines()
    rounds = [line.split(":")[0] for line in lines if line.startswith("round")]
    assert rounds == [
        "round 1 citebot-sparse",
        "round 1 citebot-sparse@HEAD",
        "round 2 citebot-sparse@HEAD",
        "round 2 citebot-sparse",
    ]
    medians = [line for line in lines if "median" in line]
    assert [m.split(":")[0] for m in medians] == ["citebot-sparse", "citebot-sparse@HEAD"]
    assert all(" s wall, " in m and " s CPU over 2 builds" in m for m in medians)


def test_build_rounds_export_runs_the_revisions_own_code(tmp_path: Path) -> None:
    """The exported checkout is what the worker imports: PYTHONPATH and cwd point there."""
    if not _git_checkout():
        pytest.skip("not a git checkout")
    from bench.build_rounds import export_revision

    folder = export_revision("HEAD", tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", "import retrieval, bench.run; print(retrieval.__file__)"],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(folder)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(proc.stdout.strip()).is_relative_to(folder)


def test_markdown_rate_reports_mb_per_second_and_passages(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "guide").mkdir(parents=True)
    (docs / "index.md").write_text(
        "# Tiny docs\n\nA first paragraph about installing the tool.\n\n"
        "## Usage\n\nRun it with `tiny --fast`.\n\n- one item\n- another item\n",
        encoding="utf-8",
    )
    (docs / "guide" / "setup.md").write_text(
        "---\ntitle: Setup\n---\n\nConfigure the cache folder before the first run.\n\n"
        "```sh\ntiny init\n```\n",
        encoding="utf-8",
    )
    stdout = _bench_module("markdown_rate", "--folders", str(docs), "--rounds", "2")
    rounds = [line for line in stdout.splitlines() if line.startswith("round")]
    assert len(rounds) == 2 and all(" s wall, " in line for line in rounds)
    row = next(line for line in stdout.splitlines() if line.startswith(f"| {docs} |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    _, kind, files, mb, passages, median, rate = cells
    assert kind == "Markdown" and files == "2"
    assert int(passages.replace(",", "")) >= 3
    size = sum(p.stat().st_size for p in docs.rglob("*.md")) / 1e6
    assert float(mb) == pytest.approx(size, rel=0.01)
    assert float(median) > 0 and float(rate) > 0


@needs_squad
def test_analyze_files_runs_one_workers_batch() -> None:
    stdout = _bench_module("analyze_files", "--size", "smoke", "--files", "0:2", timeout=60)
    files, blocks = stdout.split(", ")
    assert files == "2 files" and int(blocks.split()[0]) > 0
