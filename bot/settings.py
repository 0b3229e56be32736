"""All configuration in one pydantic-settings class: CITEBOT_* variables and a .env file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from retrieval.answer import AnswerConfig
from retrieval.engines import RankingConfig


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "citebot"


IdList = Annotated[frozenset[int], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CITEBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    discord_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("CITEBOT_DISCORD_TOKEN", "DISCORD_TOKEN")
    )
    corpus: Path = Path("seeds")
    cache_dir: Path | None = Field(default_factory=default_cache_dir)
    top_k: int = Field(default=3, ge=1, le=10)
    # The sparse engine serves; "rank-bm25" runs rank-bm25 itself, for comparison ("auto" is
    # the sparse engine, kept so that older .env files still load).
    engine: Literal["auto", "rank-bm25", "sparse"] = "sparse"
    command_prefix: str = "!"
    user_rate: int = Field(default=5, ge=1)
    user_per: float = Field(default=60.0, gt=0)
    channel_rate: int = Field(default=20, ge=1)
    channel_per: float = Field(default=60.0, gt=0)
    owners_exempt: bool = True
    owner_ids: IdList = frozenset()
    allowed_channel_ids: IdList = frozenset()
    dev_guild_id: int | None = None
    # Slash commands not answered within this many seconds are deferred, then edited.
    defer_after: float = Field(default=2.0, ge=0)
    # Needed for `!ask`; mentions and slash commands work without it.
    message_content: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "json": one JSON object a line, for log collectors.
    log_format: Literal["text", "json"] = "text"
    # Votes on answers (Helpful / Wrong), in SQLite; created on first use.
    feedback_db: Path = Field(default_factory=lambda: default_cache_dir() / "feedback.sqlite3")
    # Whether `citebot chat` applies the rate limits to the person at the keyboard.
    console_rate_limits: bool = False

    @field_validator("owner_ids", "allowed_channel_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Accept "1,2 3" from the environment as well as a list."""
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(",", " ").split())
        return value

    @field_validator("cache_dir", mode="before")
    @classmethod
    def _cache_off(cls, value: object) -> object:
        """An empty CITEBOT_CACHE_DIR (or "off") turns the on-disk index cache off."""
        if isinstance(value, str) and value.strip().casefold() in ("", "off", "none"):
            return None
        return value

    def ranking(self) -> RankingConfig:
        return RankingConfig(engine=self.engine)

    def answering(self) -> AnswerConfig:
        return AnswerConfig(top_k=self.top_k)
