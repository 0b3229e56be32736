"""End-to-end tests of tests/fakediscord.py with the real discord.py client (no mocks)."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import FakeDiscord, patch_discord, run_bot, start_bot

MESSAGES = "/channels/{channel_id}/messages"
CALLBACK = "/interactions/{interaction_id}/{token}/callback"
WEBHOOK_MESSAGE = "/webhooks/{application_id}/{token}/messages/{message_id}"


class FastBot(commands.Bot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s before every re-IDENTIFY (a real-gateway courtesy); skip it."""


def make_bot() -> commands.Bot:
    """A throwaway bot: `!ping`, `!react`, hybrid `/echo text` (+ autocomplete), `/slow`."""
    intents = discord.Intents.default()
    intents.message_content = True
    bot = FastBot(
        command_prefix="!", intents=intents, help_command=None, guild_ready_timeout=0.05
    )

    @bot.command()
    async def ping(ctx: commands.Context[commands.Bot]) -> None:
        await ctx.send("pong")

    @bot.command()
    async def react(ctx: commands.Context[commands.Bot]) -> None:
        async with ctx.typing():
            await ctx.message.add_reaction("\N{THUMBS UP SIGN}")
        await ctx.reply("reacted")

    @bot.command()
    async def sources(ctx: commands.Context[commands.Bot]) -> None:
        await ctx.send("see file", file=discord.File(io.BytesIO(b"a.md:1"), "sources.txt"))

    # mypy cannot solve discord.py's ParamSpec-in-Union CommandCallback type here.
    @bot.hybrid_command(description="Echo text back")  # type: ignore[arg-type]
    async def echo(ctx: commands.Context[commands.Bot], text: str) -> None:
        await ctx.send(f"echo: {text}")

    @echo.autocomplete("text")
    async def echo_complete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=w, value=w) for w in ("hello", "help") if
                w.startswith(current)]

    @bot.tree.command(description="Defers, then edits and follows up")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="done thinking")
        await interaction.followup.send("and a follow-up")

    return bot


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[commands.Bot]:
    async with run_bot(make_bot(), fake) as running:
        yield running


async def test_ready_sees_guild_and_channel(fake: FakeDiscord, bot: commands.Bot) -> None:
    assert bot.is_ready()
    assert bot.user is not None and bot.user.id == fake.bot_id
    assert bot.application_id == fake.application_id
    guild = bot.get_guild(fake.guild_id)
    assert guild is not None and guild.name == "Fake Guild"
    assert isinstance(guild.get_channel(fake.channel_id), discord.TextChannel)
    assert guild.member_count == 2 and guild.me is not None  # no members intent: only `me`
    identify = next(p["d"] for p in fake.gateway_received if p["op"] == 2)
    assert identify["intents"] & discord.Intents(message_content=True).value
    assert fake.identify_count == 1
    assert fake.compression_modes[0] in ("zlib-stream", "zstd-stream")  # compressed stream
    assert fake.find_requests("GET", "/users/@me", ok=True)


async def test_patch_discord_restores_urls(fake: FakeDiscord) -> None:
    before = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    with patch_discord(fake):
        assert fake.api_base == discord.http.Route.BASE
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == fake.gateway_url
    assert before == (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)


async def test_prefix_command_replies(fake: FakeDiscord, bot: commands.Bot) -> None:
    await fake.dispatch_message("!ping")
    [sent] = await fake.wait_for_messages(1, channel_id=fake.channel_id, timeout=3)
    assert sent["content"] == "pong"
    [request] = fake.find_requests("POST", MESSAGES)
    assert request.path == f"/channels/{fake.channel_id}/messages"


async def test_typing_reaction_and_reply(fake: FakeDiscord, bot: commands.Bot) -> None:
    msg = await fake.dispatch_message("!react")
    [sent] = await fake.wait_for_messages(1, timeout=3)
    assert sent["content"] == "reacted"
    assert str(sent["message_reference"]["message_id"]) == msg["id"]
    assert fake.find_requests("POST", "/channels/{channel_id}/typing", ok=True)
    [reaction] = fake.find_requests("PUT", ok=True, route=(
        "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"))
    assert msg["id"] in reaction.path


async def test_multipart_upload_is_parsed(fake: FakeDiscord, bot: commands.Bot) -> None:
    await fake.dispatch_message("!sources")
    [request] = await fake.wait_for_requests("POST", MESSAGES, ok=True, timeout=3)
    assert request.json["content"] == "see file"
    assert request.files == (("sources.txt", b"a.md:1"),)


async def test_slash_command_gets_callback(fake: FakeDiscord, bot: commands.Bot) -> None:
    interaction = await fake.dispatch_interaction("echo", {"text": "hi there"})
    [response] = await fake.wait_for_interaction_responses(1, timeout=3)
    assert response["type"] == 4
    assert response["data"]["content"] == "echo: hi there"
    [request] = fake.find_requests("POST", CALLBACK)
    assert request.path == f"/interactions/{interaction['id']}/{interaction['token']}/callback"
    assert request.query.get("with_response") is not None


async def test_autocomplete(fake: FakeDiscord, bot: commands.Bot) -> None:
    await fake.dispatch_autocomplete("echo", {"text": "hell"}, focused="text")
    [response] = await fake.wait_for_interaction_responses(1, timeout=3)
    assert response["type"] == 8
    assert [c["value"] for c in response["data"]["choices"]] == ["hello"]


async def test_defer_then_edit_and_followup(fake: FakeDiscord, bot: commands.Bot) -> None:
    interaction = await fake.dispatch_interaction("slow")
    [response] = await fake.wait_for_interaction_responses(1, timeout=3)
    assert response["type"] == 5
    [edit] = await fake.wait_for_requests("PATCH", WEBHOOK_MESSAGE, ok=True, timeout=3)
    assert edit.path == f"/webhooks/{fake.application_id}/{interaction['token']}/messages/@original"
    assert edit.json["content"] == "done thinking"
    [followup] = await fake.wait_for_requests(
        "POST", "/webhooks/{application_id}/{token}", ok=True, timeout=3
    )
    assert followup.json["content"] == "and a follow-up"


@pytest.mark.parametrize(
    ("how", "resumes", "identifies", "connections"),
    [("close", 1, 1, 2), ("abort", 1, 1, 2), ("invalidate", 0, 2, 3)],  # 3: failed RESUME
)
async def test_reconnect_after_drop(
    fake: FakeDiscord, bot: commands.Bot, how: str, resumes: int, identifies: int,
    connections: int,
) -> None:
    await fake.dispatch_message("!ping")
    await fake.wait_for_messages(1, timeout=3)
    await fake.drop_connection(abort=how == "abort", invalidate_session=how == "invalidate")
    await fake.dispatch_message("!ping")  # waits for the bot to come back
    sent = await fake.wait_for_messages(2, timeout=5)
    assert [m["content"] for m in sent] == ["pong", "pong"]
    assert (fake.resume_count, fake.identify_count) == (resumes, identifies)
    assert len(fake.compression_modes) == connections


@pytest.mark.parametrize("scope", ["user", "global"])
async def test_rate_limited_send_is_retried(
    fake: FakeDiscord, bot: commands.Bot, scope: str
) -> None:
    fake.rate_limit("POST", MESSAGES, count=1, retry_after=0.2, scope=scope)
    started = time.monotonic()
    await fake.dispatch_message("!ping")
    [sent] = await fake.wait_for_messages(1, timeout=3)
    assert sent["content"] == "pong"
    assert time.monotonic() - started >= 0.2
    assert [r.status for r in fake.find_requests("POST", MESSAGES)] == [429, 200]


async def test_tree_sync_is_recorded(fake: FakeDiscord, bot: commands.Bot) -> None:
    synced = await bot.tree.sync()
    assert sorted(c.name for c in synced) == ["echo", "slow"]
    [put] = fake.find_requests("PUT", "/applications/{application_id}/commands", ok=True)
    assert put.path == f"/applications/{fake.application_id}/commands"
    assert sorted(c["name"] for c in put.json) == ["echo", "slow"]

    # Guild sync; interactions for guild commands then carry the command's guild_id.
    guild = discord.Object(fake.guild_id)
    bot.tree.copy_global_to(guild=guild)
    assert len(await bot.tree.sync(guild=guild)) == 2
    assert fake.find_requests("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
    interaction = await fake.dispatch_interaction("echo", {"text": "guild"})
    assert interaction["data"]["guild_id"] == str(fake.guild_id)
    [response] = await fake.wait_for_interaction_responses(1, timeout=3)
    assert response["data"]["content"] == "echo: guild"


async def test_unknown_route_is_recorded_as_404(fake: FakeDiscord, bot: commands.Bot) -> None:
    with pytest.raises(discord.NotFound):
        await bot.fetch_channel(999)
    with pytest.raises(discord.NotFound):
        await bot.fetch_guild(fake.guild_id)  # not implemented by the fake
    assert fake.find_requests("GET", "<unhandled>", ok=False)


async def test_start_bot_times_out_cleanly(fake: FakeDiscord) -> None:
    slow = FastBot(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=30)
    with patch_discord(fake), pytest.raises(TimeoutError):
        await start_bot(slow, timeout=0.3)
    assert slow.is_closed()
