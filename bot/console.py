"""`citebot chat`: the bot's commands in a local console, no Discord or token needed.

A line is read as the bot reads a message: the same prefix (`CITEBOT_COMMAND_PREFIX`, any
length), the same commands with the same parameters (taken from the cog itself) and the same
argument parsing (discord.py's StringView: quoted words, the rest of the line for `ask`).
`/ask …` stands for the slash command, `@citebot …` for a mention, and a bare line is a
question. It goes through the same Library and Discord rendering as the cog and prints the
exact message text the bot would post. The person at the keyboard is not rate limited unless
`CITEBOT_CONSOLE_RATE_LIMITS` is true. With a pipe on stdin it reads one command a line and
exits at the end of input.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from discord.ext import commands
from discord.ext.commands.view import StringView

from bot.cli import tolerate_bad_bytes
from bot.commands import Citebot
from bot.render import render_answer, render_listing, render_source
from bot.service import Library
from bot.settings import Settings
from retrieval.corpus import CorpusError

log = logging.getLogger(__name__)

CONSOLE_USER = 0
CONSOLE_CHANNEL = 0
MENTION = "@citebot"  # stands for the bot's <@id> mention
SLASH = "/"  # stands for a slash command
LEAVE = ("quit", "exit")
# The commands the cog limits; the console applies the limits only when asked to.
LIMITED = frozenset({"ask", "source", "sources", "help"})


@dataclass(frozen=True)
class Invocation:
    """A parsed command line: the command and its arguments by parameter name."""

    name: str
    args: dict[str, Any]


def bot_commands() -> dict[str, commands.Command[Any, ..., Any]]:
    """The cog's commands by name and alias: the console knows what the bot knows."""
    found: dict[str, commands.Command[Any, ..., Any]] = {}
    for command in Citebot.__cog_commands__:
        for name in (command.name, *command.aliases):
            found[name] = command
    return found


def parse_arguments(command: commands.Command[Any, ..., Any], view: StringView) -> dict[str, Any]:
    """The command's arguments as discord.py reads them from a message: a positional parameter
    takes one (possibly quoted) word, a keyword-only one the rest of the line, extra words are
    ignored. Raises the same UserInputError subclasses the bot reports."""
    args: dict[str, Any] = {}
    for name, param in command.clean_params.items():
        view.skip_ws()
        if param.kind == param.KEYWORD_ONLY:
            value: str | None = view.read_rest().strip() or None
        else:
            value = None if view.eof else view.get_quoted_word()
        if value is None:
            if param.required:
                raise commands.MissingRequiredArgument(param)
            args[name] = param.default
        else:
            args[name] = value
        if param.kind == param.KEYWORD_ONLY:
            break
    return args


def parse(line: str, prefix: str = "!") -> Invocation | None:
    """The command a line runs, or None for a blank line. `@citebot source …` and
    `@citebot !source …` run the command, `@citebot <question>` asks, as on Discord."""
    text = line.strip()
    if not text:
        return None
    view = StringView(text)
    for used in (prefix, SLASH):
        if view.skip_string(used):
            return _command(view)
    rest = text.removeprefix(MENTION)
    if rest != text and (not rest or rest[0].isspace()):
        rest = rest.strip()
        # As the cog's on_message: a first word naming a command (with or without a prefix)
        # runs it; anything else is a question.
        first = StringView(rest).get_word()
        known = {*bot_commands(), *LEAVE}
        for used in (prefix, SLASH, ""):
            if first.startswith(used) and first[len(used) :] in known:
                return _command(StringView(rest[len(used) :]))
        return Invocation("ask", {"question": rest})
    return Invocation("ask", {"question": text})


def _command(view: StringView) -> Invocation:
    """The command named at the view's position (as discord.py: the word right after the
    prefix, case-sensitive) and its arguments."""
    name = view.get_word()
    command = bot_commands().get(name)
    if command is None:
        return Invocation(name, {})
    return Invocation(command.name, parse_arguments(command, view))


def handle(library: Library, line: str, prefix: str = "!", limited: bool = False) -> str | None:
    """The reply to one console line, or None for a blank one. EOFError for quit/exit."""
    try:
        call = parse(line, prefix)
    except commands.UserInputError as exc:
        return f"{exc} See `{prefix}help`."
    if call is None:
        return None
    name, args = call.name, call.args
    if name in LEAVE:
        raise EOFError
    if limited and name in LIMITED:
        verdict = library.limiter.check(CONSOLE_USER, CONSOLE_CHANNEL)
        if not verdict.allowed:
            return verdict.notice() if verdict.notify else ""
    if name == "ask":
        if not args["question"]:
            return f"Usage: `{prefix}ask <question>`"
        return render_answer(library.ask(args["question"]))
    if name == "source":
        return render_source(library.source(args["file"], args["line"]))
    if name == "sources":
        return render_listing(library.sources(args["folder"]))
    if name == "help":
        return library.help_text(prefix)
    if name == "reload":
        return asyncio.run(library.reload()).message
    if name in bot_commands():
        return f"`{prefix}{name}` works on Discord only."
    return f"Unknown command `{name}`. Try `{prefix}help`."


def run_console(
    settings: Settings,
    corpus: Path | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    src = stdin or sys.stdin
    dst = stdout or sys.stdout
    # One undecodable byte in a strict locale must not end the console unanswered.
    tolerate_bad_bytes(src, "replace")
    tolerate_bad_bytes(dst, "backslashreplace")
    library = Library(settings, corpus)
    try:
        library.load()
    except CorpusError as exc:
        print(f"citebot: {exc}", file=sys.stderr)
        return 2
    prefix = settings.command_prefix
    interactive = src.isatty()
    if interactive:
        print(
            f"citebot console — {len(library.index.files)} files. Type a question, "
            f"{prefix}help, or Ctrl-D to leave.",
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
            reply = handle(library, line, prefix, settings.console_rate_limits)
        except EOFError:
            break
        except Exception as exc:
            # As on Discord: an apology with an id, and the console keeps answering.
            error_id = secrets.token_hex(4)
            log.error("error %s: %s", error_id, type(exc).__name__, exc_info=log.isEnabledFor(
                logging.DEBUG))
            reply = f"Sorry, something went wrong on my side (error id `{error_id}`)."
        if reply is not None:
            print(reply, file=dst)
            if not interactive:
                print(file=dst)
    return 0
