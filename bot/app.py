"""The Discord client: a commands.Bot whose setup_hook loads the index and adds the cog."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import discord
from discord.ext import commands

from bot.commands import Citebot
from bot.service import Library
from bot.settings import Settings

log = logging.getLogger(__name__)


class CiteBot(commands.Bot):
    def __init__(
        self, settings: Settings, library: Library | None = None, **options: Any
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = settings.message_content
        super().__init__(
            command_prefix=commands.when_mentioned_or(settings.command_prefix),
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            owner_ids=set(settings.owner_ids) or None,
            **options,
        )
        self.settings = settings
        self.library = library or Library(settings)

    async def setup_hook(self) -> None:
        if not self.library.ready:
            # Building a large corpus takes a while: keep the event loop (heartbeats) free.
            await asyncio.to_thread(self.library.load)
        await self.add_cog(Citebot(self))
        # The slash commands are published with the owner-only `sync` command, never here:
        # syncing on every start gets a bot rate limited.
        log.info("index ready: %d passages", len(self.library.index.passages))

    async def on_command_error(  # type: ignore[override]
        self, ctx: commands.Context[CiteBot], error: commands.CommandError
    ) -> None:
        # Unknown commands (e.g. "!hello") and errors the cog already handled stay quiet.
        if isinstance(error, commands.CommandNotFound) or ctx.cog is not None:
            return
        log.error("unhandled command error", exc_info=error)


def run_bot(settings: Settings, corpus: Path | None = None) -> int:
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        print("citebot: set CITEBOT_DISCORD_TOKEN (or DISCORD_TOKEN) to the bot token; "
              "see README 'Run it on a Discord server'")
        return 2
    discord.utils.setup_logging(level=getattr(logging, settings.log_level))
    library = Library(settings, corpus)
    try:
        library.load()
    except Exception as exc:  # a CorpusError: one line, not a traceback
        print(f"citebot: {exc}")
        return 2
    bot = CiteBot(settings, library)
    try:
        bot.run(settings.discord_token.get_secret_value(), log_handler=None)
    except discord.LoginFailure:
        print("citebot: Discord rejected the token (CITEBOT_DISCORD_TOKEN)")
        return 2
    except discord.PrivilegedIntentsRequired:
        print("citebot: enable the Message Content intent in the developer portal, "
              "or set CITEBOT_MESSAGE_CONTENT=false (mentions and slash commands still work)")
        return 2
    return 0
