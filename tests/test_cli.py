"""`citebot ask|eval|index` as a user runs them: real processes, a private cache."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from discord.http import Route

from bot.cli import main
from retrieval.engines import RankingConfig
from tests.fakediscord import FakeDiscord
from tests.oracle import build_index, load_corpus

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
ACCEPTANCE = ROOT.parent / "shared" / "eval" / "acceptance.jsonl"
INTERIM_CEO = "who is Scale's interim CEO?"
OFF_TOPIC = "how do I bake sourdough bread"
TOKEN = "MTIz.check-token.xyz"
# A path whose error message is longer than an 80-column terminal line.
LONG_MISSING = "no-such-folder/" + "a-very-long-folder-name-that-does-not-exist/" * 2 + "corpus"


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str


def environment(cache: Path) -> dict[str, str]:
    """The user's environment without any citebot settings, and a private index cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
    env["CITEBOT_CACHE_DIR"] = str(cache)
    # Pinned to the defaults, over anything a local .env file might set.
    env.update(CITEBOT_CORPUS="seeds", CITEBOT_TOP_K="3", CITEBOT_ENGINE="auto")
    env["COLUMNS"] = "80"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def start(args: tuple[str, ...], cache: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=environment(cache),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


def finish(args: tuple[str, ...], proc: subprocess.Popen[str]) -> Run:
    stdout, stderr = proc.communicate(timeout=60)
    return Run(args, proc.returncode, stdout, stderr)


def run(cache: Path, *args: str) -> Run:
    return finish(args, start(args, cache))


COMMANDS: dict[str, tuple[str, ...]] = {
    "ask_json": ("ask", INTERIM_CEO, "--json"),
    "ask_human": ("ask", INTERIM_CEO),
    "ask_differ": ("ask", "how much did Meta invest in Scale AI"),
    "off_topic_json": ("ask", OFF_TOPIC, "--json"),
    "off_topic_human": ("ask", OFF_TOPIC),
    # A threshold that is met: the exit status stays 0.
    "eval_json": ("eval", "--questions", str(ACCEPTANCE), "--json", "--min-hit1", "0"),
    "eval_too_strict": ("eval", "--questions", str(ACCEPTANCE), "--min-hit1", "1.01"),
    "eval_no_questions": ("eval", "--questions", "no-such-questions.jsonl"),
    "ask_missing": ("ask", INTERIM_CEO, "--corpus", "no-such-folder"),
    "index_missing": ("index", "--corpus", "no-such-folder"),
    "ask_long_missing": ("ask", INTERIM_CEO, "--corpus", LONG_MISSING),
    "ask_bracket_missing": ("ask", INTERIM_CEO, "--corpus", "old-docs[/b]"),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every independent command at once, each with its own empty cache."""
    base = tmp_path_factory.mktemp("cli")
    procs = {name: (args, start(args, base / name)) for name, args in COMMANDS.items()}
    return {name: finish(args, proc) for name, (args, proc) in procs.items()}


def no_traceback(r: Run) -> None:
    assert "Traceback" not in r.stderr, r.stderr
    assert "Traceback" not in r.stdout, r.stdout


def seed_lines(name: str) -> list[str]:
    return (SEEDS / name).read_text(encoding="utf-8").splitlines()


def check_answer_object(data: dict[str, Any], top_k: int = 3) -> None:
    """The `ask --json` object of shared/eval/README.md."""
    assert isinstance(data["question"], str)
    assert isinstance(data["answered"], bool)
    assert isinstance(data["passages"], list)
    assert len(data["passages"]) <= top_k
    for p in data["passages"]:
        assert {"file", "line_start", "line_end", "score", "quote", "text"} <= set(p)
        assert isinstance(p["file"], str) and (SEEDS / p["file"]).is_file()
        assert isinstance(p["line_start"], int) and isinstance(p["line_end"], int)
        lines = seed_lines(p["file"])
        assert 1 <= p["line_start"] <= p["line_end"] <= len(lines)
        assert lines[p["line_end"] - 1].strip() in p["text"]
        assert isinstance(p["score"], int | float)
        assert isinstance(p["quote"], str) and isinstance(p["text"], str)
        assert p["quote"].strip("…") in p["text"]


def test_ask_json_matches_the_contract(runs: dict[str, Run]) -> None:
    r = runs["ask_json"]
    assert r.code == 0, r.stderr
    no_traceback(r)
    data = json.loads(r.stdout)
    check_answer_object(data)
    assert data["question"] == INTERIM_CEO
    assert data["answered"] is True
    first = data["passages"][0]
    assert (first["file"], first["line_start"], first["line_end"]) == (
        "004_bbdec2aa2fae0f2f.txt", 9, 9
    )
    assert "Jason Droege" in first["quote"]
    assert "reason" not in data


def test_ask_prints_quote_and_citation(runs: dict[str, Run]) -> None:
    r = runs["ask_human"]
    assert r.code == 0, r.stderr
    no_traceback(r)
    assert "004_bbdec2aa2fae0f2f.txt:9" in r.stdout
    assert "Droege" in r.stdout
    assert r.stdout.lstrip().startswith("[1]")


def test_ask_notes_disagreeing_sources(runs: dict[str, Run]) -> None:
    r = runs["ask_differ"]
    assert r.code == 0, r.stderr
    flat = " ".join(r.stdout.split())
    assert "sources differ" in flat
    assert "$14.3 billion" in flat and "$14.8 billion" in flat


def test_off_topic_question_is_declined(runs: dict[str, Run]) -> None:
    data = json.loads(runs["off_topic_json"].stdout)
    check_answer_object(data)
    assert data["answered"] is False
    assert data["message"]
    human = runs["off_topic_human"]
    assert human.code == 0
    assert data["message"] in " ".join(human.stdout.split())


def acceptance() -> list[dict[str, Any]]:
    if not ACCEPTANCE.exists():
        pytest.skip(f"{ACCEPTANCE} is not on this machine")
    return [json.loads(line) for line in ACCEPTANCE.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def test_eval_json_has_summary_and_results(runs: dict[str, Run]) -> None:
    questions = acceptance()
    r = runs["eval_json"]
    assert r.code == 0, r.stderr
    no_traceback(r)
    data = json.loads(r.stdout)
    assert set(data) == {"summary", "results"}
    summary = data["summary"]
    for key in ("hit@1", "hit@3", "mrr@10", "answer@1", "abstain", "false_abstain"):
        assert 0.0 <= summary[key] <= 1.0, key
    assert [res["id"] for res in data["results"]] == [q["id"] for q in questions]
    for q, res in zip(questions, data["results"], strict=True):
        assert res["question"] == q["question"]
        check_answer_object(res)
    # The summary agrees with the results it summarises.
    answerable = [(q, res) for q, res in zip(questions, data["results"], strict=True)
                  if not q.get("no_answer")]
    unanswerable = [res for q, res in zip(questions, data["results"], strict=True)
                    if q.get("no_answer")]

    def gold(p: dict[str, Any], q: dict[str, Any]) -> bool:
        return any(
            p["file"] == f and p["line_start"] <= int(n) <= p["line_end"]
            for f, _, n in (s.rpartition(":") for s in q["sources"])
        )

    hit1 = sum(bool(res["passages"]) and gold(res["passages"][0], q) for q, res in answerable)
    assert summary["hit@1"] == round(hit1 / len(answerable), 4)
    abstained = sum(not res["answered"] for res in unanswerable)
    assert summary["abstain"] == round(abstained / max(len(unanswerable), 1), 4)


def test_eval_fails_below_a_threshold(runs: dict[str, Run]) -> None:
    acceptance()
    strict = runs["eval_too_strict"]
    assert strict.code == 1
    no_traceback(strict)
    assert "hit@1" in strict.stderr
    assert "1.01" in strict.stderr
    # The same question set with a threshold that is met passes.
    assert runs["eval_json"].code == 0


def test_eval_with_a_missing_question_file(runs: dict[str, Run]) -> None:
    r = runs["eval_no_questions"]
    assert r.code == 2
    no_traceback(r)
    assert "no-such-questions.jsonl" in r.stderr


@pytest.mark.parametrize("name", ["ask_missing", "index_missing"])
def test_missing_corpus_folder_is_a_one_line_error(runs: dict[str, Run], name: str) -> None:
    r = runs[name]
    assert r.code == 2
    no_traceback(r)
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "no-such-folder" in lines[0]
    assert "not found" in lines[0]


def test_long_missing_path_exits_2_without_traceback(runs: dict[str, Run]) -> None:
    r = runs["ask_long_missing"]
    assert r.code == 2
    no_traceback(r)


def test_long_missing_path_error_is_one_line(runs: dict[str, Run]) -> None:
    r = runs["ask_long_missing"]
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert LONG_MISSING in r.stderr


def test_error_naming_a_folder_with_brackets(runs: dict[str, Run]) -> None:
    r = runs["ask_bracket_missing"]
    assert r.code == 2
    no_traceback(r)
    assert "old-docs[/b]" in r.stderr


def figure(name: str, text: str) -> int:
    found = re.search(rf"\b{name}\s+(\d+)", " ".join(text.split()))
    assert found, (name, text)
    return int(found.group(1))


def test_index_prints_its_figures_and_uses_the_cache(tmp_path: Path) -> None:
    corpus = load_corpus(SEEDS)
    vocabulary = len(build_index(corpus, RankingConfig()).postings.vocab)
    cache = tmp_path / "cache"
    first = run(cache, "index")
    assert first.code == 0, first.stderr
    no_traceback(first)
    assert "built" in first.stdout
    assert figure("files", first.stdout) == len(corpus.files)
    assert figure("passages", first.stdout) == len(corpus.passages)
    assert figure("vocabulary", first.stdout) == vocabulary
    assert any(cache.iterdir()), "the index was not cached in CITEBOT_CACHE_DIR"
    second = run(cache, "index")
    assert second.code == 0, second.stderr
    assert "loaded from cache" in second.stdout
    assert figure("passages", second.stdout) == len(corpus.passages)


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    """`citebot eval --json | head -1`: the pipe closes after one line; citebot stops quietly."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "eval", "--json"],
        cwd=ROOT,
        env=environment(tmp_path / "cache"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.read(1)
    proc.stdout.close()
    stderr = proc.stderr.read().decode("utf-8")
    proc.wait(timeout=60)
    assert first
    assert "Traceback" not in stderr, stderr
    assert proc.returncode == 141


@pytest.mark.skipif(
    not (ROOT / ".venv" / ".installed").exists(), reason="the Makefile's .venv is not set up"
)
@pytest.mark.parametrize("q", [None, 'what did "Reuters" say about $200 million'])
def test_make_ask_answers_with_and_without_a_question(tmp_path: Path, q: str | None) -> None:
    """The README's first command, as a newcomer types it: the default question when Q is not
    given, and a question with quotes and a dollar sign passed through untouched."""
    env = environment(tmp_path / "cache")
    env.pop("Q", None)
    args = ["make", "--no-print-directory", "ask"] + ([f"Q={q}"] if q else [])
    proc = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    if q is None:
        assert "004_bbdec2aa2fae0f2f.txt:9" in proc.stdout
    else:
        assert "Reuters" in proc.stdout and "$200 million" in proc.stdout


# -- citebot check and --version (issue 13) --------------------------------------------------


def check_lines(r: Run) -> dict[str, list[str]]:
    """The check screen by part: {"token": ["FAIL  token  …"], …}."""
    parts: dict[str, list[str]] = {}
    for line in r.stdout.splitlines()[1:-1]:
        _, what, _ = line.split(maxsplit=2)
        parts.setdefault(what, []).append(line.strip())
    return parts


def test_version_is_the_package_version(tmp_path: Path) -> None:
    r = run(tmp_path / "cache", "--version")
    assert r.code == 0
    assert r.stdout.strip() == f"citebot {importlib.metadata.version('citebot')}"


def test_check_on_a_fresh_clone_names_the_missing_token(tmp_path: Path) -> None:
    r = run(tmp_path / "cache", "check")
    no_traceback(r)
    assert r.code == 1
    assert r.stdout.startswith("citebot ")
    parts = check_lines(r)
    assert parts["settings"][0].startswith("ok")
    assert parts["token"][0].startswith("FAIL") and "CITEBOT_DISCORD_TOKEN" in parts["token"][0]
    assert parts["corpus"] == ["ok    corpus    seeds: 5 .txt/.md files"]
    assert "would rebuild at start: no index on disk yet" in parts["cache"][0]
    assert parts["login"][0].startswith("skip")
    assert r.stdout.splitlines()[-1] == "1 problem"


def test_check_passes_with_a_token_and_a_built_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert run(cache, "index").code == 0
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "check"], cwd=ROOT, capture_output=True, text=True,
        env=dict(environment(cache), CITEBOT_DISCORD_TOKEN=TOKEN), timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.splitlines()[-1] == "ready"
    assert "loads 43 passages" in proc.stdout
    assert TOKEN not in proc.stdout + proc.stderr


def test_check_reports_bad_settings_and_a_missing_corpus(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--corpus", "no-such-folder"], cwd=ROOT,
        capture_output=True, text=True, timeout=60, check=False,
        env=dict(environment(tmp_path), CITEBOT_TOP_K=TOKEN),
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "FAIL  settings  CITEBOT_TOP_K: should be a valid integer" in proc.stdout
    assert TOKEN not in proc.stdout + proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--corpus", "no-such-folder"], cwd=ROOT,
        capture_output=True, text=True, timeout=60, check=False, env=environment(tmp_path),
    )
    assert "FAIL  corpus    corpus folder not found: no-such-folder" in proc.stdout



@contextlib.contextmanager
def fake_discord_in_a_thread() -> Iterator[FakeDiscord]:
    """The loopback Discord on its own event loop, so a synchronous command can use it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeDiscord()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def check_online(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, base: str
) -> tuple[int, str]:
    for key in list(os.environ):
        if key.startswith("CITEBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("CITEBOT_DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("CITEBOT_CORPUS", str(SEEDS))
    monkeypatch.setenv("CITEBOT_CACHE_DIR", "off")
    monkeypatch.setattr(Route, "BASE", base)
    code = main(["check", "--online"])
    return code, capsys.readouterr().out


def test_check_online_logs_in_with_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with fake_discord_in_a_thread() as fake:
        code, out = check_online(monkeypatch, capsys, tmp_path, fake.api_base)
        me = fake.find_requests("GET", "/users/@me")
    assert code == 0, out
    assert "ok    login     the token logs in as citebot-test" in out
    assert len(me) == 1
    # REST only: the check never opens the gateway.
    assert not fake.find_requests("GET", "/gateway/bot")
    assert not fake.find_requests("GET", "/gateway")


def test_check_online_without_network_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out = check_online(monkeypatch, capsys, tmp_path, f"http://127.0.0.1:{port}/api/v10")
    assert code == 1
    [login] = [line for line in out.splitlines() if " login " in line]
    assert login.startswith("  FAIL  login     cannot reach Discord: Cannot connect to host")
