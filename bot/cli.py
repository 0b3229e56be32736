"""`citebot ask|eval|index|chat|run|check|feedback`: the command line front end."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from bot.logs import configure
from bot.settings import Settings, SettingsError, load_settings, unknown_keys
from retrieval.answer import Answer, answer
from retrieval.corpus import CorpusError
from retrieval.evaluate import (
    MINIMUMS,
    QuestionSetError,
    evaluate,
    load_questions,
    load_suite,
    shortfalls,
)
from retrieval.index import Index
from retrieval.store import LoadResult, cache_dir_for, load_or_build

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_QUESTIONS = PROJECT_ROOT / "eval" / "questions.jsonl"
# Build with a progress bar from this many files up; small corpora build in a blink.
PROGRESS_FROM_FILES = 50

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)


class UsageError(Exception):
    """A one-line message for the user; exit status 2."""


def package_version() -> str:
    try:
        return version("citebot")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def tolerate_bad_bytes(stream: TextIO, errors: str) -> None:
    """Make a standard stream replace what it cannot decode or encode instead of raising: in
    a strict locale (en_US.UTF-8, PYTHONIOENCODING unset) one invalid byte on stdin, or a
    question from argv holding one, would otherwise end the command with a traceback."""
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors=errors)


def print_json(payload: object) -> None:
    """One JSON document on stdout. Raw UTF-8 when stdout is UTF-8 (a lone surrogate, from
    undecodable bytes in argv, comes out as its \\uXXXX escape through backslashreplace), else
    ASCII escapes, so the output is valid JSON whatever the locale."""
    encoding = (sys.stdout.encoding or "").lower().replace("-", "").replace("_", "")
    print(json.dumps(payload, ensure_ascii=encoding != "utf8"))


def load(settings: Settings, folder: Path) -> LoadResult:
    """The index for a folder, with a progress bar when a large corpus has to be built."""
    try:
        many = folder.is_dir() and sum(1 for _ in folder.rglob("*")) >= PROGRESS_FROM_FILES
        with Progress(console=err, transient=True, disable=not many) as progress:
            task = progress.add_task("indexing", total=None)
            return load_or_build(
                folder,
                settings.ranking(),
                settings.cache_dir,
                lambda done, total: progress.update(task, completed=done, total=total),
            )
    except CorpusError as exc:
        raise UsageError(str(exc)) from exc


def load_index(settings: Settings, corpus: Path | None = None) -> Index:
    return load(settings, corpus or settings.corpus).index


def print_answer(a: Answer) -> None:
    if not a.answered:
        out.print(Text(a.message or "No answer.", style="bold yellow"))
        if a.passages:
            out.print(Text("Closest passages (not an answer):", style="dim"))
    elif a.message:  # answered around a word the documents lack
        out.print(Text(a.message, style="yellow"))
    for n, p in enumerate(a.passages, 1):
        if p.heading:
            out.print(Text(f"    § {p.heading}", style="dim"))
        quote = Text("> ")
        quote.append(p.quote[: p.mark_start])
        quote.append(p.quote[p.mark_start : p.mark_end], style="bold")
        quote.append(p.quote[p.mark_end :])
        out.print(Text(f"[{n}] ", style="cyan"), quote, sep="")
        out.print(Text(f"    {p.citation}  (score {p.score:.2f})", style="dim cyan"))
    if a.disagreement is not None:
        out.print(Text(a.disagreement.describe(), style="magenta"))


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    index = load_index(settings, args.corpus)
    cfg = settings.answering()
    if args.top_k:
        cfg = replace(cfg, top_k=args.top_k)
    a = answer(index, args.question, cfg)
    if args.json:
        print_json(a.to_json())
    else:
        print_answer(a)
    return 0


def cmd_eval_suite(args: argparse.Namespace, settings: Settings) -> int:
    """Every question set of a suite, one table, each against its own thresholds."""
    try:
        suite = load_suite(args.suite)
    except QuestionSetError as exc:
        raise UsageError(str(exc)) from exc
    table = Table(title=f"{args.suite}")
    for col in ("set", "n", "hit@1", "hit@3", "mrr", "ans@1", "abst", "f.abst", ""):
        table.add_column(col)
    failed: list[str] = []
    for qs in suite:
        try:
            questions = load_questions(qs.questions)
        except QuestionSetError as exc:
            raise UsageError(str(exc)) from exc
        _, m = evaluate(load_index(settings, qs.corpus), questions, settings.answering())
        scores = m.to_json()
        missed = shortfalls(m, qs.thresholds)
        failed.extend(f"{qs.name}: {line}" for line in missed)
        table.add_row(
            qs.name, str(len(questions)), *(f"{scores[k]:.3f}" for k in MINIMUMS),
            f"{scores['false_abstain']:.3f}", "[red]below[/]" if missed else "ok",
        )
    out.print(table)
    for line in failed:
        err.print(f"below threshold: {line}")
    return 1 if failed else 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    if args.suite is not None:
        return cmd_eval_suite(args, settings)
    try:
        questions = load_questions(args.questions)
    except QuestionSetError as exc:
        raise UsageError(str(exc)) from exc
    if args.thresholds is not None:
        try:
            limits = json.loads(args.thresholds.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read thresholds {args.thresholds}: {exc}") from exc
        for key, attr in (("hit@1", "min_hit1"), ("hit@3", "min_hit3"), ("mrr@10", "min_mrr"),
                          ("answer@1", "min_answer1"), ("abstain", "min_abstain"),
                          ("false_abstain_max", "max_false_abstain")):
            if key in limits and getattr(args, attr) is None:
                setattr(args, attr, float(limits[key]))
    index = load_index(settings, args.corpus)
    results, m = evaluate(index, questions, settings.answering())
    summary = m.to_json()
    if args.json:
        payload = {"summary": summary, "results": [r.to_json() for r in results]}
        print_json(payload)
    else:
        table = Table(title=f"{args.questions}")
        for col in ("id", "rank", "answer", "question", "top"):
            table.add_column(col)
        for r in results:
            top = r.answer.passages[0].citation if r.answer.passages else "-"
            if r.question.no_answer:
                verdict = "abstained" if not r.answer.answered else "[red]answered[/]"
            else:
                verdict = "ok" if r.correct else "[red]miss[/]"
            rank = str(r.rank) if r.rank else "-"
            table.add_row(r.question.id, rank, verdict, r.question.question, top)
        out.print(table)
        out.print("  ".join(f"{k}={v}" for k, v in summary.items()))
    failed = [
        f"{name} {value:.3f} < {limit}"
        for name, value, limit in (
            ("hit@1", m.hit1, args.min_hit1),
            ("hit@3", m.hit3, args.min_hit3),
            ("mrr@10", m.mrr10, args.min_mrr),
            ("answer@1", m.answer1, args.min_answer1),
            ("abstain", m.abstain, args.min_abstain),
        )
        if limit is not None and value < limit - 1e-9
    ]
    if args.max_false_abstain is not None and m.false_abstain > args.max_false_abstain + 1e-9:
        failed.append(f"false_abstain {m.false_abstain:.3f} > {args.max_false_abstain}")
    for line in failed:
        err.print(f"below threshold: {line}")
    return 1 if failed else 0


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    folder = args.corpus or settings.corpus
    if args.rebuild and settings.cache_dir is not None and folder.is_dir():
        (cache_dir_for(settings.cache_dir, folder) / "meta.json").unlink(missing_ok=True)
    result = load(settings, folder)
    idx = result.index
    s = idx.stats
    for warning in s.warnings:
        err.print(f"[yellow]warning:[/] {warning}")
    state = "loaded from cache" if result.loaded else f"built ({result.reason})"
    out.print(f"index for {folder}: {state}")
    out.print(
        f"files {s.files}  passages {s.passages}  dropped chrome/duplicates {s.dropped}  "
        f"vocabulary {s.vocabulary}  build {s.seconds:.2f}s  engine {idx.engine.name}"
    )
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.console import run_console

    return run_console(settings, args.corpus)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    import aiohttp
    import discord

    from bot.app import run_bot
    from bot.check import network_problem

    try:
        return run_bot(settings, args.corpus)
    except discord.LoginFailure as exc:
        raise UsageError("Discord rejected the token (CITEBOT_DISCORD_TOKEN)") from exc
    except (aiohttp.ClientError, OSError, TimeoutError, discord.DiscordException) as exc:
        # No network, DNS, a proxy, Discord down: one line, not discord.py's traceback.
        print(f"citebot: cannot reach Discord: {network_problem(exc)}", file=sys.stderr)
        return 1


def cmd_check(args: argparse.Namespace) -> int:
    """Settings, token, corpus, cache (and login with --online): one line each; 1 if any
    failed. It reads the settings itself, to report bad ones among the rest."""
    from bot.check import report, run_checks

    lines, code = report(run_checks(args.online, args.corpus))
    print(f"citebot {package_version()}")
    for line in lines:
        print(line)
    return code


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from bot.feedback import run_feedback

    return run_feedback(settings.feedback_db, args.export)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="citebot", description=__doc__)
    p.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = p.add_subparsers(dest="command", required=True)

    def corpus_opt(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--corpus", type=Path, help="corpus folder (default: CITEBOT_CORPUS)")

    ask = sub.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    corpus_opt(ask)
    ask.add_argument("--top-k", type=int, choices=range(1, 11), metavar="N")
    ask.add_argument("--json", action="store_true", help="machine-readable output")
    ask.set_defaults(func=cmd_ask)

    ev = sub.add_parser("eval", help="run a question set and print its metrics")
    ev.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    corpus_opt(ev)
    ev.add_argument("--json", action="store_true")
    for name in ("hit1", "hit3", "mrr", "answer1", "abstain"):
        ev.add_argument(f"--min-{name}", type=float, metavar="X")
    ev.add_argument("--max-false-abstain", type=float, metavar="X")
    ev.add_argument("--thresholds", type=Path, help="JSON of minimums for --questions")
    ev.add_argument(
        "--suite", type=Path, help="run every set of a suite, e.g. eval/suite.json (one table)"
    )
    ev.set_defaults(func=cmd_eval)

    ix = sub.add_parser("index", help="build and cache the index, print its figures")
    corpus_opt(ix)
    ix.add_argument("--rebuild", action="store_true", help="ignore the cache")
    ix.set_defaults(func=cmd_index)

    ch = sub.add_parser("chat", help="try the bot's commands in a local console")
    corpus_opt(ch)
    ch.set_defaults(func=cmd_chat)

    run = sub.add_parser("run", help="start the Discord bot")
    corpus_opt(run)
    run.set_defaults(func=cmd_run)

    ck = sub.add_parser("check", help="check settings, token, corpus and cache before a run")
    corpus_opt(ck)
    ck.add_argument("--online", action="store_true", help="also log in with the token")
    ck.set_defaults(func=None)

    fb = sub.add_parser("feedback", help="votes on the bot's answers; export the downvoted")
    fb.add_argument("--export", type=Path, metavar="FILE",
                    help="write the downvoted questions as question-set lines ('-': stdout)")
    fb.set_defaults(func=cmd_feedback)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    tolerate_bad_bytes(sys.stdin, "replace")
    tolerate_bad_bytes(sys.stdout, "backslashreplace")
    tolerate_bad_bytes(sys.stderr, "backslashreplace")
    args = parser().parse_args(argv)
    if args.command == "check":
        return cmd_check(args)
    try:
        settings = load_settings()
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"citebot: {problem}", file=sys.stderr)
        return 2
    for warning in unknown_keys():
        print(f"citebot: warning: {warning}", file=sys.stderr)
    # One handler on the root logger; one-shot commands show warnings and errors only.
    configure(settings, quiet=args.command != "run")
    try:
        code: int = args.func(args, settings)
        return code
    except UsageError as exc:
        # Plain print: rich would wrap a long path and read [brackets] as markup.
        print(f"citebot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`citebot eval --json | head`): as the shell's own tools do,
        # stop quietly. stdout is pointed at devnull so the flush at exit does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
