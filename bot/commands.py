"""The one cog: ask (also by mention), source, sources, help, and owner-only sync and reload.
Each is a hybrid command, so `!ask` and `/ask` run the same code, checks and limits."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.limits import Verdict
from bot.render import render_answer, render_listing, render_source
from bot.service import Library

if TYPE_CHECKING:
    from bot.app import CiteBot

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
Ctx = commands.Context[commands.Bot]


class NotHere(commands.CheckFailure):
    """The channel is not on the allow-list."""


class RateLimited(commands.CheckFailure):
    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.notice())
        self.verdict = verdict


class LineNumber(app_commands.Transformer, commands.Converter[str]):
    """The `line` of `source`. In /source an integer option of at least 1 (Discord checks it);
    in !source the text as typed, which the library checks (ASCII digits, within the file) so
    that a bad line gets the same clear answer everywhere. Either way the library gets text."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.integer

    @property
    def min_value(self) -> int:
        return 1

    async def transform(self, interaction: discord.Interaction, value: object, /) -> str:
        return str(value)

    async def convert(self, ctx: commands.Context[Any], argument: str) -> str:
        return argument


Line = Annotated[str | None, LineNumber]


class Citebot(commands.Cog):
    def __init__(self, bot: CiteBot) -> None:
        self.bot = bot
        self.library: Library = bot.library

    # -- shared plumbing -------------------------------------------------------------------

    def _allowed_channel(self, channel_id: int) -> bool:
        allowed = self.bot.settings.allowed_channel_ids
        return not allowed or channel_id in allowed

    def _exempt(self, user_id: int) -> bool:
        s = self.bot.settings
        return s.owners_exempt and (user_id in s.owner_ids or user_id == self.bot.owner_id)

    def _admit(self, user_id: int, channel_id: int) -> Verdict:
        return self.library.limiter.check(user_id, channel_id, self._exempt(user_id))

    async def cog_check(self, ctx: Ctx) -> bool:  # type: ignore[override]
        if not self._allowed_channel(ctx.channel.id):
            raise NotHere("citebot is not enabled in this channel.")
        return True

    async def _limited(self, ctx: Ctx) -> None:
        verdict = self._admit(ctx.author.id, ctx.channel.id)
        if not verdict.allowed:
            raise RateLimited(verdict)

    async def _send(self, ctx: Ctx, text: str, ephemeral: bool = False) -> None:
        if ctx.interaction is None:
            await ctx.reply(text, mention_author=False, allowed_mentions=NO_MENTIONS)
        else:
            await ctx.send(text, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS)

    async def _respond(self, ctx: Ctx, make: Callable[[], str]) -> None:
        """Compute off the event loop; a slash command that is not done within
        `defer_after` seconds is deferred first and its response edited in afterwards."""
        work = asyncio.ensure_future(asyncio.to_thread(make))
        if ctx.interaction is not None:
            done, _ = await asyncio.wait({work}, timeout=self.bot.settings.defer_after)
            if not done:
                await ctx.defer()
                text = await work
                await ctx.interaction.edit_original_response(
                    content=text, allowed_mentions=NO_MENTIONS
                )
                return
        text = await work
        await self._send(ctx, text)

    def _render_question(self, question: str) -> str:
        return render_answer(self.library.ask(question))

    # -- commands --------------------------------------------------------------------------

    @commands.hybrid_command(name="ask", description="Answer a question from the documents")  # type: ignore[arg-type]
    @app_commands.describe(question="What you want to know")
    async def ask(self, ctx: Ctx, *, question: str) -> None:
        await self._limited(ctx)
        await self._respond(ctx, lambda: self._render_question(question))

    @commands.hybrid_command(name="source", description="Show the passage at a file:line citation")  # type: ignore[arg-type]
    @app_commands.describe(
        file="A corpus file, path or citation, e.g. guide/install.md:37",
        line="A line number in that file",
    )
    async def source(self, ctx: Ctx, file: str, line: Line = None) -> None:
        await self._limited(ctx)
        await self._send(ctx, render_source(self.library.source(file, line)))

    @source.autocomplete("file")
    async def _complete_file(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        # Values already fit Discord's limits (25 choices of at most 100 characters).
        files = self.library.complete_file(current)
        return [app_commands.Choice(name=f, value=f) for f in files]

    @commands.hybrid_command(name="sources", description="List the folders, or the files in one")  # type: ignore[arg-type]
    @app_commands.describe(folder="A folder to list the files of (all of them when left out)")
    async def sources(self, ctx: Ctx, *, folder: str = "") -> None:
        await self._send(ctx, render_listing(self.library.sources(folder)))

    @commands.hybrid_command(name="help", description="How to use citebot")  # type: ignore[arg-type]
    async def help(self, ctx: Ctx) -> None:
        await self._send(ctx, self.library.help_text(self.bot.settings.command_prefix))

    @commands.command(name="sync", hidden=True)
    @commands.is_owner()
    async def sync(self, ctx: Ctx, scope: str = "guild") -> None:
        """Publish the slash commands: to this (or the dev) guild at once, or globally."""
        if scope == "global":
            synced = await self.bot.tree.sync()
            await self._send(ctx, f"Synced {len(synced)} commands globally.")
            return
        guild_id = ctx.guild.id if ctx.guild else self.bot.settings.dev_guild_id
        if guild_id is None:
            await self._send(ctx, "No guild here and no CITEBOT_DEV_GUILD_ID set.")
            return
        guild = discord.Object(id=guild_id)
        self.bot.tree.copy_global_to(guild=guild)
        synced = await self.bot.tree.sync(guild=guild)
        await self._send(ctx, f"Synced {len(synced)} commands to this guild.")

    @commands.hybrid_command(name="reload", description="Re-read the documents (owners only)")  # type: ignore[arg-type]
    @commands.check_any(commands.is_owner(), commands.has_permissions(manage_guild=True))
    async def reload(self, ctx: Ctx) -> None:
        await ctx.defer()
        result = await self.library.reload()
        await self._send(ctx, result.message)

    # -- mentions --------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if me is None or message.author.bot:
            return
        match = re.match(rf"^\s*<@!?{me.id}>\s*(.*)$", message.content, re.S)
        if match is None:
            return
        question = match.group(1).strip()
        first = question.split(maxsplit=1)[0].lstrip("/!") if question else ""
        if first in self.bot.all_commands:
            return  # "@citebot ask …" runs as a command through the mention prefix
        if not self._allowed_channel(message.channel.id):
            return
        verdict = self._admit(message.author.id, message.channel.id)
        try:
            if not verdict.allowed:
                if verdict.notify:
                    await message.reply(
                        verdict.notice(), mention_author=False, allowed_mentions=NO_MENTIONS
                    )
                return
            text = await asyncio.to_thread(self._render_question, question)
            await message.reply(text, mention_author=False, allowed_mentions=NO_MENTIONS)
        except Exception as exc:
            await self._apologize(exc, lambda t: message.reply(
                t, mention_author=False, allowed_mentions=NO_MENTIONS))

    # -- errors ----------------------------------------------------------------------------

    async def _apologize(self, exc: BaseException, send: Callable[[str], object]) -> None:
        error_id = secrets.token_hex(4)
        log.error("error %s", error_id, exc_info=exc)
        try:
            result = send(f"Sorry, something went wrong on my side (error id `{error_id}`).")
            if asyncio.iscoroutine(result):
                await result
        except discord.HTTPException:
            log.warning("could not deliver the apology for error %s", error_id)

    async def cog_command_error(self, ctx: Ctx, error: Exception) -> None:  # type: ignore[override]
        if isinstance(error, commands.HybridCommandError):
            error = error.original
        if isinstance(error, RateLimited):
            if error.verdict.notify:
                await self._send(ctx, error.verdict.notice(), ephemeral=True)
        elif isinstance(error, NotHere):
            if ctx.interaction is not None:
                await self._send(ctx, str(error), ephemeral=True)
        elif isinstance(error, commands.MissingRequiredArgument | commands.BadArgument):
            await self._send(ctx, f"{error} See `{ctx.clean_prefix}help`.", ephemeral=True)
        elif isinstance(error, commands.CheckFailure):
            await self._send(ctx, "You can't use that command.", ephemeral=True)
        else:
            original = getattr(error, "original", error)
            await self._apologize(original, lambda t: self._send(ctx, t, ephemeral=True))
