"""Logging, configured once for every command: one handler on the root logger, plain text or
one JSON object a line (CITEBOT_LOG_FORMAT=json), and the bot token never written.

The bot writes one INFO line per question on the `citebot.questions` logger and one per vote
on `citebot.votes`; their fields travel in the record's FIELDS attribute, so the text format
shows them as key=value and the JSON format as keys of their own.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.settings import Settings

QUESTIONS = logging.getLogger("citebot.questions")
VOTES = logging.getLogger("citebot.votes")
# The LogRecord attribute that carries an event's fields.
FIELDS = "citebot"
REDACTED = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def event(logger: logging.Logger, name: str, **fields: Any) -> None:
    """One INFO line: `name` and its fields."""
    logger.info(name, extra={FIELDS: fields})


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, FIELDS, None)
    return fields if isinstance(fields, dict) else {}


class _Redacting(logging.Formatter):
    """Takes out the secrets (the token) from whatever the record turns into, traceback
    included."""

    def __init__(self, secrets: tuple[str, ...], fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.secrets = secrets

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


class TextFormatter(_Redacting):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = _fields(record)
        if fields:
            head, _, tail = line.partition("\n")  # fields before any traceback
            pairs = " ".join(f"{k}={v}" for k, v in fields.items() if v not in ("", None))
            line = f"{head} {pairs}" + (f"\n{tail}" if tail else "")
        return self.redact(line)


class JsonFormatter(_Redacting):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(entry, ensure_ascii=False, default=str))


class _Handler(logging.StreamHandler[TextIO]):
    """Ours, so that configuring again replaces it rather than adding a second one."""


def configure(settings: Settings, *, quiet: bool = False, stream: TextIO | None = None) -> None:
    """Install the one handler (replacing an earlier one of ours) at `settings.log_level`;
    `quiet` (one-shot commands) shows warnings and errors only."""
    level = logging.getLevelNamesMapping()[settings.log_level]
    if quiet:
        level = max(level, logging.WARNING)
    secrets: tuple[str, ...] = ()
    if settings.discord_token is not None and settings.discord_token.get_secret_value().strip():
        secrets = (settings.discord_token.get_secret_value().strip(),)
    handler = _Handler(stream or sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter(secrets))
    else:
        handler.setFormatter(TextFormatter(secrets, TEXT_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
