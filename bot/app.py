"""The Discord client: a commands.Bot whose setup_hook loads the index, opens the feedback
database, registers the answer buttons and adds the cog; and `run_bot`, which serves until
SIGTERM or SIGINT and then closes the client."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Any

import discord
from discord.ext import commands

from bot.buttons import AnswerButton
from bot.commands import Citebot
from bot.delivery import RetryPolicy
from bot.feedback import FeedbackError, FeedbackStore
from bot.limits import Verdict
from bot.service import Library
from bot.settings import Settings

log = logging.getLogger(__name__)

SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def command_prefixes(bot: commands.Bot, message: discord.Message) -> list[str]:
    """`!ask`, `@citebot ask`, and also `@citebot !ask` / `@citebot /ask` (people type the
    command as they know it after the mention). Longest first: discord.py takes the first
    prefix that matches."""
    assert isinstance(bot, CiteBot)
    mentions: list[str] = commands.when_mentioned(bot, message)
    typed = bot.settings.command_prefix
    return [m + p for m in mentions for p in (typed, "/")] + mentions + [typed]


class CiteBot(commands.Bot):
    def __init__(
        self,
        settings: Settings,
        library: Library | None = None,
        feedback: FeedbackStore | None = None,
        **options: Any,
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = settings.message_content
        # citebot never joins voice: no start-up warnings about voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=command_prefixes,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            owner_ids=set(settings.owner_ids) or None,
            **options,
        )
        self.settings = settings
        self.library = library or Library(settings)
        self.feedback = feedback or FeedbackStore(settings.feedback_db)
        self.retry = RetryPolicy()
        self.answers: Citebot | None = None

    async def setup_hook(self) -> None:
        if not self.library.ready:
            # Building a large corpus takes a while: keep the event loop (heartbeats) free.
            await asyncio.to_thread(self.library.load)
        try:
            await asyncio.to_thread(self.feedback.open)
        except FeedbackError as exc:
            log.warning("answers will have no feedback buttons: %s", exc)
        await self._learn_owners()
        # Clicks on buttons of any earlier answer, before or after a restart, find their
        # handler by the custom_id's pattern.
        self.add_dynamic_items(AnswerButton)
        self.answers = Citebot(self)
        await self.add_cog(self.answers)
        # The slash commands are published with the owner-only `sync` command, never here:
        # syncing on every start gets a bot rate limited.
        log.info("index ready: %d passages", len(self.library.index.passages))

    async def _learn_owners(self) -> None:
        """Without CITEBOT_OWNER_IDS, the application's owner (or its team's members) from
        the start, so that they are exempt from the rate limits from their first message,
        not only after discord.py looked them up for an owner-only command."""
        if self.owner_id is not None or self.owner_ids:
            return
        try:
            app = await self.application_info()
        except discord.HTTPException as exc:
            log.warning("could not look up the application's owner: %s", exc)
            return
        if app.team is not None:
            self.owner_ids = {member.id for member in app.team.members}
        else:
            self.owner_id = app.owner.id

    def exempt(self, user_id: int) -> bool:
        return self.settings.owners_exempt and (
            user_id in self.settings.owner_ids
            or user_id == self.owner_id
            or user_id in (self.owner_ids or ())
        )

    def admit(self, user_id: int, channel_id: int) -> Verdict:
        """Take one request (question, command or click) from the user's and the channel's
        rate limits."""
        return self.library.limiter.check(user_id, channel_id, self.exempt(user_id))

    async def on_command_error(  # type: ignore[override]
        self, ctx: commands.Context[CiteBot], error: commands.CommandError
    ) -> None:
        # Unknown commands (e.g. "!hello") and errors the cog already handled stay quiet.
        if isinstance(error, commands.CommandNotFound) or ctx.cog is not None:
            return
        log.error("unhandled command error", exc_info=error)

    async def close(self) -> None:
        await super().close()
        self.feedback.close()


async def serve(bot: CiteBot, token: str) -> None:
    """Run the bot until it is closed; SIGTERM and SIGINT close it (the gateway session,
    HTTP session and feedback database), so `systemctl stop` and `docker stop` end it
    cleanly rather than killing it mid-reply."""
    loop = asyncio.get_running_loop()
    closing: set[asyncio.Task[None]] = set()

    def shut_down(sig: signal.Signals) -> None:
        log.info("%s received: closing", sig.name)
        task = loop.create_task(bot.close())
        closing.add(task)
        task.add_done_callback(closing.discard)

    for sig in SHUTDOWN_SIGNALS:
        loop.add_signal_handler(sig, shut_down, sig)
    try:
        async with bot:
            await bot.start(token)
    finally:
        for sig in SHUTDOWN_SIGNALS:
            loop.remove_signal_handler(sig)
        if closing:
            await asyncio.gather(*closing, return_exceptions=True)
    log.info("closed")


def run_bot(settings: Settings, corpus: Path | None = None) -> int:
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        print("citebot: set CITEBOT_DISCORD_TOKEN (or DISCORD_TOKEN) to the bot token; "
              "see README 'Run it on a Discord server'")
        return 2
    library = Library(settings, corpus)
    try:
        library.load()
    except Exception as exc:  # a CorpusError: one line, not a traceback
        print(f"citebot: {exc}")
        return 2
    bot = CiteBot(settings, library)
    try:
        asyncio.run(serve(bot, settings.discord_token.get_secret_value().strip()))
    except discord.LoginFailure:
        print("citebot: Discord rejected the token (CITEBOT_DISCORD_TOKEN)")
        return 2
    except discord.PrivilegedIntentsRequired:
        print("citebot: enable the Message Content intent in the developer portal, "
              "or set CITEBOT_MESSAGE_CONTENT=false (mentions and slash commands still work)")
        return 2
    return 0
