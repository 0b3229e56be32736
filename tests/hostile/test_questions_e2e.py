"""Hostile questions through the real discord.py client and the loopback fake Discord:
whatever is asked, one reply comes, it fits one message, pings nobody, and stays one quote
block per passage."""

from __future__ import annotations

import asyncio
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.discordtest import OWNER, make_bot, make_settings
from tests.fakediscord import FakeDiscord, run_bot

# Pieces that have broken chat bots: mentions of every kind, markdown that opens blocks,
# quote and spoiler markers, zero-width and right-to-left characters, seed words.
FRAGMENTS = [
    "@everyone", "@here", "<@4242>", "<@!1>", "<@&7>", "<#9>", "```", "`", "**", "__", "~~",
    "||", "> ", "\n", "\u200b", "\u202e", "# ", "- ", "[x](https://e.com)", "Scale", "Meta",
    "Wang", "CEO", "stake", "$14.3", "Droege", "ask", "!source", "../.env", "\\", "%s", "{}",
]
QUESTIONS = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), min_size=1, max_size=12
).map(" ".join)
MESSAGE_LIMIT = 2000
_LIVE_MENTION = re.compile(r"@(?:everyone|here)|<@[!&]?\d+>|<#\d+>")


async def _ask_all(questions: list[str]) -> list[dict[str, object]]:
    async with FakeDiscord() as fake:
        fake.add_user(OWNER, "owner")
        bot = make_bot(make_settings(user_rate=1000, channel_rate=1000))
        async with run_bot(bot, fake):
            for q in questions:
                await fake.dispatch_message(f"!ask {q}")
            return await fake.wait_for_messages(len(questions), timeout=20)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(QUESTIONS, min_size=15, max_size=15))
def test_any_question_gets_one_safe_reply(questions: list[str]) -> None:
    replies = asyncio.run(_ask_all(questions))
    assert len(replies) == len(questions)
    for reply in replies:
        content = str(reply["content"])
        assert 0 < len(content) <= MESSAGE_LIMIT
        assert not _LIVE_MENTION.search(content)
        mentions = reply["allowed_mentions"]
        assert isinstance(mentions, dict) and mentions["parse"] == []
        assert "Traceback" not in content
