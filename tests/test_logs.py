"""Logging (bot/logs.py): one handler, text or JSON, no token; and one INFO line per question
through the loopback fake Discord, whichever way the question came."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from bot import logs
from bot.app import CiteBot
from bot.settings import Settings
from tests.discordtest import make_bot, make_settings
from tests.fakediscord import FakeDiscord, run_bot
from tests.test_feedback_e2e import answer_message, click

QUESTION = "who is Scale's interim CEO?"
TOKEN = "MTAwMA.fake-token-value.abcdefghijklmnop"
FIELDS = ("kind", "guild", "channel", "user", "ms", "outcome", "top", "error", "answer")


@pytest.fixture
def root_logging() -> Iterator[None]:
    """configure() changes the root logger: put it back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def settings(**values: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, discord_token=SecretStr(TOKEN), **values
    )


def test_json_is_one_object_a_line_with_the_event_fields(root_logging: None) -> None:
    stream = io.StringIO()
    logs.configure(settings(log_format="json"), stream=stream)
    logs.event(logs.QUESTIONS, "question", kind="slash", ms=12, outcome="answered")
    logging.getLogger("discord.client").warning("multi\nline")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["logger"] == "citebot.questions" and first["message"] == "question"
    assert (first["kind"], first["ms"], first["outcome"]) == ("slash", 12, "answered")
    assert second["message"] == "multi\nline" and second["level"] == "WARNING"


def test_configured_twice_each_line_is_written_once(root_logging: None) -> None:
    stream = io.StringIO()
    logs.configure(settings(), stream=stream)
    logs.configure(settings(), stream=stream)
    logging.getLogger("discord.gateway").info("Shard ID None has connected to Gateway")
    assert stream.getvalue().count("has connected to Gateway") == 1


def test_text_lines_carry_the_fields_and_quiet_hides_info(root_logging: None) -> None:
    stream = io.StringIO()
    logs.configure(settings(), stream=stream)
    logs.event(logs.QUESTIONS, "question", kind="prefix", top="a.txt:9", error="")
    line = stream.getvalue().rstrip()
    assert line.endswith("citebot.questions: question kind=prefix top=a.txt:9")
    logs.configure(settings(), quiet=True, stream=stream)
    logs.event(logs.QUESTIONS, "question", kind="prefix")
    assert stream.getvalue().count("question kind=prefix") == 1


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_token_is_never_written(root_logging: None, log_format: str) -> None:
    stream = io.StringIO()
    logs.configure(settings(log_format=log_format), stream=stream)
    log = logging.getLogger("discord.http")
    log.warning("Authorization: Bot %s", TOKEN)
    try:
        raise RuntimeError(f"login with {TOKEN} failed")
    except RuntimeError:
        log.exception("oops")
    written = stream.getvalue()
    assert TOKEN not in written
    assert written.count(logs.REDACTED) == 2  # the message, and the exception in the traceback


# -- one line per question, end to end ------------------------------------------------------


def question_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [getattr(r, logs.FIELDS) for r in caplog.records if r.name == logs.QUESTIONS.name]


async def lines_after(caplog: pytest.LogCaptureFixture, count: int) -> list[dict[str, Any]]:
    """The question lines once `count` were written (each follows its reply)."""
    for _ in range(100):
        if len(question_lines(caplog)) >= count:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # and no more than that
    return question_lines(caplog)


async def test_one_line_per_question_whichever_way_it_came(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=logs.QUESTIONS.name)
    async with run_bot(make_bot(make_settings()), fake) as bot:
        message = await answer_message(fake)
        await fake.dispatch_message(f"<@{fake.bot_id}> {QUESTION}", mentions=[fake.bot_id])
        await fake.dispatch_message(f"<@{fake.bot_id}> !ask {QUESTION}", mentions=[fake.bot_id])
        await fake.wait_for_messages(3)
        await fake.dispatch_interaction("ask", {"question": "what is the stock price of acme"})
        await fake.wait_for_interaction_responses(1)
        await click(fake, message, "More")
        await click(fake, message, "Wrong")  # a vote, not a question
        await fake.dispatch_message("!help")  # not a question either
        lines = await lines_after(caplog, 5)
        user = bot.feedback.hash_user(fake.user_id)
    assert [line["kind"] for line in lines] == ["prefix", "mention", "mention", "slash", "button"]
    for line in lines:
        assert tuple(line) == FIELDS
        assert (line["guild"], line["channel"], line["user"]) == (
            fake.guild_id, fake.channel_id, user)
        assert isinstance(line["ms"], int) and 0 <= line["ms"] < 5000
        assert line["error"] == ""
    assert [line["outcome"] for line in lines] == [
        "answered", "answered", "answered", "abstained", "answered"]
    assert lines[0]["top"] == "004_bbdec2aa2fae0f2f.txt:9"
    assert re.fullmatch(r"[0-9a-f]{16}", lines[0]["answer"])
    assert str(fake.user_id) not in json.dumps(lines)


async def test_limited_and_failed_questions_are_logged_with_their_error_id(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=logs.QUESTIONS.name)
    bot: CiteBot = make_bot(make_settings(user_rate=1))
    async with run_bot(bot, fake):

        def broken(question: str) -> Any:
            raise RuntimeError("index exploded")

        bot.library.ask = broken  # type: ignore[method-assign]
        await fake.dispatch_message(f"!ask {QUESTION}")
        [apology] = await fake.wait_for_messages(1)
        await fake.dispatch_message(f"!ask {QUESTION}")
        await fake.wait_for_messages(2)
        lines = await lines_after(caplog, 2)
    [error_id] = re.findall(r"error id `([0-9a-f]{8})`", apology["content"])
    assert [(line["outcome"], line["error"]) for line in lines] == [
        ("error", error_id), ("limited", "")]
