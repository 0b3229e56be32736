"""The rate limiter, driven by an injected clock."""

from __future__ import annotations

from bot.limits import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0  # CooldownMapping treats a time of 0 as "no time given"

    def __call__(self) -> float:
        return self.now


def test_user_gets_rate_answers_then_one_notice_per_window() -> None:
    clock = Clock()
    limiter = RateLimiter(user_rate=5, user_per=60, channel_rate=100, channel_per=60, clock=clock)
    verdicts = []
    for _ in range(30):
        verdicts.append(limiter.check(user_id=1, channel_id=9))
        clock.now += 10 / 30
    assert sum(v.allowed for v in verdicts) == 5
    assert sum(v.notify for v in verdicts) == 1
    refused = [v for v in verdicts if not v.allowed]
    assert refused[0].notify and "Try again in" in refused[0].notice()
    assert 45 <= refused[0].retry_after <= 60
    # A new window: answers again, and a fresh notice may follow later.
    clock.now += 61
    assert limiter.check(1, 9).allowed


def test_other_users_are_not_limited_by_one_flooder() -> None:
    clock = Clock()
    limiter = RateLimiter(user_rate=2, user_per=60, channel_rate=100, channel_per=60, clock=clock)
    for _ in range(5):
        limiter.check(1, 9)
    assert limiter.check(2, 9).allowed


def test_channel_limit_spans_users_and_refusal_spends_no_user_token() -> None:
    clock = Clock()
    limiter = RateLimiter(user_rate=5, user_per=60, channel_rate=3, channel_per=60, clock=clock)
    allowed = [limiter.check(user, 9).allowed for user in range(10)]
    assert allowed == [True] * 3 + [False] * 7
    refused = limiter.check(42, 9)
    assert refused.scope == "channel" and "channel" in refused.notice()
    # Another channel is unaffected, and the refusal cost user 42 nothing.
    assert all(limiter.check(42, 10).allowed for _ in range(3))
    assert all(limiter.check(42, 11).allowed for _ in range(2))
    assert not limiter.check(42, 12).allowed


def test_exempt_users_are_never_limited() -> None:
    limiter = RateLimiter(user_rate=1, user_per=60, clock=Clock())
    assert all(limiter.check(1, 9, exempt=True).allowed for _ in range(50))


def test_memory_stays_bounded_with_a_million_users() -> None:
    clock = Clock()
    limiter = RateLimiter(user_rate=5, user_per=60, channel_rate=20, channel_per=60, clock=clock)
    peak = 0
    for user in range(1_000_000):
        limiter.check(user, user % 50)
        clock.now += 1.0
        if user % 10_000 == 0:
            peak = max(peak, limiter.tracked())
    # Only keys active in the last window (60 s at one question a second) are kept.
    assert peak <= 2 * (61 + 50)
