"""citebot end to end: the real discord.py client against the loopback fake Discord."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from bot.app import CiteBot
from tests.discordtest import OWNER, make_bot, make_settings
from tests.fakediscord import FakeDiscord, run_bot

CALLBACK = "/interactions/{interaction_id}/{token}/callback"
ORIGINAL = "/webhooks/{application_id}/{token}/messages/{message_id}"


async def test_prefix_ask_replies_with_quote_and_citation(fake: FakeDiscord, bot: CiteBot) -> None:
    asked = await fake.dispatch_message("!ask who is Scale's interim CEO?")
    [reply] = await fake.wait_for_messages(1)
    assert "**Jason Droege" in reply["content"]
    assert "`004_bbdec2aa2fae0f2f.txt:9`" in reply["content"]
    assert str(reply["message_reference"]["message_id"]) == str(asked["id"])
    assert reply["allowed_mentions"]["parse"] == []
    assert reply["allowed_mentions"].get("replied_user") is False


async def test_mention_with_a_question_is_answered(fake: FakeDiscord, bot: CiteBot) -> None:
    await fake.dispatch_message(
        f"<@{fake.bot_id}> who is Scale's interim CEO?", mentions=[fake.bot_id]
    )
    [reply] = await fake.wait_for_messages(1)
    assert "`004_bbdec2aa2fae0f2f.txt:9`" in reply["content"]


async def test_slash_ask_answers_through_the_interaction_callback(
    fake: FakeDiscord, bot: CiteBot
) -> None:
    await fake.dispatch_interaction("ask", {"question": "who is Scale's interim CEO?"})
    [response] = await fake.wait_for_interaction_responses(1)
    assert response["type"] == 4
    assert "`004_bbdec2aa2fae0f2f.txt:9`" in response["data"]["content"]
    assert response["data"]["allowed_mentions"]["parse"] == []


async def test_slow_slash_ask_is_deferred_then_edited(fake: FakeDiscord) -> None:
    async with run_bot(make_bot(make_settings(defer_after=0.0)), fake):
        await fake.dispatch_interaction("ask", {"question": "who is Scale's interim CEO?"})
        [response] = await fake.wait_for_interaction_responses(1)
        assert response["type"] == 5  # deferred
        [edit] = await fake.wait_for_requests("PATCH", ORIGINAL, 1, ok=True)
        assert edit.path.endswith("/messages/@original")
        assert "`004_bbdec2aa2fae0f2f.txt:9`" in edit.json["content"]


async def test_source_autocomplete_offers_matching_files(fake: FakeDiscord, bot: CiteBot) -> None:
    await fake.dispatch_autocomplete("source", {"file": "004"}, focused="file")
    [response] = await fake.wait_for_interaction_responses(1)
    assert response["type"] == 8
    choices = response["data"]["choices"]
    assert [c["value"] for c in choices] == ["004_bbdec2aa2fae0f2f.txt"]
    await fake.dispatch_autocomplete("source", {"file": ""}, focused="file")
    [_, everything] = await fake.wait_for_interaction_responses(2)
    assert 1 <= len(everything["data"]["choices"]) <= 25


@pytest.mark.parametrize("name", ["../.env", "/etc/passwd", "../seeds/000_ea1b4204a10c4bc9.txt",
                                  "nope.txt"])
async def test_source_refuses_paths_outside_the_index(
    fake: FakeDiscord, bot: CiteBot, name: str
) -> None:
    await fake.dispatch_message(f"!source {name}")
    [reply] = await fake.wait_for_messages(1)
    assert reply["content"].startswith("No such file in the corpus")


async def test_source_shows_the_cited_passage(fake: FakeDiscord, bot: CiteBot) -> None:
    await fake.dispatch_interaction("source", {"file": "004_bbdec2aa2fae0f2f.txt", "line": 9})
    [response] = await fake.wait_for_interaction_responses(1)
    content = response["data"]["content"]
    assert "Jason Droege" in content and content.endswith("`004_bbdec2aa2fae0f2f.txt:9`")


async def test_corpus_mentions_ping_nobody(fake: FakeDiscord, tmp_path: Path) -> None:
    (tmp_path / "memo.txt").write_text(
        "The quarterly offsite agenda goes to @everyone and <@123> and <@&77> today.\n",
        encoding="utf-8",
    )
    async with run_bot(make_bot(make_settings(corpus=tmp_path)), fake):
        await fake.dispatch_message("!ask who gets the quarterly offsite agenda")
        await fake.dispatch_interaction("ask", {"question": "quarterly offsite agenda"})
        [reply] = await fake.wait_for_messages(1)
        [response] = await fake.wait_for_interaction_responses(1)
    for payload in (reply, response["data"]):
        assert payload["allowed_mentions"]["parse"] == []
        assert "@everyone" not in payload["content"]
        assert not re.search(r"<@&?\d+>", payload["content"])


async def test_replies_stay_under_2000_characters(fake: FakeDiscord, tmp_path: Path) -> None:
    filler = " ".join(f"The board discussed the harbour budget, item {n}." for n in range(400))
    (tmp_path / "minutes.txt").write_text(
        "\n".join(f"Session {i} on the harbour budget. {filler}" for i in range(4)) + "\n",
        encoding="utf-8",
    )
    async with run_bot(make_bot(make_settings(corpus=tmp_path)), fake):
        await fake.dispatch_message("!ask what did the board discuss about the harbour budget")
        [reply] = await fake.wait_for_messages(1)
    assert len(reply["content"]) <= 2000
    assert len(re.findall(r"`minutes\.txt:\d+`", reply["content"])) == 3


async def test_flood_gets_exactly_the_allowed_answers_and_one_notice(
    fake: FakeDiscord, bot: CiteBot
) -> None:
    for n in range(30):
        await fake.dispatch_message(f"!ask who is Scale's interim CEO? ({n})")
    await asyncio.sleep(0.5)
    sent = await fake.wait_for_messages(6)
    await asyncio.sleep(0.5)
    sent = [r.json for r in fake.find_requests("POST", "/channels/{channel_id}/messages", ok=True)]
    answers = [s for s in sent if "004_bbdec2aa2fae0f2f.txt:9" in s["content"]]
    notices = [s for s in sent if "asking quickly" in s["content"]]
    assert (len(answers), len(notices), len(sent)) == (5, 1, 6)


async def test_channel_limit_applies_across_users(fake: FakeDiscord) -> None:
    settings = make_settings(channel_rate=3, user_rate=5)
    async with run_bot(make_bot(settings), fake):
        users = [fake.add_user(5000 + n, f"user{n}")["id"] for n in range(6)]
        for uid in users:
            await fake.dispatch_message("!ask who is Scale's interim CEO?", author_id=int(uid))
        await fake.wait_for_messages(4)
        await asyncio.sleep(0.3)
        sent = [r.json["content"] for r in fake.find_requests("POST", ok=True)
                if r.route == "/channels/{channel_id}/messages"]
    assert sum("004_bbdec2aa2fae0f2f.txt:9" in s for s in sent) == 3
    assert sum("channel is asking quickly" in s for s in sent) == 1


async def test_synced_commands_obey_discords_limits(fake: FakeDiscord, bot: CiteBot) -> None:
    await fake.dispatch_message("!sync global", author_id=OWNER)
    [put] = await fake.wait_for_requests("PUT", "/applications/{application_id}/commands", 1)
    commands = put.json
    assert {c["name"] for c in commands} >= {"ask", "source", "sources", "help", "reload"}
    for command in commands:
        assert re.fullmatch(r"[-_\w]{1,32}", command["name"])
        assert command["name"] == command["name"].lower()
        assert 1 <= len(command["description"]) <= 100
        options = command.get("options", [])
        assert len(options) <= 25
        for option in options:
            assert re.fullmatch(r"[-_\w]{1,32}", option["name"])
            assert 1 <= len(option["description"]) <= 100


async def test_sync_is_owner_only(fake: FakeDiscord, bot: CiteBot) -> None:
    await fake.dispatch_message("!sync global")
    [reply] = await fake.wait_for_messages(1)
    assert "can't use that" in reply["content"]
    assert not fake.find_requests("PUT", "/applications/{application_id}/commands")


async def test_dropped_gateway_is_resumed_and_next_question_answered(
    fake: FakeDiscord, bot: CiteBot
) -> None:
    await fake.drop_connection(code=4000)
    await fake.dispatch_message("!ask who is Scale's interim CEO?", timeout=10)
    [reply] = await fake.wait_for_messages(1, timeout=10)
    assert "`004_bbdec2aa2fae0f2f.txt:9`" in reply["content"]


async def test_reidentifies_when_the_session_is_invalid(fake: FakeDiscord, bot: CiteBot) -> None:
    before = fake.identify_count
    await fake.drop_connection(invalidate_session=True)
    await fake.dispatch_message("!ask who is Scale's interim CEO?", timeout=10)
    [reply] = await fake.wait_for_messages(1, timeout=10)
    assert fake.identify_count == before + 1
    assert "`004_bbdec2aa2fae0f2f.txt:9`" in reply["content"]


async def test_rest_429_is_retried_and_the_reply_delivered(
    fake: FakeDiscord, bot: CiteBot
) -> None:
    fake.rate_limit("POST", "/channels/{channel_id}/messages", count=1, retry_after=0.2)
    await fake.dispatch_message("!ask who is Scale's interim CEO?")
    [reply] = await fake.wait_for_messages(1, timeout=5)
    assert "`004_bbdec2aa2fae0f2f.txt:9`" in reply["content"]
    assert fake.find_requests("POST", "/channels/{channel_id}/messages", ok=False)


async def test_a_failing_command_apologizes_with_an_error_id_and_keeps_serving(
    fake: FakeDiscord, bot: CiteBot, caplog: pytest.LogCaptureFixture
) -> None:
    original = bot.library.ask

    def broken(question: str) -> Any:
        raise RuntimeError("index exploded")

    bot.library.ask = broken  # type: ignore[method-assign]
    await fake.dispatch_message("!ask who is Scale's interim CEO?")
    [apology] = await fake.wait_for_messages(1)
    match = re.search(r"error id `([0-9a-f]{8})`", apology["content"])
    assert match is not None
    assert any(match.group(1) in r.getMessage() for r in caplog.records)
    bot.library.ask = original  # type: ignore[method-assign]
    await fake.dispatch_message("!ask who is Scale's interim CEO?")
    [_, reply] = await fake.wait_for_messages(2)
    assert "`004_bbdec2aa2fae0f2f.txt:9`" in reply["content"]


def lighthouse_corpus(tmp_path: Path, others: dict[str, str] | None = None) -> Path:
    """A corpus whose a.txt names the lighthouse keeper, plus any other files."""
    corpus = tmp_path / "docs"
    corpus.mkdir()
    files = {"a.txt": "The lighthouse keeper is Ada Brightwater.\n", **(others or {})}
    for name, text in files.items():
        (corpus / name).write_text(text, encoding="utf-8")
    return corpus


async def test_reload_keeps_the_old_index_when_the_rebuild_fails(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    corpus = lighthouse_corpus(tmp_path)
    async with run_bot(make_bot(make_settings(corpus=corpus)), fake):
        (corpus / "a.txt").unlink()
        await fake.dispatch_message("!reload", author_id=OWNER)
        [failed] = await fake.wait_for_messages(1)
        assert "Reload failed, still using the old index" in failed["content"]
        await fake.dispatch_message("!ask who is the lighthouse keeper")
        [_, answer] = await fake.wait_for_messages(2)
        assert "Ada Brightwater" in answer["content"]


async def test_the_application_owner_is_exempt_from_the_first_message(fake: FakeDiscord) -> None:
    """No CITEBOT_OWNER_IDS: the owner comes from the application info at start-up (the
    fake's application belongs to the tester)."""
    settings = make_settings(owner_ids=frozenset(), owners_exempt=True, user_rate=1)
    async with run_bot(make_bot(settings), fake) as bot:
        assert bot.owner_id == fake.user_id
        for _ in range(3):
            await fake.dispatch_message("!ask who is Scale's interim CEO?")
        sent = await fake.wait_for_messages(3)
    assert all("`004_bbdec2aa2fae0f2f.txt:9`" in s["content"] for s in sent)


async def test_sync_clear_removes_the_guild_copies(fake: FakeDiscord, bot: CiteBot) -> None:
    guild_commands = "/applications/{application_id}/guilds/{guild_id}/commands"
    await fake.dispatch_message("!sync", author_id=OWNER)
    [copied] = await fake.wait_for_requests("PUT", guild_commands, 1)
    assert {c["name"] for c in copied.json} >= {"ask", "source"}
    await fake.dispatch_message("!sync clear", author_id=OWNER)
    [_, cleared] = await fake.wait_for_requests("PUT", guild_commands, 2)
    assert cleared.json == []
    await fake.dispatch_message("!sync everything", author_id=OWNER)
    replies = await fake.wait_for_messages(3)
    assert "global commands remain" in replies[1]["content"]
    assert replies[2]["content"] == "Use `!sync [guild|global|clear]`."


async def test_a_reload_that_lost_files_keeps_the_old_index_until_confirmed(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    corpus = lighthouse_corpus(tmp_path, {"b.txt": "The harbour master is Tom Quayle.\n"})
    async with run_bot(make_bot(make_settings(corpus=corpus)), fake):
        (corpus / "a.txt").unlink()
        await fake.dispatch_message("!reload", author_id=OWNER)
        [refused] = await fake.wait_for_messages(1)
        assert "Not reloaded" in refused["content"] and "a.txt" in refused["content"]
        await fake.dispatch_message("!ask who is the lighthouse keeper")
        [_, kept] = await fake.wait_for_messages(2)
        assert "Ada Brightwater" in kept["content"]
        await fake.dispatch_message("!reload confirm", author_id=OWNER)
        [*_, accepted] = await fake.wait_for_messages(3)
        assert "Reloaded: 1 file, 1 passage" in accepted["content"]
        assert "(1 file fewer: a.txt)" in accepted["content"]
