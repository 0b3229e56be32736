"""All configuration in one pydantic-settings class: CITEBOT_* variables and a .env file."""

from __future__ import annotations

import contextlib
import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from dotenv import dotenv_values
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from retrieval.answer import AnswerConfig
from retrieval.engines import RankingConfig

ENV_PREFIX = "CITEBOT_"
ENV_FILE = Path(".env")
# An unknown CITEBOT_ key gets a "did you mean" when a known name is at least this similar
# (difflib's ratio): CITEBOT_TOPK -> CITEBOT_TOP_K, CITEBOT_DISCORD_TOKN -> ..._TOKEN.
SUGGEST_CUTOFF = 0.6
# A key that is not a plain NAME is never echoed: "CITEBOT_DISCORD_TOKEN:MTIz…" (a colon for
# "=") reaches us as one key holding the token.
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SettingsError(Exception):
    """Settings that cannot be used: one line per problem in `problems`, naming the variable
    and what is wrong with it, never its value (a token pasted into the wrong variable would
    otherwise be printed)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "citebot"


IdList = Annotated[frozenset[int], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=ENV_FILE, env_file_encoding="utf-8", extra="ignore"
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
    # Any length ("cb!"); empty would make every message a command.
    command_prefix: str = Field(default="!", min_length=1)
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
            parts = value.replace(",", " ").split()
            # Our own message: int()'s would quote the text, which may be a pasted token.
            if not all(part.isascii() and part.isdigit() for part in parts):
                raise ValueError("should be user or channel ids (digits), separated by commas")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("dev_guild_id", mode="before")
    @classmethod
    def _no_guild(cls, value: object) -> object:
        """An empty CITEBOT_DEV_GUILD_ID (as in .env.example) means none."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("feedback_db", mode="before")
    @classmethod
    def _default_db(cls, value: object) -> object:
        """An empty CITEBOT_FEEDBACK_DB is the default file, not the current folder."""
        if isinstance(value, str) and not value.strip():
            return default_cache_dir() / "feedback.sqlite3"
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


def known_names() -> set[str]:
    """Every environment variable a setting is read from (upper case)."""
    names: set[str] = set()
    for field, info in Settings.model_fields.items():
        names.add(f"{ENV_PREFIX}{field.upper()}")
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
    return names


def variable_of(field: str) -> str:
    """The variable a field is set by, as the user writes it."""
    if field.upper().startswith(ENV_PREFIX) or field.upper() == "DISCORD_TOKEN":
        return field.upper()
    return f"{ENV_PREFIX}{field.upper()}"


def describe(error: ErrorDetails) -> str:
    """One line for one validation error: the variable and what is wrong, without the value."""
    field = str(error["loc"][0]) if error["loc"] else "settings"
    message = error["msg"].removeprefix("Value error, ")
    for phrase, plain in (("Input should be", "should be"), ("Input is", "is")):
        message = message.replace(phrase, plain)
    # pydantic's own messages do not quote the input, but never rely on it.
    value = error.get("input")
    if isinstance(value, str) and value.strip():
        message = message.replace(value, "…")
    return f"{variable_of(field)}: {message}"


def load_settings(env_file: Path | None = ENV_FILE) -> Settings:
    """The settings from the environment and `env_file`, or SettingsError with one line per
    bad setting."""
    try:
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise SettingsError([describe(error) for error in exc.errors()]) from None
    except SourceError as exc:
        # pydantic-settings names the field and the source here, not the value.
        raise SettingsError([str(exc)]) from None
    except UnicodeDecodeError:
        raise SettingsError([f"{env_file}: not UTF-8 text; save it as UTF-8"]) from None
    except OSError as exc:
        raise SettingsError([f"{env_file}: cannot read it ({exc.strerror})"]) from None


def unknown_keys(
    env_file: Path | None = ENV_FILE, environ: Mapping[str, str] | None = None
) -> list[str]:
    """A warning for each CITEBOT_ key in the environment or `env_file` that is no setting
    (pydantic-settings ignores them silently, so a typo would go unnoticed), with the closest
    known name. Keys only, never values."""
    known = known_names()
    sources: list[tuple[str, list[str]]] = [
        ("the environment", list(os.environ if environ is None else environ))
    ]
    if env_file is not None and env_file.is_file():
        # An unreadable file is load_settings' to report.
        with contextlib.suppress(OSError, UnicodeDecodeError):
            sources.append((str(env_file), list(dotenv_values(env_file))))
    warnings: list[str] = []
    for where, keys in sources:
        for key in keys:
            upper = key.upper()
            if not upper.startswith(ENV_PREFIX) or upper in known:
                continue
            if _PLAIN_KEY.fullmatch(key) is None:
                warnings.append(
                    f"a {ENV_PREFIX} line in {where} is not NAME=value; it is ignored "
                    "(not shown: it may hold a secret)"
                )
                continue
            close = difflib.get_close_matches(upper, sorted(known), n=1, cutoff=SUGGEST_CUTOFF)
            hint = f"; did you mean {close[0]}?" if close else ""
            warnings.append(f"{key} in {where} is not a setting, ignored{hint}")
    return warnings
