"""Per-user and per-channel rate limits on discord.py's CooldownMapping.

CooldownMapping drops the buckets of keys idle for a whole window on every lookup, so memory
follows the number of people asking right now, not everyone who ever asked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from discord.ext import commands


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    # Over the limit: say so once per window; later refusals in it stay silent.
    notify: bool = False
    retry_after: float = 0.0
    scope: str = ""

    def notice(self) -> str:
        seconds = max(1, round(self.retry_after))
        who = "this channel is" if self.scope == "channel" else "you're"
        return f"Easy there — {who} asking quickly. Try again in {seconds} s."


def _mapping(rate: int, per: float) -> commands.CooldownMapping[int]:
    # The key function receives the id itself, so one mapping serves messages, mentions and
    # slash commands alike.
    return commands.CooldownMapping.from_cooldown(rate, per, lambda key: key)


class RateLimiter:
    def __init__(
        self,
        user_rate: int = 5,
        user_per: float = 60.0,
        channel_rate: int = 20,
        channel_per: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.users = _mapping(user_rate, user_per)
        self.channels = _mapping(channel_rate, channel_per)
        self.user_notices = _mapping(1, user_per)
        self.channel_notices = _mapping(1, channel_per)

    def check(self, user_id: int, channel_id: int, exempt: bool = False) -> Verdict:
        """Take one question from both buckets, or neither when either is empty."""
        if exempt:
            return Verdict(True)
        now = self.clock()
        user = self.users.get_bucket(user_id, now)
        channel = self.channels.get_bucket(channel_id, now)
        assert user is not None and channel is not None
        if user.get_tokens(now) < 1:
            return self._refuse("user", user_id, user.get_retry_after(now), now)
        if channel.get_tokens(now) < 1:
            return self._refuse("channel", channel_id, channel.get_retry_after(now), now)
        user.update_rate_limit(now)
        channel.update_rate_limit(now)
        return Verdict(True)

    def _refuse(self, scope: str, key: int, retry_after: float, now: float) -> Verdict:
        notices = self.user_notices if scope == "user" else self.channel_notices
        bucket = notices.get_bucket(key, now)
        assert bucket is not None
        first = bucket.update_rate_limit(now) is None
        return Verdict(False, notify=first, retry_after=retry_after, scope=scope)

    def tracked(self) -> int:
        """How many buckets are held in memory right now (for tests and diagnostics)."""
        return sum(
            len(m._cache)
            for m in (self.users, self.channels, self.user_notices, self.channel_notices)
        )
