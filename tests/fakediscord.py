"""A loopback fake Discord server for end-to-end tests with the real discord.py client.

`FakeDiscord` is an aiohttp server on 127.0.0.1 (random free port) that speaks the part of
Discord API v10 that a discord.py 2.x bot uses, so a real `commands.Bot` can log in, connect
to the gateway, receive events and answer them, with no mocks.

Usage::

    async with FakeDiscord() as fake, run_bot(make_bot(), fake) as bot:
        await fake.dispatch_message("!ping")
        [sent] = await fake.wait_for_messages(1)
        assert sent["content"] == "pong"

Covered:
  * Gateway: HELLO, heartbeat -> HEARTBEAT_ACK, IDENTIFY -> READY (+ one GUILD_CREATE with text
    channels, roles and members), RESUME -> replay of missed events + RESUMED (or INVALID_SESSION
    for an unknown session), REQUEST_GUILD_MEMBERS -> GUILD_MEMBERS_CHUNK. Sequence numbers are
    tracked per session. `compress=zlib-stream` is honoured (one zlib stream per connection,
    each payload ends with Z_SYNC_FLUSH); any other mode gets plain text frames, which
    discord.py also accepts.
  * Test-side events: MESSAGE_CREATE, INTERACTION_CREATE (slash commands, autocomplete, and
    button clicks on a message the bot sent: `click`), CHANNEL_CREATE, arbitrary dispatches;
    dropping the connection (close code, abrupt abort, or with the session invalidated so the
    client must IDENTIFY again).
  * REST (/api/v10): users/@me, (oauth2/)applications/@me, gateway(/bot), channels (get, send,
    fetch/edit/delete messages, typing, own reactions; a repeated `nonce` with `enforce_nonce`
    returns the first message, as Discord does), interaction callbacks (types 4-7, with the
    `with_response` body; each interaction's response is kept: `response_to`), webhook
    follow-ups and @original get/edit/delete, global and guild command bulk overwrite/list.
    JSON and multipart (`payload_json` + files) bodies are parsed.
    Every request is recorded as a `RecordedRequest`; unknown routes answer 404 and are
    recorded too. `rate_limit()` makes the next N matching requests answer 429 with
    `retry_after` and Discord's headers (including `Via`, which discord.py requires);
    `fail()` makes them answer another status (e.g. 503) and `stall()` holds them unanswered
    for a while (a request is recorded when it is answered).

Not covered: permissions checks, DMs, threads, voice, select menus and modals beyond
recording the callback, presences, sharding beyond echoing the shard in READY, zstd
compression, real rate-limit buckets (only the scripted 429s), payload validation beyond
what is needed, and anything persisted between `FakeDiscord` instances.

Helpers: `patch_discord(fake)` points discord.py at the fake (and restores it afterwards),
`start_bot` / `stop_bot` run a bot against it, and `run_bot` combines the three.
Two discord.py delays worth removing in tests: give the bot a small `guild_ready_timeout`
(e.g. 0.05; discord.py waits that long after the last GUILD_CREATE before `on_ready`), and
override `before_identify_hook` with a no-op if a test makes it re-IDENTIFY (it sleeps 5 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import discord
import yarl
from aiohttp import WSMsgType, web
from discord.gateway import DiscordWebSocket
from discord.http import Route

JSON = dict[str, Any]
_BODY: web.RequestKey[Any] = web.RequestKey("fakediscord_body")
_FILES = web.RequestKey("fakediscord_files", list[tuple[str, bytes]])
ClientT = TypeVar("ClientT", bound=discord.Client)

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000
ALL_PERMISSIONS = str(discord.Permissions.all().value)
# APPLICATION_COMMAND option types for Python values (bool must come before int).
_OPTION_TYPES: tuple[tuple[type, int], ...] = ((bool, 5), (int, 4), (float, 10), (str, 3))


@dataclass(frozen=True)
class RecordedRequest:
    """One REST request the client made (429'd attempts included, see `status`)."""

    method: str
    path: str  # concrete path without the /api/v10 prefix, e.g. "/channels/10/messages"
    route: str  # route template, e.g. "/channels/{channel_id}/messages"
    query: Mapping[str, str]
    json: Any  # parsed JSON body (or multipart payload_json), None when there was none
    status: int
    files: tuple[tuple[str, bytes], ...] = ()  # (filename, content) of multipart uploads

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class _RateLimit:
    method: str
    route: str
    remaining: int
    retry_after: float
    scope: str


@dataclass
class _Fault:
    method: str
    route: str
    remaining: int
    status: int  # 0: answer normally after the delay
    delay: float


@dataclass(eq=False)
class _Connection:
    ws: web.WebSocketResponse
    request: web.Request
    compressor: Any  # zlib compress object, or None for plain text frames
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, payload: JSON) -> None:
        text = json.dumps(payload)
        async with self.send_lock:
            if self.compressor is None:
                await self.ws.send_str(text)
            else:
                data = self.compressor.compress(text.encode()) + self.compressor.flush(
                    zlib.Z_SYNC_FLUSH
                )
                await self.ws.send_bytes(data)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _json(
    body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    # discord.py only parses JSON when Content-Type is exactly "application/json" (no charset).
    return web.Response(body=json.dumps(body).encode(), status=status,
                        headers={**(headers or {}), "Content-Type": "application/json"})


class FakeDiscord:
    """The fake server. Use as `async with FakeDiscord() as fake:` (or `start()` / `stop()`)."""

    def __init__(
        self,
        *,
        bot_id: int = 1000,
        application_id: int | None = None,
        guild_id: int = 2000,
        channel_id: int = 3000,
        user_id: int = 4000,
        heartbeat_interval_ms: float = 41_250.0,
    ) -> None:
        self.bot_id = bot_id
        self.application_id = application_id if application_id is not None else bot_id
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.user_id = user_id
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.port = 0

        self.users: dict[int, JSON] = {}
        self.bot_user = self.add_user(bot_id, "citebot-test", bot=True)
        self.add_user(user_id, "tester")
        self.member_ids: list[int] = [bot_id, user_id]
        self.channels: dict[int, JSON] = {}
        self.add_text_channel(channel_id, "general")
        self.messages: dict[int, JSON] = {}
        self.commands: dict[int | None, list[JSON]] = {}  # guild id (None = global) -> commands

        self.requests: list[RecordedRequest] = []
        self.gateway_received: list[JSON] = []  # every payload the client sent on the gateway
        self.identify_count = 0
        self.resume_count = 0
        self.compression_modes: list[str | None] = []  # `compress` query of each connection
        self.close_codes: list[int | None] = []  # of each ended connection, as aiohttp saw it

        self._ids = itertools.count(1)
        self._last_id = 0
        self._rate_limits: list[_RateLimit] = []
        self._faults: list[_Fault] = []
        self._nonces: dict[tuple[int, str], int] = {}  # (channel, nonce) -> message id
        self.responses: dict[int, JSON] = {}  # interaction id -> its callback body
        self._interactions: dict[int, JSON] = {}  # id -> {token, type, channel_id, acked}
        self._originals: dict[str, int] = {}  # interaction token -> original response message id
        self._session_id: str | None = None
        self._seq = 0
        self._history: list[JSON] = []  # dispatches of the current session, for RESUME replay
        self._active: _Connection | None = None
        self._connections: set[_Connection] = set()
        self._live = asyncio.Event()  # set while a connection has identified/resumed
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/", self._gateway)
        r: list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]] = [
            ("GET", "/users/@me", self._get_me),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/applications/@me", self._get_application),
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("POST", "/channels/{channel_id}/messages", self._create_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._no_content),
            ("POST", "/channels/{channel_id}/typing", self._no_content),
            ("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
             self._no_content),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
             self._no_content),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._callback),
            ("POST", "/webhooks/{application_id}/{token}", self._followup),
            ("GET", "/webhooks/{application_id}/{token}/messages/{message_id}",
             self._webhook_message),
            ("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}",
             self._webhook_message),
            ("DELETE", "/webhooks/{application_id}/{token}/messages/{message_id}",
             self._webhook_message),
            ("GET", "/applications/{application_id}/commands", self._commands),
            ("PUT", "/applications/{application_id}/commands", self._commands),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self._commands),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self._commands),
        ]
        for method, path, handler in r:
            app.router.add_route(method, API_PREFIX + path, handler)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self._active = None
        self._live.clear()
        for conn in list(self._connections):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=1001), 2.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ world state

    def new_id(self) -> int:
        """A fresh, increasing snowflake."""
        stamp = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22 | (next(self._ids) & 0xFFF)
        self._last_id = max(stamp, self._last_id + 1)
        return self._last_id

    def add_user(self, user_id: int, name: str, *, bot: bool = False) -> JSON:
        user: JSON = {"id": str(user_id), "username": name, "discriminator": "0",
                      "global_name": name, "avatar": None, "bot": bot, "public_flags": 0}
        self.users[user_id] = user
        return user

    def user(self, user_id: int) -> JSON:
        return self.users.get(user_id) or self.add_user(user_id, f"user{user_id}")

    def member(self, user_id: int, *, with_user: bool = True) -> JSON:
        data: JSON = {"roles": [], "joined_at": _now(), "deaf": False, "mute": False,
                      "flags": 0, "nick": None, "pending": False, "avatar": None}
        if with_user:
            data["user"] = self.user(user_id)
        return data

    def add_text_channel(self, channel_id: int, name: str) -> JSON:
        """Add a text channel to the guild (announce it with `dispatch("CHANNEL_CREATE", ...)`
        if the bot is already connected)."""
        channel: JSON = {"id": str(channel_id), "type": 0, "guild_id": str(self.guild_id),
                         "name": name, "position": len(self.channels), "topic": None,
                         "nsfw": False, "parent_id": None, "permission_overwrites": [],
                         "rate_limit_per_user": 0, "last_message_id": None}
        self.channels[channel_id] = channel
        return channel

    def guild_payload(self) -> JSON:
        everyone = {"id": str(self.guild_id), "name": "@everyone", "permissions": ALL_PERMISSIONS,
                    "position": 0, "color": 0, "hoist": False, "managed": False,
                    "mentionable": False, "flags": 0}
        return {
            "id": str(self.guild_id), "name": "Fake Guild", "owner_id": str(self.user_id),
            "unavailable": False, "large": False, "member_count": len(self.member_ids),
            "joined_at": _now(), "roles": [everyone], "channels": list(self.channels.values()),
            "members": [self.member(uid) for uid in self.member_ids], "threads": [],
            "emojis": [], "stickers": [], "features": [], "presences": [], "voice_states": [],
            "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
            "preferred_locale": "en-US", "icon": None, "splash": None, "banner": None,
            "description": None, "afk_timeout": 300, "afk_channel_id": None,
            "system_channel_id": None, "verification_level": 0, "mfa_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0, "nsfw_level": 0,
            "premium_tier": 0, "application_id": None,
        }

    def message_payload(
        self, channel_id: int, author: JSON, content: str, **extra: Any
    ) -> JSON:
        """Build (and store) a full message object."""
        msg: JSON = {
            "id": str(self.new_id()), "channel_id": str(channel_id),
            "guild_id": str(self.guild_id), "author": author, "content": content,
            "timestamp": _now(), "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
            "embeds": [], "components": [], "pinned": False, "type": 0, "flags": 0,
        }
        msg.update(extra)
        self.messages[int(msg["id"])] = msg
        return msg

    # ------------------------------------------------------------------ gateway

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        mode = request.query.get("compress")
        self.compression_modes.append(mode)
        conn = _Connection(ws, request, zlib.compressobj() if mode == "zlib-stream" else None)
        self._connections.add(conn)
        try:
            await conn.send({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms},
                             "s": None, "t": None})
            async for msg in ws:  # ends when the socket closes
                if msg.type is WSMsgType.TEXT:
                    await self._on_gateway_payload(conn, json.loads(msg.data))
        except (ConnectionError, RuntimeError):
            pass  # client went away mid-send
        finally:
            self.close_codes.append(ws.close_code)
            self._connections.discard(conn)
            if self._active is conn:
                self._active = None
                self._live.clear()
        return ws

    async def _on_gateway_payload(self, conn: _Connection, payload: JSON) -> None:
        self.gateway_received.append(payload)
        op, data = payload.get("op"), payload.get("d")
        if op == 1:  # HEARTBEAT
            await conn.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:  # IDENTIFY: new session
            self.identify_count += 1
            self._session_id, self._seq, self._history = uuid.uuid4().hex, 0, []
            self._active = conn
            ready = {
                "v": 10, "user": {**self.bot_user, "verified": True, "mfa_enabled": False,
                                  "flags": 0},
                "guilds": [{"id": str(self.guild_id), "unavailable": True}],
                "session_id": self._session_id, "resume_gateway_url": self.gateway_url,
                "shard": data.get("shard", [0, 1]) if isinstance(data, dict) else [0, 1],
                "application": {"id": str(self.application_id), "flags": 1 << 18 | 1 << 19},
                "private_channels": [], "relationships": [], "presences": [],
                "session_type": "normal", "user_settings": {}, "auth": {},
                "geo_ordered_rtc_regions": [],
            }
            await self._send_dispatch(conn, "READY", ready)
            await self._send_dispatch(conn, "GUILD_CREATE", self.guild_payload())
            self._live.set()
        elif op == 6 and isinstance(data, dict):  # RESUME
            if self._session_id is None or data.get("session_id") != self._session_id:
                await conn.send({"op": 9, "d": False, "s": None, "t": None})
                return
            self.resume_count += 1
            self._active = conn
            last_seen = data.get("seq") or 0
            for event in [e for e in self._history if e["s"] > last_seen]:
                await conn.send(event)
            await self._send_dispatch(conn, "RESUMED", {})
            self._live.set()
        elif op == 8 and isinstance(data, dict):  # REQUEST_GUILD_MEMBERS
            chunk = {"guild_id": str(self.guild_id), "chunk_index": 0, "chunk_count": 1,
                     "members": [self.member(uid) for uid in self.member_ids],
                     "not_found": [], "nonce": data.get("nonce")}
            await self._send_dispatch(conn, "GUILD_MEMBERS_CHUNK", chunk)

    async def _send_dispatch(self, conn: _Connection | None, event: str, data: JSON) -> int:
        """Number and record a dispatch, then send it. If there is no connection or the
        send fails, the event stays in the session history and is replayed on RESUME."""
        self._seq += 1
        seq = self._seq
        payload: JSON = {"op": 0, "t": event, "s": seq, "d": data}
        self._history.append(payload)
        if conn is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.send(payload)
        return seq

    async def wait_until_connected(self, timeout: float = 5.0) -> None:
        """Wait until a gateway connection has identified or resumed."""
        try:
            await asyncio.wait_for(self._live.wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"no live gateway connection within {timeout}s") from None

    async def dispatch(self, event: str, data: JSON, *, timeout: float = 5.0) -> int:
        """Send a DISPATCH event to the bot (waiting for a live connection); returns its seq.
        If the socket dies while sending, the event is replayed on RESUME."""
        await self.wait_until_connected(timeout)
        return await self._send_dispatch(self._active, event, data)

    async def dispatch_message(
        self,
        content: str,
        *,
        author_id: int | None = None,
        channel_id: int | None = None,
        mentions: Sequence[int] = (),
        timeout: float = 5.0,
    ) -> JSON:
        """Send MESSAGE_CREATE from a user (default: the tester) and return the message."""
        author_id = self.user_id if author_id is None else author_id
        mentioned = [{**self.user(uid), "member": self.member(uid, with_user=False)}
                     for uid in mentions]
        msg = self.message_payload(
            self.channel_id if channel_id is None else channel_id, self.user(author_id),
            content, mentions=mentioned, member=self.member(author_id, with_user=False),
        )
        await self.dispatch("MESSAGE_CREATE", msg, timeout=timeout)
        return msg

    async def dispatch_interaction(
        self,
        name: str,
        options: Mapping[str, str | int | float | bool] | Sequence[JSON] | None = None,
        *,
        interaction_type: int = 2,
        focused: str | None = None,
        user_id: int | None = None,
        channel_id: int | None = None,
        timeout: float = 5.0,
    ) -> JSON:
        """Send INTERACTION_CREATE for a chat-input command (type 2) or its autocomplete
        (type 4, with `focused` naming the option being typed). `options` is either
        {name: value} or raw option dicts. The command's id (and guild_id for guild
        commands) comes from the last bulk overwrite, if any. Returns the interaction."""
        if isinstance(options, Mapping):
            options = [self._option(k, v, focused == k) for k, v in options.items()]
        command: JSON = {"id": str(self.new_id()), "name": name, "type": 1,
                         "options": list(options or [])}
        for guild in (None, self.guild_id):  # a guild command shadows a global one
            for cmd in self.commands.get(guild, []):
                if cmd["name"] == name:
                    command["id"] = cmd["id"]
                    if guild is not None:
                        command["guild_id"] = str(guild)
        payload = self._interaction(
            interaction_type, command, self.user_id if user_id is None else user_id,
            self.channel_id if channel_id is None else channel_id,
        )
        await self.dispatch("INTERACTION_CREATE", payload, timeout=timeout)
        return payload

    def _interaction(
        self, interaction_type: int, data: JSON, user_id: int, channel_id: int, **extra: Any
    ) -> JSON:
        """An INTERACTION_CREATE payload, registered so that its callback is accepted."""
        interaction_id, token = self.new_id(), f"itoken-{uuid.uuid4().hex}"
        payload: JSON = {
            "id": str(interaction_id), "application_id": str(self.application_id),
            "type": interaction_type, "token": token, "version": 1, "data": data,
            "guild_id": str(self.guild_id),
            "guild": {"id": str(self.guild_id), "locale": "en-US", "features": []},
            "channel_id": str(channel_id),
            "channel": self.channels.get(channel_id) or {"id": str(channel_id), "type": 0},
            "member": {**self.member(user_id), "permissions": ALL_PERMISSIONS},
            "app_permissions": ALL_PERMISSIONS, "locale": "en-US", "guild_locale": "en-US",
            "entitlements": [], "authorizing_integration_owners": {"0": str(self.guild_id)},
            "context": 0, "attachment_size_limit": 8 * 1024 * 1024, **extra,
        }
        self._interactions[interaction_id] = {"token": token, "type": interaction_type,
                                              "channel_id": channel_id, "acked": False,
                                              "message_id": None}
        return payload

    async def click(
        self,
        message: JSON,
        custom_id: str,
        *,
        user_id: int | None = None,
        timeout: float = 5.0,
    ) -> JSON:
        """Click the button `custom_id` on `message` (a message the bot sent, as recorded:
        see `message_with_components`): INTERACTION_CREATE of type 3 (MESSAGE_COMPONENT)
        carrying the message, as Discord sends it. Returns the interaction."""
        stored = self.messages.get(int(message["id"]), message)
        payload = self._interaction(
            3, {"custom_id": custom_id, "component_type": 2},
            self.user_id if user_id is None else user_id, int(stored["channel_id"]),
            message=stored,
        )
        self._interactions[int(payload["id"])]["message_id"] = int(stored["id"])
        await self.dispatch("INTERACTION_CREATE", payload, timeout=timeout)
        return payload

    @staticmethod
    def buttons(message: JSON) -> dict[str, str]:
        """The buttons of a message: label -> custom_id."""
        return {
            button["label"]: button["custom_id"]
            for row in message.get("components") or []
            for button in row.get("components", [])
            if button.get("type") == 2 and "custom_id" in button
        }

    def message_with_components(self, message_id: int | str) -> JSON:
        """A stored message (after any edits), e.g. the one a callback or a send created."""
        return self.messages[int(message_id)]

    async def response_to(self, interaction: JSON, *, timeout: float = 5.0) -> JSON:
        """The callback body ({type, data}) the bot gave `interaction`, waiting for it."""
        key = int(interaction["id"])
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: key in self.responses),
                                       timeout)
            except TimeoutError:
                raise TimeoutError(f"no response to interaction {key} within {timeout}s") \
                    from None
        return self.responses[key]

    async def dispatch_autocomplete(
        self, name: str, options: Mapping[str, str | int | float | bool], focused: str,
        **kwargs: Any,
    ) -> JSON:
        return await self.dispatch_interaction(
            name, options, interaction_type=4, focused=focused, **kwargs
        )

    @staticmethod
    def _option(name: str, value: str | int | float | bool, focused: bool) -> JSON:
        opt_type = next(t for py_type, t in _OPTION_TYPES if isinstance(value, py_type))
        opt: JSON = {"name": name, "type": opt_type, "value": value}
        if focused:
            opt["focused"] = True
        return opt

    async def drop_connection(
        self, *, code: int = 4000, abort: bool = False, invalidate_session: bool = False,
        timeout: float = 5.0,
    ) -> None:
        """Drop the live gateway connection: close it with `code` (discord.py then RESUMEs),
        or `abort` the TCP connection. With `invalidate_session` the next RESUME gets
        INVALID_SESSION, so the client has to IDENTIFY again."""
        conn = self._active
        if conn is None:
            raise RuntimeError("no live gateway connection to drop")
        self._active = None
        self._live.clear()
        if invalidate_session:
            self._session_id = None
        if abort:
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
        else:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await asyncio.wait_for(conn.ws.close(code=code, message=b"dropped by fake"),
                                       timeout)

    # ------------------------------------------------------------------ recording & waiting

    def rate_limit(
        self, method: str, route: str, *, count: int = 1, retry_after: float = 1.0,
        scope: str = "user",
    ) -> None:
        """Make the next `count` requests matching `method` and `route` (a template such as
        "/channels/{channel_id}/messages" or a concrete path) answer HTTP 429.
        `scope` is "user", "shared" or "global" (global also sets X-RateLimit-Global)."""
        self._rate_limits.append(_RateLimit(method.upper(), route, count, retry_after, scope))

    def find_requests(
        self, method: str | None = None, route: str | None = None, *, ok: bool | None = None,
        since: int = 0,
    ) -> list[RecordedRequest]:
        """Recorded requests filtered by method, route (template or concrete path) and
        success (`ok=True`: 2xx only, `ok=False`: errors such as 429 only)."""
        return [
            r for r in self.requests[since:]
            if (method is None or r.method == method.upper())
            and (route is None or route in (r.route, r.path))
            and (ok is None or r.ok == ok)
        ]

    async def wait_for_requests(
        self, method: str | None = None, route: str | None = None, count: int = 1, *,
        ok: bool | None = None, since: int = 0, timeout: float = 5.0,
    ) -> list[RecordedRequest]:
        """Wait until `count` matching requests were recorded; return the first `count`.
        `since` is an index into `requests` (e.g. `len(fake.requests)` taken earlier)."""

        def enough() -> bool:
            return len(self.find_requests(method, route, ok=ok, since=since)) >= count

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(enough), timeout)
            except TimeoutError:
                seen = "\n".join(f"  {r.method} {r.path} -> {r.status}" for r in self.requests)
                raise TimeoutError(
                    f"wanted {count}x {method} {route} (ok={ok}) within {timeout}s; "
                    f"recorded:\n{seen or '  (nothing)'}"
                ) from None
        return self.find_requests(method, route, ok=ok, since=since)[:count]

    async def wait_for_messages(
        self, count: int = 1, *, channel_id: int | None = None, since: int = 0,
        timeout: float = 5.0,
    ) -> list[JSON]:
        """JSON bodies of the first `count` successful channel message sends."""
        route = "/channels/{channel_id}/messages"
        if channel_id is not None:
            route = f"/channels/{channel_id}/messages"
        found = await self.wait_for_requests(
            "POST", route, count, ok=True, since=since, timeout=timeout
        )
        return [r.json for r in found]

    async def wait_for_interaction_responses(
        self, count: int = 1, *, since: int = 0, timeout: float = 5.0
    ) -> list[JSON]:
        """JSON bodies ({type, data}) of the first `count` successful interaction callbacks."""
        found = await self.wait_for_requests(
            "POST", "/interactions/{interaction_id}/{token}/callback", count, ok=True,
            since=since, timeout=timeout,
        )
        return [r.json for r in found]

    # ------------------------------------------------------------------ REST plumbing

    @web.middleware
    async def _middleware(
        self, request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return await handler(request)  # the gateway
        body: Any = None
        files: list[tuple[str, bytes]] = []
        if request.content_type == "application/json":
            body = await request.json()
        elif request.content_type == "multipart/form-data":
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files.append((value.filename, value.file.read()))
                elif key == "payload_json":
                    body = json.loads(str(value))
        request[_BODY], request[_FILES] = body, files
        resource = request.match_info.route.resource
        template = resource.canonical if resource is not None else ""
        if not template.startswith(API_PREFIX):
            template = "<unhandled>"
        path, route = request.path[len(API_PREFIX):], template.removeprefix(API_PREFIX)
        fault = self._take_fault(request.method, path, route)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        limit = self._take_rate_limit(request.method, path, route)
        response: web.StreamResponse
        if limit is not None:
            response = self._too_many_requests(limit, route)
        elif fault is not None and fault.status:
            response = self._error(fault.status, 0, f"{fault.status}: injected by the test")
        else:
            response = await handler(request)
        self.requests.append(RecordedRequest(request.method, path, route, dict(request.query),
                                             body, response.status, tuple(files)))
        async with self._changed:
            self._changed.notify_all()
        return response

    def fail(self, method: str, route: str, *, count: int = 1, status: int = 503) -> None:
        """Make the next `count` matching requests answer `status` (a 5xx by default)
        without doing anything."""
        self._faults.append(_Fault(method.upper(), route, count, status, 0.0))

    def stall(self, method: str, route: str, *, count: int = 1, seconds: float = 30.0) -> None:
        """Hold the next `count` matching requests for `seconds`, then answer them as usual
        (a hung Discord); they are recorded only when answered."""
        self._faults.append(_Fault(method.upper(), route, count, 0, seconds))

    def _take_fault(self, method: str, path: str, route: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method == method and fault.route in (path, route) and fault.remaining > 0:
                fault.remaining -= 1
                return fault
        return None

    def _take_rate_limit(self, method: str, path: str, route: str) -> _RateLimit | None:
        for limit in self._rate_limits:
            if limit.method == method and limit.route in (path, route) and limit.remaining > 0:
                limit.remaining -= 1
                return limit
        return None

    @staticmethod
    def _too_many_requests(limit: _RateLimit, route: str) -> web.Response:
        is_global = limit.scope == "global"
        headers = {
            "Via": "1.1 google",  # discord.py treats a 429 without Via as a Cloudflare ban
            "Retry-After": str(math.ceil(limit.retry_after)),
            "X-RateLimit-Scope": limit.scope,
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update({
                "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + limit.retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{limit.retry_after:.3f}",
                "X-RateLimit-Bucket": f"fake-{zlib.crc32(route.encode()):08x}",
            })
        body = {"message": "You are being rate limited.", "retry_after": limit.retry_after,
                "global": is_global, "code": 0}
        return _json(body, status=429, headers=headers)

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        return _json({"message": message, "code": code}, status=status)

    def _created_attachments(self, request: web.Request) -> list[JSON]:
        return [{"id": str(self.new_id()), "filename": name, "size": len(data),
                 "url": f"http://127.0.0.1:{self.port}/attachments/{name}",
                 "proxy_url": f"http://127.0.0.1:{self.port}/attachments/{name}"}
                for name, data in request[_FILES]]

    def _bot_message(self, request: web.Request, channel_id: int, **extra: Any) -> JSON:
        body: JSON = request[_BODY] or {}
        fields = {k: body[k] for k in ("embeds", "components", "tts", "flags",
                                       "message_reference", "nonce") if k in body}
        mentioned = [self.user(int(uid)) for uid in re.findall(r"<@!?(\d+)>",
                                                                 body.get("content") or "")]
        return self.message_payload(channel_id, self.bot_user, body.get("content") or "",
                                    mentions=mentioned,
                                    attachments=self._created_attachments(request),
                                    **fields, **extra)

    # ------------------------------------------------------------------ REST handlers

    async def _not_found(self, request: web.Request) -> web.Response:
        return self._error(404, 0, "404: Not Found")

    async def _no_content(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _get_me(self, request: web.Request) -> web.Response:
        return _json({**self.bot_user, "verified": True, "mfa_enabled": False,
                                  "flags": 0})

    async def _get_application(self, request: web.Request) -> web.Response:
        return _json({
            "id": str(self.application_id), "name": "citebot-test", "description": "",
            "icon": None, "bot_public": False, "bot_require_code_grant": False,
            "owner": self.user(self.user_id), "verify_key": "0" * 64, "flags": 1 << 18 | 1 << 19,
            "summary": "", "team": None, "bot": self.bot_user,
        })

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return _json({
            "url": self.gateway_url.rstrip("/"), "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0,
                                    "max_concurrency": 1},
        })

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel = self.channels.get(int(request.match_info["channel_id"]))
        if channel is None:
            return self._error(404, 10003, "Unknown Channel")
        return _json(channel)

    async def _create_message(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel_id"])
        if channel_id not in self.channels:
            return self._error(404, 10003, "Unknown Channel")
        body: JSON = request[_BODY] or {}
        nonce = (channel_id, str(body["nonce"])) if body.get("enforce_nonce") and \
            body.get("nonce") is not None else None
        if nonce is not None and nonce in self._nonces:
            return _json(self.messages[self._nonces[nonce]])  # a retry of a delivered send
        msg = self._bot_message(request, channel_id)
        if nonce is not None:
            self._nonces[nonce] = int(msg["id"])
        return _json(msg)

    async def _get_message(self, request: web.Request) -> web.Response:
        msg = self.messages.get(int(request.match_info["message_id"]))
        if msg is None:
            return self._error(404, 10008, "Unknown Message")
        return _json(msg)

    async def _edit_message(self, request: web.Request) -> web.Response:
        msg = self.messages.get(int(request.match_info["message_id"]))
        if msg is None:
            return self._error(404, 10008, "Unknown Message")
        msg.update({k: v for k, v in (request[_BODY] or {}).items()
                    if k in ("content", "embeds", "components", "flags")})
        msg["edited_timestamp"] = _now()
        return _json(msg)

    async def _callback(self, request: web.Request) -> web.Response:
        interaction_id = int(request.match_info["interaction_id"])
        state = self._interactions.get(interaction_id)
        if state is None or state["token"] != request.match_info["token"]:
            return self._error(404, 10062, "Unknown interaction")
        if state["acked"]:
            return self._error(400, 40060, "Interaction has already been acknowledged.")
        state["acked"] = True
        body: JSON = request[_BODY] or {}
        self.responses[interaction_id] = body
        response_type = int(body.get("type", 0))
        info: JSON = {"id": str(interaction_id), "type": state["type"]}
        result: JSON = {"interaction": info}
        if response_type in (4, 5):  # CHANNEL_MESSAGE_WITH_SOURCE / DEFERRED_...
            data: JSON = body.get("data") or {}
            flags = int(data.get("flags") or 0) | (128 if response_type == 5 else 0)
            msg = self.message_payload(
                state["channel_id"], self.bot_user, data.get("content") or "", flags=flags,
                embeds=data.get("embeds", []), components=data.get("components", []),
                webhook_id=str(self.application_id),
                application_id=str(self.application_id),
                attachments=self._created_attachments(request),
            )
            self._originals[state["token"]] = int(msg["id"])
            info.update(response_message_id=msg["id"],
                        response_message_loading=response_type == 5,
                        response_message_ephemeral=bool(flags & 64))
            result["resource"] = {"type": response_type, "message": msg}
        elif response_type == 7 and state["message_id"] in self.messages:  # UPDATE_MESSAGE
            msg = self.messages[state["message_id"]]
            msg.update({k: v for k, v in (body.get("data") or {}).items()
                        if k in ("content", "embeds", "components", "flags")})
            msg["edited_timestamp"] = _now()
            result["resource"] = {"type": response_type, "message": msg}
        if "with_response" not in request.query:
            return web.Response(status=204)
        return _json(result)

    async def _followup(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        state = next((s for s in self._interactions.values() if s["token"] == token), None)
        if state is None or not state["acked"]:
            return self._error(404, 10015, "Unknown Webhook")
        msg = self._bot_message(request, state["channel_id"],
                                webhook_id=str(self.application_id))
        return _json(msg)

    async def _webhook_message(self, request: web.Request) -> web.StreamResponse:
        token, ref = request.match_info["token"], request.match_info["message_id"]
        message_id = self._originals.get(token) if ref == "@original" else int(ref)
        msg = self.messages.get(message_id) if message_id is not None else None
        if msg is None:
            return self._error(404, 10008, "Unknown Message")
        if request.method == "DELETE":
            self.messages.pop(int(msg["id"]), None)
            return web.Response(status=204)
        if request.method == "PATCH":
            msg.update({k: v for k, v in (request[_BODY] or {}).items()
                        if k in ("content", "embeds", "components")})
            msg["flags"] = int(msg.get("flags") or 0) & ~128  # no longer "thinking"
            msg["edited_timestamp"] = _now()
            if request[_FILES]:
                msg["attachments"] = self._created_attachments(request)
        return _json(msg)

    async def _commands(self, request: web.Request) -> web.Response:
        guild = request.match_info.get("guild_id")
        key = int(guild) if guild is not None else None
        if request.method == "PUT":
            self.commands[key] = [
                {"type": 1, "description": "", "options": [], "nsfw": False,
                 "default_member_permissions": None, **cmd, "id": str(self.new_id()),
                 "application_id": str(self.application_id), "version": str(self.new_id()),
                 **({"guild_id": guild} if guild is not None else {})}
                for cmd in request[_BODY] or []
            ]
        return _json(self.commands.get(key, []))


# ---------------------------------------------------------------------- client-side helpers


@contextlib.contextmanager
def patch_discord(fake: FakeDiscord) -> Iterator[None]:
    """Point discord.py's REST base and default gateway at `fake`; restore them on exit."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = fake.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway


async def start_bot(
    bot: discord.Client, *, token: str = "fake-token", timeout: float = 5.0
) -> asyncio.Task[None]:
    """Log `bot` in and run `bot.connect()` in a task until it is ready (call inside
    `patch_discord`). Raises if connecting fails or takes longer than `timeout`."""
    try:
        await asyncio.wait_for(bot.login(token), timeout)
    except BaseException:
        await bot.close()
        raise
    task = asyncio.create_task(bot.connect(), name="fakediscord-bot")
    ready = asyncio.create_task(bot.wait_until_ready())
    try:
        done, _ = await asyncio.wait({task, ready}, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()  # re-raise the connection error
            raise RuntimeError("bot.connect() returned before the bot became ready")
        if ready not in done:
            raise TimeoutError(f"bot not ready within {timeout}s")
    except BaseException:
        ready.cancel()
        await stop_bot(bot, task, timeout=timeout)
        raise
    return task


async def stop_bot(bot: discord.Client, task: asyncio.Task[None], *, timeout: float = 5.0) -> None:
    """Close `bot` and wait (bounded) for its connect task to finish."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(bot.close(), timeout)
    if not task.done():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), timeout)
    if not task.done():
        task.cancel()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await task


@contextlib.asynccontextmanager
async def run_bot(
    bot: ClientT, fake: FakeDiscord, *, token: str = "fake-token", timeout: float = 5.0
) -> AsyncIterator[ClientT]:
    """Patch discord.py to use `fake`, start `bot`, yield it ready, then close it."""
    with patch_discord(fake):
        task = await start_bot(bot, token=token, timeout=timeout)
        try:
            yield bot
        finally:
            await stop_bot(bot, task, timeout=timeout)
