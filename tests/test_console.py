"""`citebot chat` lines: the bot's commands, parsed as discord.py parses a message, and the
same replies the bot posts."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from discord.ext import commands
from discord.ext.commands.view import StringView
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.console import LEAVE, bot_commands, handle, parse, parse_arguments, run_console
from bot.service import Library
from bot.settings import Settings
from tests.nestedcorpus import write
from tests.test_service import make_library, nested_corpus

FERRY = "ferry notes"
SIGN_IN = "sign in with the token"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    corpus = nested_corpus(tmp_path_factory.mktemp("console"))
    write(corpus, "guide/my notes.md", ["A name with a space still finds its ferry notes."])
    # Limits low enough that a test would see them, were they applied.
    return make_library(corpus, user_rate=1, channel_rate=1)


def reply(library: Library, line: str, prefix: str = "!") -> str:
    text = handle(library, line, prefix)
    assert text is not None
    return text


def test_console_source_and_sources_on_nested_folders(library: Library) -> None:
    assert SIGN_IN in reply(library, "!source guide/install.md 5")
    assert SIGN_IN in reply(library, "/source install.md:5")
    assert FERRY in reply(library, '!source "guide/my notes.md"')
    assert FERRY in reply(library, "!source “my notes.md” 1")
    assert reply(library, "!source index.md").startswith("`index.md` matches 2 files")
    assert reply(library, "!source guide/install.md ²") == (
        "The line must be a number from 1 to 7 in `guide/install.md`."
    )
    assert reply(library, "!sources").endswith("lists the files of a folder.")
    assert "`guide/my notes.md` — 1 passage" in reply(library, "!sources guide")


def test_unquoted_name_with_a_space_reads_as_on_discord(library: Library) -> None:
    """On Discord `!source guide/my notes.md` is file `guide/my`, line `notes.md`; the console
    used to guess the whole text was a name, so the two disagreed."""
    assert "No such file" in reply(library, "!source guide/my notes.md")


def test_multi_character_prefix(library: Library) -> None:
    assert SIGN_IN in reply(library, "cb!source guide/install.md 5", prefix="cb!")
    assert "cb!ask" in reply(library, "cb!help", prefix="cb!")
    # Another prefix is not a command here: the line is a question, as a bare line is.
    assert "Unknown command" not in reply(library, "!frob", prefix="cb!")


@pytest.mark.parametrize(
    "line",
    [
        "@citebot source guide/install.md 5",
        "@citebot !source guide/install.md 5",
        "@citebot /source guide/install.md 5",
        "@citebot   source   guide/install.md   5",
    ],
)
def test_mention_runs_the_command_as_on_discord(library: Library, line: str) -> None:
    assert SIGN_IN in reply(library, line)


def test_mention_with_a_question_asks_it(library: Library) -> None:
    assert parse("@citebot how do I sign in?") == parse("!ask how do I sign in?")
    assert parse("@citebotx source a") == parse("!ask @citebotx source a")


def test_argument_errors_read_as_the_bot_words_them(library: Library) -> None:
    assert reply(library, "!source") == "file is a required argument that is missing. See `!help`."
    assert reply(library, '!source "guide/install.md 5') == 'Expected closing ". See `!help`.'
    assert reply(library, "!frob") == "Unknown command `frob`. Try `!help`."
    assert reply(library, "!sync").endswith("works on Discord only.")


def test_keyboard_is_not_rate_limited_unless_asked(library: Library) -> None:
    """The console used to apply the bot's limits: the sixth `!source` got 'Easy there'."""
    for _ in range(10):
        assert SIGN_IN in reply(library, "!source guide/install.md 5")
    limited = [handle(library, "!source guide/install.md 5", "!", limited=True) for _ in range(3)]
    assert limited[0] is not None and SIGN_IN in limited[0]
    assert limited[1] is not None and limited[1].startswith("Easy there")
    assert limited[2] == ""  # one notice per window, then quiet, as on Discord


def run_lines(settings: Settings, lines: str) -> str:
    out = io.StringIO()
    assert run_console(settings, stdin=io.StringIO(lines), stdout=out) == 0
    return out.getvalue()


def test_console_rate_limits_setting(tmp_path: Path) -> None:
    corpus = nested_corpus(tmp_path / "corpus")
    base: dict[str, Any] = {"corpus": corpus, "cache_dir": None, "user_rate": 1}
    lines = "!source guide/install.md 5\n" * 3
    free = run_lines(Settings(_env_file=None, **base), lines)  # type: ignore[call-arg]
    assert free.count(SIGN_IN) == 3
    strict = Settings(_env_file=None, console_rate_limits=True, **base)  # type: ignore[call-arg]
    assert run_lines(strict, lines).count(SIGN_IN) == 1


def test_a_failing_line_gets_an_apology_and_the_next_is_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = iter([RuntimeError("boom")])

    def ask(self: Library, question: str) -> Any:
        raise next(calls)

    monkeypatch.setattr(Library, "ask", ask)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, corpus=nested_corpus(tmp_path / "corpus"), cache_dir=None
    )
    out = run_lines(settings, "!ask anything\n!source guide/install.md 5\n")
    assert "Sorry, something went wrong on my side (error id `" in out
    assert SIGN_IN in out


# -- the same parsing as discord.py ----------------------------------------------------------


async def discord_py_parse(name: str, rest: str) -> dict[str, Any] | type[Exception]:
    """What discord.py's own Command._parse_arguments makes of `rest` for command `name`."""
    command = bot_commands()[name]
    message = SimpleNamespace(attachments=[], _state=None)
    ctx: commands.Context[Any] = commands.Context(
        message=message, bot=None, view=StringView(rest), prefix="!"  # type: ignore[arg-type]
    )
    try:
        await command._parse_arguments(ctx)
    except commands.UserInputError as exc:
        return type(exc)
    names = list(command.clean_params)
    return {**dict(zip(names, ctx.args[1:], strict=False)), **ctx.kwargs}


def console_parse(name: str, rest: str) -> dict[str, Any] | type[Exception]:
    try:
        return parse_arguments(bot_commands()[name], StringView(rest))
    except commands.UserInputError as exc:
        return type(exc)


WORDS = st.text(alphabet=st.sampled_from(list('ab 1²"“”\'\\  :')), max_size=20)


@given(name=st.sampled_from(["ask", "source", "sources"]), rest=WORDS)
@settings(max_examples=300, deadline=None)
def test_arguments_are_parsed_as_discord_py_parses_them(name: str, rest: str) -> None:
    assert console_parse(name, rest) == asyncio.run(discord_py_parse(name, rest))


@given(line=st.text(max_size=40))
@settings(max_examples=200, deadline=None)
def test_any_line_gets_a_reply_or_none(library: Library, line: str) -> None:
    for text in (line, f"!source {line}", f"@citebot {line}", f"!sources {line}"):
        try:
            handle(library, text)
        except EOFError:  # "quit" and "exit" leave the console
            call = parse(text)
            assert call is not None and call.name in LEAVE
