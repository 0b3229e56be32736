"""Getting a reply to Discord: one interface for the places a reply goes (a message, a slash
command, a button click), and bounded retries on transient errors.

discord.py retries some 5xx itself (not 503) with sleeps of up to 16 s in all, inside the
channel's rate-limit bucket, and never gives up on a request that hangs: one stuck send holds
every later reply in that channel. Each attempt here has its own timeout and all of them
share one deadline; a channel message carries the same nonce on every attempt (with
`enforce_nonce`, which discord.py sets), so a retry of a send that did arrive is not posted
twice.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import discord

log = logging.getLogger(__name__)

T = TypeVar("T")

NO_MENTIONS = discord.AllowedMentions.none()
SEND_ATTEMPTS = 3
SEND_DEADLINE_S = 5.0
ATTEMPT_TIMEOUT_S = 2.0
FIRST_BACKOFF_S = 0.25
# No attempt is started with less time than this left before the deadline.
MIN_ATTEMPT_S = 0.5
NONCE_BITS = 63
# Discord's code for a second response to one interaction: the earlier attempt arrived.
ALREADY_ACKNOWLEDGED = 40060


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = SEND_ATTEMPTS
    deadline: float = SEND_DEADLINE_S
    attempt_timeout: float = ATTEMPT_TIMEOUT_S
    backoff: float = FIRST_BACKOFF_S


# Apologies and notices get one attempt: the error is already being reported.
ONCE = RetryPolicy(attempts=1)


def transient(exc: BaseException) -> bool:
    """Worth another try: a 5xx, a timeout, a dropped connection."""
    return isinstance(
        exc, discord.DiscordServerError | TimeoutError | aiohttp.ClientConnectionError | OSError
    )


async def deliver(send: Callable[[], Awaitable[T]], policy: RetryPolicy = RetryPolicy()) -> T:
    loop = asyncio.get_running_loop()
    end = loop.time() + policy.deadline
    delay = policy.backoff
    for attempt in range(1, policy.attempts + 1):
        try:
            return await asyncio.wait_for(
                send(), max(MIN_ATTEMPT_S, min(policy.attempt_timeout, end - loop.time()))
            )
        except Exception as exc:
            last = attempt == policy.attempts or end - loop.time() - delay < MIN_ATTEMPT_S
            if not transient(exc) or last:
                raise
            log.warning("send failed (%s), attempt %d; retrying in %.2f s",
                        type(exc).__name__, attempt, delay)
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def _acknowledged(exc: discord.HTTPException) -> bool:
    return exc.code == ALREADY_ACKNOWLEDGED


class Outlet:
    """Where the replies to one command or click go."""

    # An interaction: it must be answered, and the answer can be ephemeral.
    interactive = False

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    async def send(
        self, text: str, *, view: discord.ui.View | None = None, ephemeral: bool = False,
        policy: RetryPolicy | None = None,
    ) -> None:
        raise NotImplementedError

    async def defer(self, *, ephemeral: bool = False) -> None:
        """Tell Discord an answer is coming (interactions only)."""


class MessageOutlet(Outlet):
    """A reply to a message (`!ask`, a mention). If the message is gone, a plain message."""

    def __init__(self, message: discord.Message, policy: RetryPolicy) -> None:
        super().__init__(policy)
        self.message = message

    async def send(
        self, text: str, *, view: discord.ui.View | None = None, ephemeral: bool = False,
        policy: RetryPolicy | None = None,
    ) -> None:
        nonce = secrets.randbits(NONCE_BITS)  # the same for every attempt of this message
        extra: dict[str, Any] = {} if view is None else {"view": view}
        reference = self.message.to_reference(fail_if_not_exists=False)
        await deliver(
            lambda: self.message.channel.send(
                text, reference=reference, mention_author=False,
                allowed_mentions=NO_MENTIONS, nonce=nonce, **extra,
            ),
            policy or self.policy,
        )


class InteractionOutlet(Outlet):
    """The response to a slash command or a button click: the initial response, or the edit
    of a deferred one, then follow-ups."""

    interactive = True

    def __init__(self, interaction: discord.Interaction, policy: RetryPolicy) -> None:
        super().__init__(policy)
        self.interaction = interaction
        self.deferred = False

    async def defer(self, *, ephemeral: bool = False) -> None:
        response = self.interaction.response
        if response.is_done():
            return

        async def once() -> None:
            try:
                await response.defer(ephemeral=ephemeral, thinking=True)
            except discord.HTTPException as exc:
                if not _acknowledged(exc):
                    raise

        await deliver(once, self.policy)
        self.deferred = True

    async def send(
        self, text: str, *, view: discord.ui.View | None = None, ephemeral: bool = False,
        policy: RetryPolicy | None = None,
    ) -> None:
        interaction = self.interaction
        extra: dict[str, Any] = {} if view is None else {"view": view}
        policy = policy or self.policy
        if self.deferred:
            # Editing is idempotent, so a retry never shows the reply twice.
            await deliver(
                lambda: interaction.edit_original_response(
                    content=text, allowed_mentions=NO_MENTIONS, **extra
                ),
                policy,
            )
            self.deferred = False
            return
        if interaction.response.is_done():
            await deliver(
                lambda: interaction.followup.send(
                    text, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS, **extra
                ),
                policy,
            )
            return

        async def first() -> None:
            try:
                await interaction.response.send_message(
                    text, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS, **extra
                )
            except discord.HTTPException as exc:
                if not _acknowledged(exc):
                    raise

        await deliver(first, policy)
