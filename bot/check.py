"""`citebot check`: is this installation ready to run the bot? Settings, token, corpus folder,
index cache and (with --online) a login with the token, one line each, on one screen."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.settings import ENV_FILE, Settings, SettingsError, load_settings, unknown_keys
from retrieval.corpus import CorpusError, corpus_files
from retrieval.store import StaleIndex, cache_dir_for, corpus_key, load

# A login that has not answered within this many seconds is reported as unreachable.
LOGIN_TIMEOUT = 20.0
# At most this many file names in one line.
MAX_NAMED = 3

Status = Literal["ok", "warn", "FAIL", "skip"]


@dataclass(frozen=True)
class Finding:
    status: Status
    what: str
    detail: str


def network_problem(exc: BaseException) -> str:
    """A connection error in one line (aiohttp's names the host and the OS's reason)."""
    return str(exc).strip() or type(exc).__name__


def _named(names: list[str]) -> str:
    more = f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else ""
    return ", ".join(names[:MAX_NAMED]) + more


@contextlib.contextmanager
def _quiet_discord() -> Iterator[None]:
    """discord.Client warns that voice libraries are missing; the check does not use voice."""
    logger = logging.getLogger("discord")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


async def try_login(token: str, timeout: float = LOGIN_TIMEOUT) -> Finding:
    """Log in over REST only (no gateway connection), then close."""
    import aiohttp
    import discord

    with _quiet_discord():
        client = discord.Client(intents=discord.Intents.none())
    try:
        await asyncio.wait_for(client.login(token), timeout)
        return Finding("ok", "login", f"the token logs in as {client.user}")
    except discord.LoginFailure:
        return Finding("FAIL", "login", "Discord rejected the token (CITEBOT_DISCORD_TOKEN)")
    except discord.HTTPException as exc:
        return Finding("FAIL", "login", f"Discord answered {exc.status}; try again later")
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return Finding("FAIL", "login", f"cannot reach Discord: {network_problem(exc)}")
    finally:
        await client.close()


def check_corpus(folder: Path) -> list[Finding]:
    try:
        files = corpus_files(folder)
    except CorpusError as exc:
        return [Finding("FAIL", "corpus", str(exc))]
    unreadable = [p.relative_to(folder).as_posix() for p in files if not os.access(p, os.R_OK)]
    found = [Finding("ok", "corpus", f"{folder}: {len(files)} .txt/.md files")]
    if len(unreadable) == len(files):
        found = [Finding("FAIL", "corpus", f"{folder}: none of its {len(files)} files is readable")]
    elif unreadable:
        found.append(Finding("warn", "corpus", f"cannot read {_named(unreadable)}; skipped"))
    # What the listing left out: links out of the folder, unreadable sub-folders.
    left_out: list[str] = list(getattr(files, "warnings", ()))
    found.extend(Finding("warn", "corpus", line) for line in left_out[:MAX_NAMED])
    if len(left_out) > MAX_NAMED:
        found.append(Finding("warn", "corpus", f"and {len(left_out) - MAX_NAMED} more left out"))
    return found


def check_cache(settings: Settings, folder: Path) -> Finding:
    if settings.cache_dir is None:
        return Finding("ok", "cache", "off (CITEBOT_CACHE_DIR): the index is built at each start")
    target = cache_dir_for(settings.cache_dir, folder)
    try:
        index = load(target, corpus_key(folder, settings.ranking()), settings.ranking())
    except StaleIndex as exc:
        return Finding("ok", "cache", f"would rebuild at start: {exc} ({target})")
    except OSError as exc:
        return Finding(
            "warn", "cache", f"cannot read {target} ({exc.strerror or exc}): built in memory"
        )
    return Finding("ok", "cache", f"loads {len(index.passages)} passages from {target}")


def run_checks(
    online: bool, corpus: Path | None = None, env_file: Path | None = ENV_FILE
) -> list[Finding]:
    found = [Finding("warn", "settings", line) for line in unknown_keys(env_file)]
    try:
        settings = load_settings(env_file)
    except SettingsError as exc:
        return [*(Finding("FAIL", "settings", line) for line in exc.problems), *found]
    where = f"environment and {env_file}" if env_file and env_file.is_file() else "environment"
    found.insert(0, Finding("ok", "settings", f"valid (from the {where})"))
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        found.append(Finding("FAIL", "token", "CITEBOT_DISCORD_TOKEN is not set; `run` needs it"))
    else:
        found.append(Finding("ok", "token", "set (never shown)"))
    folder = corpus or settings.corpus
    corpus_found = check_corpus(folder)
    found.extend(corpus_found)
    if all(f.status != "FAIL" for f in corpus_found):
        found.append(check_cache(settings, folder))
    if not online:
        found.append(Finding("skip", "login", "not tried; `citebot check --online` logs in"))
    elif token:
        found.append(asyncio.run(try_login(token)))
    return found


def report(findings: list[Finding]) -> tuple[list[str], int]:
    """The screen's lines and the exit status: 0 when nothing failed, else 1."""
    width = max(len(f.what) for f in findings)
    lines = [f"  {f.status:<4}  {f.what:<{width}}  {f.detail}" for f in findings]
    failed = sum(f.status == "FAIL" for f in findings)
    lines.append("ready" if not failed else f"{failed} problem{'s' if failed > 1 else ''}")
    return lines, 1 if failed else 0
