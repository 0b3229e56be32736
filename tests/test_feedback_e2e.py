"""Helpful / Wrong / More under every answer, clicked through the loopback fake Discord with
the real discord.py client; the votes checked in the database and in `citebot feedback`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import CiteBot
from bot.buttons import TEMPLATE
from tests.discordtest import OWNER, make_bot, make_settings
from tests.fakediscord import JSON, FakeDiscord, run_bot

QUESTION = "who is Scale's interim CEO?"
MESSAGES = "/channels/{channel_id}/messages"
EPHEMERAL = 64
LABELS = ["Helpful", "Wrong", "More"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "feedback" / "votes.sqlite3"


def bot_for(db: Path, **settings: Any) -> CiteBot:
    return make_bot(make_settings(feedback_db=db, **settings))


@pytest.fixture
async def bot(fake: FakeDiscord, db: Path) -> AsyncIterator[CiteBot]:
    async with run_bot(bot_for(db), fake) as running:
        yield running


async def ask(fake: FakeDiscord) -> JSON:
    """`!ask QUESTION`; the answer as stored by the fake (with its buttons)."""
    before = len(fake.find_requests("POST", MESSAGES, ok=True))
    await fake.dispatch_message(f"!ask {QUESTION}")
    sent = await fake.wait_for_messages(before + 1)
    return sent[before]


async def answer_message(fake: FakeDiscord) -> JSON:
    reply = await ask(fake)
    [post] = [r for r in fake.find_requests("POST", MESSAGES, ok=True) if r.json is reply]
    return fake.message_with_components(stored_id(fake, post.json))


def stored_id(fake: FakeDiscord, body: JSON) -> int:
    """The id the fake gave the message sent with `body`."""
    return next(int(m["id"]) for m in fake.messages.values() if m.get("nonce") == body["nonce"])


def votes(db: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT answer_id, user_hash, vote FROM votes").fetchall())


def answers(db: Path) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, question, citations, kind FROM answers").fetchall()
    return sorted(rows)


async def click(fake: FakeDiscord, message: JSON, label: str, **kwargs: Any) -> JSON:
    interaction = await fake.click(message, fake.buttons(message)[label], **kwargs)
    return await fake.response_to(interaction)


async def test_every_answer_gets_three_buttons_naming_its_stored_answer(
    fake: FakeDiscord, bot: CiteBot, db: Path
) -> None:
    await fake.dispatch_message(f"!ask {QUESTION}")
    await fake.dispatch_message(f"<@{fake.bot_id}> {QUESTION}", mentions=[fake.bot_id])
    await fake.dispatch_interaction("ask", {"question": QUESTION})
    sent = await fake.wait_for_messages(2)
    [response] = await fake.wait_for_interaction_responses(1)
    ids = set()
    for body in [*sent, response["data"]]:
        buttons = fake.buttons(body)
        assert list(buttons) == LABELS
        matches = [TEMPLATE.fullmatch(custom_id) for custom_id in buttons.values()]
        assert all(m is not None for m in matches)
        assert len({m["answer"] for m in matches if m is not None}) == 1
        ids.add(next(m["answer"] for m in matches if m is not None))
    stored = answers(db)
    assert {row[0] for row in stored} == ids
    assert sorted(row[3] for row in stored) == ["mention", "prefix", "slash"]
    assert all(json.loads(row[2])[0] == "004_bbdec2aa2fae0f2f.txt:9" for row in stored)


async def test_an_unusable_question_gets_no_buttons(fake: FakeDiscord, bot: CiteBot) -> None:
    await fake.dispatch_message("!ask the of and")  # only stopwords: no terms to search
    [reply] = await fake.wait_for_messages(1)
    assert fake.buttons(reply) == {}


async def test_a_vote_is_stored_hashed_and_a_second_click_changes_it(
    fake: FakeDiscord, bot: CiteBot, db: Path
) -> None:
    message = await answer_message(fake)
    wrong = await click(fake, message, "Wrong")
    assert wrong["type"] == 4 and wrong["data"]["flags"] & EPHEMERAL
    assert "marked as wrong" in wrong["data"]["content"]
    [(answer_id, user_hash, vote)] = votes(db)
    assert vote == -1 and str(fake.user_id) not in user_hash
    assert user_hash == bot.feedback.hash_user(fake.user_id)
    changed = await click(fake, message, "Helpful")
    assert changed["data"]["content"] == "Changed your vote to helpful."
    assert votes(db) == [(answer_id, user_hash, 1)]
    again = await click(fake, message, "Helpful")
    assert again["data"]["content"] == "You already marked it as helpful."
    await click(fake, message, "Wrong", user_id=OWNER)
    assert sorted(v for _, _, v in votes(db)) == [-1, 1]


async def test_more_shows_the_next_passages_ephemerally(
    fake: FakeDiscord, bot: CiteBot, db: Path
) -> None:
    message = await answer_message(fake)
    shown = re.findall(r"`([^`]+:\d+(?:-\d+)?)`", message["content"])
    more = await click(fake, message, "More")
    assert more["type"] == 4 and more["data"]["flags"] & EPHEMERAL
    content = more["data"]["content"]
    assert content.startswith("More passages, ranked after the ones above:")
    extra = re.findall(r"^\[(\d+)\] `([^`]+)`$", content, re.M)
    assert [n for n, _ in extra] == ["4", "5", "6"]
    assert not {c for _, c in extra} & set(shown)
    assert more["data"]["allowed_mentions"]["parse"] == []


async def test_a_deferred_slash_answer_gets_its_buttons_with_the_edit(
    fake: FakeDiscord, db: Path
) -> None:
    async with run_bot(bot_for(db, defer_after=0.0), fake):
        await fake.dispatch_interaction("ask", {"question": QUESTION})
        [edit] = await fake.wait_for_requests(
            "PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}", 1, ok=True
        )
    assert list(fake.buttons(edit.json)) == LABELS


async def test_a_slow_more_is_deferred_ephemerally_then_edited(
    fake: FakeDiscord, db: Path
) -> None:
    async with run_bot(bot_for(db, defer_after=0.0), fake):
        message = await answer_message(fake)
        more = await click(fake, message, "More")
        assert more["type"] == 5 and more["data"]["flags"] & EPHEMERAL
        [edit] = await fake.wait_for_requests(
            "PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}", 1, ok=True
        )
        assert edit.json["content"].startswith("More passages")


async def test_a_click_after_a_restart_is_handled_and_reported_by_the_cli(
    fake: FakeDiscord, db: Path, tmp_path: Path
) -> None:
    async with run_bot(bot_for(db), fake):
        message = await answer_message(fake)
    # A new process would have nothing in memory: a new Bot on the same database.
    async with run_bot(bot_for(db), fake):
        wrong = await click(fake, message, "Wrong")
        more = await click(fake, message, "More")
    assert "marked as wrong" in wrong["data"]["content"]
    assert more["data"]["content"].startswith("More passages")
    assert [v for _, _, v in votes(db)] == [-1]

    env = {**os.environ, "CITEBOT_FEEDBACK_DB": str(db)}
    summary = subprocess.run(
        [sys.executable, "-m", "bot", "feedback"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    assert "answers 1 (1 answered, 0 not found), votes 1" in summary
    assert re.search(r"^prefix\s+1\s+0\s+1$", summary, re.M)
    assert f"    1        0  {QUESTION}  [004_bbdec2aa2fae0f2f.txt:9]" in summary
    target = tmp_path / "to-label.jsonl"
    subprocess.run(
        [sys.executable, "-m", "bot", "feedback", "--export", str(target)], cwd=tmp_path,
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    [line] = target.read_text(encoding="utf-8").splitlines()
    entry = json.loads(line)
    assert (entry["question"], entry["answers"], entry["sources"]) == (QUESTION, [], [])


async def test_a_button_of_an_answer_not_on_record_says_so(
    fake: FakeDiscord, bot: CiteBot, db: Path
) -> None:
    message = await answer_message(fake)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM answers")
    wrong = await click(fake, message, "Wrong")
    more = await click(fake, message, "More")
    for response in (wrong, more):
        assert response["data"]["content"].startswith("That answer is no longer on record")
    assert votes(db) == []


async def test_clicks_count_against_the_rate_limit(fake: FakeDiscord, db: Path) -> None:
    async with run_bot(bot_for(db, user_rate=2), fake):
        message = await answer_message(fake)  # one of two
        first = await click(fake, message, "Wrong")  # two of two
        refused = await click(fake, message, "Helpful")
        again = await click(fake, message, "More")
    assert "marked as wrong" in first["data"]["content"]
    # Every refused click is answered (ephemeral): Discord shows an error for one that isn't.
    for response in (refused, again):
        assert "asking quickly" in response["data"]["content"]
        assert response["data"]["flags"] & EPHEMERAL
    assert [v for _, _, v in votes(db)] == [-1]


async def test_the_feedback_database_failing_still_answers_without_buttons(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    async with run_bot(bot_for(blocked / "votes.sqlite3"), fake):
        reply = await ask(fake)
    assert "`004_bbdec2aa2fae0f2f.txt:9`" in reply["content"]
    assert fake.buttons(reply) == {}


async def test_a_vote_from_several_clicks_at_once_is_one_row(
    fake: FakeDiscord, bot: CiteBot, db: Path
) -> None:
    message = await answer_message(fake)
    users = [fake.add_user(6000 + n, f"voter{n}")["id"] for n in range(3)]
    clicks = [fake.click(message, fake.buttons(message)[label], user_id=int(uid))
              for uid in users for label in ("Wrong", "Helpful")]
    interactions = await asyncio.gather(*clicks)
    await asyncio.gather(*(fake.response_to(i) for i in interactions))
    assert len(votes(db)) == 3
