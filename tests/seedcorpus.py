"""The seed corpus as the cache tests use it: where it is, the ranking they build it with,
and questions whose results must survive a round trip through the cache."""

from __future__ import annotations

from pathlib import Path

from retrieval.engines import RankingConfig

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
# The sparse engine scores from the stored arrays directly, so what is loaded is what is used.
CONFIG = RankingConfig(engine="sparse")
QUESTIONS = [
    "who is Scale's interim CEO?",
    "How much did Meta invest in Scale AI?",
    "Google drops Scale AI",
]
