"""citebot started against the loopback fake Discord: its settings, and the `fake` and `bot`
fixtures the end-to-end tests share (registered in tests/conftest.py). A module that needs
another server or bot overrides the fixture of that name."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import CiteBot
from bot.settings import Settings
from tests.fakediscord import FakeDiscord, run_bot
from tests.seedcorpus import SEEDS

OWNER = 4242
# Feedback databases of bots made without one: never the user's ~/.cache. Removed at exit.
_SCRATCH = tempfile.TemporaryDirectory(prefix="citebot-e2e-")


def make_settings(corpus: Path = SEEDS, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "corpus": corpus,
        "cache_dir": None,
        "owner_ids": frozenset({OWNER}),
        "owners_exempt": False,
        "feedback_db": Path(_SCRATCH.name) / f"{uuid.uuid4().hex}.sqlite3",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def no_wait(shard_id: int | None, *, initial: bool = False) -> None:
    return None


def make_bot(settings: Settings) -> CiteBot:
    bot = CiteBot(settings, guild_ready_timeout=0.05)
    bot.before_identify_hook = no_wait  # type: ignore[method-assign]
    return bot


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        server.add_user(OWNER, "owner")
        yield server


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[CiteBot]:
    async with run_bot(make_bot(make_settings()), fake) as running:
        yield running
