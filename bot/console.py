"""`citebot chat`: the bot's commands in a local console, no Discord or token needed.

It goes through the same Library, rate limiter and Discord rendering as the cog, and prints
the exact message text the bot would post. With a pipe on stdin it reads one command a line
and exits at the end of input.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from bot.render import render_answer, render_listing, render_source
from bot.service import Library
from bot.settings import Settings
from retrieval.corpus import CorpusError

CONSOLE_USER = 0
CONSOLE_CHANNEL = 0


def handle(library: Library, line: str, prefix: str = "!") -> str | None:
    """The reply to one console line, or None for a blank one."""
    text = line.strip()
    if not text:
        return None
    if text[0] in (prefix, "/"):
        name, _, rest = text[1:].partition(" ")
    elif text.startswith("@citebot"):
        name, rest = "ask", text.removeprefix("@citebot")
    else:
        name, rest = "ask", text  # a bare line is a question
    rest = rest.strip()
    if name in ("quit", "exit"):
        raise EOFError
    if name == "help":
        return library.help_text(prefix)
    if name == "sources":
        return render_listing(library.sources(rest))
    if name in ("ask", "source"):
        verdict = library.limiter.check(CONSOLE_USER, CONSOLE_CHANNEL)
        if not verdict.allowed:
            return verdict.notice() if verdict.notify else ""
        if name == "ask":
            return render_answer(library.ask(rest))
        if not rest:
            return f"Usage: {prefix}source <file> [line]"
        # "FILE LINE", unless the whole text names a file (a name may hold spaces).
        file, _, line_no = rest.rpartition(" ")
        if not file or library.resolve_file(rest):
            file, line_no = rest, ""
        return render_source(library.source(file.strip(), line_no or None))
    if name == "reload":
        return "Use `citebot index --rebuild` here; `reload` is for the running bot."
    return f"Unknown command `{name}`. Try {prefix}help."


def run_console(
    settings: Settings,
    corpus: Path | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    src = stdin or sys.stdin
    dst = stdout or sys.stdout
    library = Library(settings, corpus)
    try:
        library.load()
    except CorpusError as exc:
        print(f"citebot: {exc}", file=sys.stderr)
        return 2
    interactive = src.isatty()
    if interactive:
        print(
            f"citebot console — {len(library.index.files)} files. Type a question, "
            f"{settings.command_prefix}help, or Ctrl-D to leave.",
            file=dst,
        )
    while True:
        if interactive:
            dst.write("you> ")
            dst.flush()
        line = src.readline()
        if not line:
            break
        try:
            reply = handle(library, line, settings.command_prefix)
        except EOFError:
            break
        if reply is not None:
            print(reply, file=dst)
            if not interactive:
                print(file=dst)
    return 0
