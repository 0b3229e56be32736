"""The one cog: ask (also by mention), source, sources, help, owner-only sync and reload, and
the buttons under answers (bot/buttons.py). Each command is a hybrid command, so `!ask` and
`/ask` run the same code, checks and limits.

A question, whichever way it came (prefix, mention, slash, the More button), goes through
`_question`: the rate limit, the answer computed off the event loop, the reply with its
buttons, and one log line (bot/logs.py)."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot import logs
from bot.buttons import Action, answer_view
from bot.delivery import ONCE, InteractionOutlet, MessageOutlet, Outlet
from bot.feedback import FeedbackError, StoredAnswer, Vote, VoteResult
from bot.limits import Verdict
from bot.render import render_answer, render_listing, render_more, render_source
from bot.service import Library

if TYPE_CHECKING:
    from bot.app import CiteBot

log = logging.getLogger(__name__)

T = TypeVar("T")
Ctx = commands.Context[commands.Bot]

# Answers to these get no buttons: the question itself was unusable, there is nothing to
# judge.
NO_FEEDBACK_REASONS = frozenset({"empty", "too_long", "no_terms"})
GONE = "That answer is no longer on record; ask the question again."
VOTE_THANKS = {
    Vote.HELPFUL: "Thanks — marked as helpful.",
    Vote.WRONG: "Thanks — marked as wrong; the question goes on the list to check.",
}
VOTE_NAMES = {Vote.HELPFUL: "helpful", Vote.WRONG: "wrong"}
SYNC_SCOPES = ("guild", "global", "clear")
# Errors of a send that could not be delivered (after its retries).
SEND_ERRORS = (discord.HTTPException, TimeoutError, aiohttp.ClientError, OSError)


class Kind(StrEnum):
    """How a question came in (a log field, and stored with the answer)."""

    PREFIX = "prefix"
    MENTION = "mention"
    SLASH = "slash"
    BUTTON = "button"


class Outcome(StrEnum):
    ANSWERED = "answered"
    ABSTAINED = "abstained"
    LIMITED = "limited"
    ERROR = "error"


@dataclass(frozen=True)
class Origin:
    kind: Kind
    guild_id: int | None
    channel_id: int
    user_id: int


@dataclass(frozen=True)
class Prepared:
    """A reply made off the event loop."""

    text: str
    answered: bool
    top: str = ""  # the first citation shown, "" when none
    answer_id: str | None = None  # set when stored for feedback: the reply gets buttons


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

    async def cog_check(self, ctx: Ctx) -> bool:  # type: ignore[override]
        if not self._allowed_channel(ctx.channel.id):
            raise NotHere("citebot is not enabled in this channel.")
        return True

    async def _limited(self, ctx: Ctx) -> None:
        verdict = self.bot.admit(ctx.author.id, ctx.channel.id)
        if not verdict.allowed:
            raise RateLimited(verdict)

    def _outlet(self, ctx: Ctx) -> Outlet:
        if ctx.interaction is not None:
            return InteractionOutlet(ctx.interaction, self.bot.retry)
        return MessageOutlet(ctx.message, self.bot.retry)

    @staticmethod
    def _origin(ctx: Ctx) -> Origin:
        if ctx.interaction is not None:
            kind = Kind.SLASH
        elif ctx.prefix is not None and ctx.prefix.startswith("<@"):
            kind = Kind.MENTION
        else:
            kind = Kind.PREFIX
        guild = ctx.guild.id if ctx.guild is not None else None
        return Origin(kind, guild, ctx.channel.id, ctx.author.id)

    async def _send(self, ctx: Ctx, text: str, ephemeral: bool = False) -> None:
        await self._outlet(ctx).send(text, ephemeral=ephemeral)

    async def _compute(self, outlet: Outlet, make: Callable[[], T], ephemeral: bool = False) -> T:
        """Run `make` off the event loop; an interaction not done within `defer_after`
        seconds is deferred first (Discord allows 3 s for the first response)."""
        work = asyncio.ensure_future(asyncio.to_thread(make))
        if outlet.interactive:
            done, _ = await asyncio.wait({work}, timeout=self.bot.settings.defer_after)
            if not done:
                await outlet.defer(ephemeral=ephemeral)
        return await work

    async def _refuse(self, outlet: Outlet, verdict: Verdict) -> None:
        """Over the limit: a message gets the notice once per window; an interaction always
        gets it, ephemeral, since Discord shows an error for an unanswered one."""
        if not (verdict.notify or outlet.interactive):
            return
        try:
            await outlet.send(verdict.notice(), ephemeral=True, policy=ONCE)
        except SEND_ERRORS:
            log.warning("could not deliver a rate-limit notice")

    def _log_question(
        self, origin: Origin, started: float, outcome: Outcome, top: str = "",
        error_id: str = "", answer_id: str | None = None,
    ) -> None:
        logs.event(
            logs.QUESTIONS, "question",
            kind=origin.kind.value, guild=origin.guild_id, channel=origin.channel_id,
            user=self.bot.feedback.hash_user(origin.user_id),
            ms=round((time.perf_counter() - started) * 1000), outcome=outcome.value,
            top=top, error=error_id, answer=answer_id or "",
        )

    # -- questions -------------------------------------------------------------------------

    async def _question(
        self, origin: Origin, outlet: Outlet, make: Callable[[], Prepared],
        ephemeral: bool = False,
    ) -> None:
        started = time.perf_counter()
        verdict = self.bot.admit(origin.user_id, origin.channel_id)
        if not verdict.allowed:
            await self._refuse(outlet, verdict)
            self._log_question(origin, started, Outcome.LIMITED)
            return
        try:
            reply = await self._compute(outlet, make, ephemeral)
            view = answer_view(reply.answer_id) if reply.answer_id else None
            await outlet.send(reply.text, view=view, ephemeral=ephemeral)
        except Exception as exc:
            error_id = await self._apologize(exc, outlet)
            self._log_question(origin, started, Outcome.ERROR, error_id=error_id)
            return
        outcome = Outcome.ANSWERED if reply.answered else Outcome.ABSTAINED
        self._log_question(origin, started, outcome, reply.top, answer_id=reply.answer_id)

    def _answer(self, question: str, kind: Kind) -> Prepared:
        """Blocking: the answer, its text, and its record in the feedback database."""
        found = self.library.ask(question)
        citations = [p.citation for p in found.passages]
        answer_id = None
        if found.reason not in NO_FEEDBACK_REASONS:
            try:
                answer_id = self.bot.feedback.record_answer(
                    found.question, citations, self.library.corpus_id(), found.answered,
                    kind.value,
                )
            except (FeedbackError, sqlite3.Error) as exc:
                # The answer matters more than its buttons.
                log.warning("answer not stored for feedback: %s", exc)
        top = citations[0] if citations else ""
        return Prepared(render_answer(found), found.answered, top, answer_id)

    def _more(self, answer_id: str) -> Prepared:
        """Blocking: the passages after those an answer showed (from the database: the
        click may come long after a restart)."""
        stored: StoredAnswer | None = self.bot.feedback.answer(answer_id)
        if stored is None:
            return Prepared(GONE, False)
        found = self.library.more(stored.question, stored.citations)
        top = found.passages[0].citation if found.passages else ""
        return Prepared(render_more(found, len(stored.citations)), found.answered, top)

    # -- commands --------------------------------------------------------------------------

    @commands.hybrid_command(name="ask", description="Answer a question from the documents")  # type: ignore[arg-type]
    @app_commands.describe(question="What you want to know")
    async def ask(self, ctx: Ctx, *, question: str) -> None:
        origin = self._origin(ctx)
        await self._question(origin, self._outlet(ctx), lambda: self._answer(question, origin.kind))

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
        await self._limited(ctx)
        await self._send(ctx, render_listing(self.library.sources(folder)))

    @commands.hybrid_command(name="help", description="How to use citebot")  # type: ignore[arg-type]
    async def help(self, ctx: Ctx) -> None:
        await self._limited(ctx)
        await self._send(ctx, self.library.help_text(self.bot.settings.command_prefix))

    @commands.command(name="sync", hidden=True)
    @commands.is_owner()
    async def sync(self, ctx: Ctx, scope: str = "guild") -> None:
        """Publish the slash commands: to this (or the dev) guild at once, or globally;
        `clear` removes this guild's copies (each command would otherwise show twice once
        the global ones arrive)."""
        if scope not in SYNC_SCOPES:
            await self._send(ctx, f"Use `{ctx.clean_prefix}sync [{'|'.join(SYNC_SCOPES)}]`.")
            return
        if scope == "global":
            synced = await self.bot.tree.sync()
            await self._send(ctx, f"Synced {len(synced)} commands globally.")
            return
        guild_id = ctx.guild.id if ctx.guild else self.bot.settings.dev_guild_id
        if guild_id is None:
            await self._send(ctx, "No guild here and no CITEBOT_DEV_GUILD_ID set.")
            return
        guild = discord.Object(id=guild_id)
        if scope == "clear":
            self.bot.tree.clear_commands(guild=guild)
            await self.bot.tree.sync(guild=guild)
            await self._send(ctx, "Removed this guild's copies; the global commands remain.")
            return
        self.bot.tree.copy_global_to(guild=guild)
        synced = await self.bot.tree.sync(guild=guild)
        await self._send(ctx, f"Synced {len(synced)} commands to this guild.")

    @commands.hybrid_command(name="reload", description="Re-read the documents (owners only)")  # type: ignore[arg-type]
    @commands.check_any(commands.is_owner(), commands.has_permissions(manage_guild=True))
    async def reload(self, ctx: Ctx, confirm: Literal["confirm"] | None = None) -> None:
        """`reload confirm` accepts a rebuild that has fewer files than the live index."""
        await ctx.defer()
        result = await self.library.reload(confirm=confirm == "confirm")
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
        first = question.split(maxsplit=1)[0] if question else ""
        prefix = self.bot.settings.command_prefix
        name = first.removeprefix(prefix) if first.startswith(prefix) else first.removeprefix("/")
        if name in self.bot.all_commands:
            return  # "@citebot ask …" and "@citebot !ask …" run as commands (bot/app.py)
        if not self._allowed_channel(message.channel.id):
            return
        guild = message.guild.id if message.guild is not None else None
        origin = Origin(Kind.MENTION, guild, message.channel.id, message.author.id)
        outlet = MessageOutlet(message, self.bot.retry)
        await self._question(origin, outlet, lambda: self._answer(question, Kind.MENTION))

    # -- buttons ---------------------------------------------------------------------------

    async def on_answer_button(
        self, interaction: discord.Interaction[discord.Client], action: Action, answer_id: str
    ) -> None:
        """A click on Helpful, Wrong or More under an answer; every reply is ephemeral."""
        outlet = InteractionOutlet(interaction, self.bot.retry)
        channel_id = interaction.channel_id or 0
        if action is Action.MORE:
            origin = Origin(Kind.BUTTON, interaction.guild_id, channel_id, interaction.user.id)
            await self._question(origin, outlet, lambda: self._more(answer_id), ephemeral=True)
            return
        verdict = self.bot.admit(interaction.user.id, channel_id)
        if not verdict.allowed:
            await self._refuse(outlet, verdict)
            return
        vote = Vote.HELPFUL if action is Action.HELPFUL else Vote.WRONG
        user = self.bot.feedback.hash_user(interaction.user.id)
        try:
            result = await asyncio.to_thread(self.bot.feedback.vote, answer_id, user, vote)
            await outlet.send(self._vote_reply(result), ephemeral=True)
        except Exception as exc:
            await self._apologize(exc, outlet)
            return
        logs.event(
            logs.VOTES, "vote", answer=answer_id, user=user, vote=VOTE_NAMES[vote],
            changed=result is not None and result.previous not in (None, vote),
            guild=interaction.guild_id, channel=channel_id,
        )

    @staticmethod
    def _vote_reply(result: VoteResult | None) -> str:
        if result is None:
            return GONE
        if result.previous is None:
            return VOTE_THANKS[result.vote]
        if result.previous == result.vote:
            return f"You already marked it as {VOTE_NAMES[result.vote]}."
        return f"Changed your vote to {VOTE_NAMES[result.vote]}."

    # -- errors ----------------------------------------------------------------------------

    async def _apologize(self, exc: BaseException, outlet: Outlet) -> str:
        """Log the error under a fresh id and tell the user that id; returns it."""
        error_id = secrets.token_hex(4)
        log.error("error %s", error_id, exc_info=exc)
        try:
            await outlet.send(
                f"Sorry, something went wrong on my side (error id `{error_id}`).",
                ephemeral=True, policy=ONCE,
            )
        except SEND_ERRORS:
            log.warning("could not deliver the apology for error %s", error_id)
        return error_id

    async def cog_command_error(self, ctx: Ctx, error: Exception) -> None:  # type: ignore[override]
        if isinstance(error, commands.HybridCommandError):
            error = error.original
        if isinstance(error, RateLimited):
            await self._refuse(self._outlet(ctx), error.verdict)
        elif isinstance(error, NotHere):
            if ctx.interaction is not None:
                await self._send(ctx, str(error), ephemeral=True)
        elif isinstance(error, commands.MissingRequiredArgument | commands.BadArgument):
            await self._send(ctx, f"{error} See `{ctx.clean_prefix}help`.", ephemeral=True)
        elif isinstance(error, commands.CheckFailure):
            await self._send(ctx, "You can't use that command.", ephemeral=True)
        else:
            original = getattr(error, "original", error)
            await self._apologize(original, self._outlet(ctx))
