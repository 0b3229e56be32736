"""`citebot run` as a process against the loopback fake Discord: it answers, logs one JSON line
per question without the token, and SIGTERM closes it cleanly (exit 0, gateway closed,
feedback database checkpointed)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.fakediscord import FakeDiscord

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "MTAwMA.process-token.abcdefghijklmnop"
# The one thing the child does differently from `citebot run`: talk to the fake, not Discord.
BOOT = """
import os, sys, yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route
Route.BASE = os.environ["FAKE_DISCORD_API"]
DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["FAKE_DISCORD_GATEWAY"])
from bot.cli import main
sys.exit(main(["run"]))
"""
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_run_answers_then_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "state" / "feedback.sqlite3"
    async with FakeDiscord() as fake:
        env = {
            **os.environ,
            "FAKE_DISCORD_API": fake.api_base, "FAKE_DISCORD_GATEWAY": fake.gateway_url,
            "CITEBOT_DISCORD_TOKEN": TOKEN, "CITEBOT_CORPUS": str(ROOT / "seeds"),
            "CITEBOT_CACHE_DIR": "off", "CITEBOT_FEEDBACK_DB": str(db),
            "CITEBOT_LOG_FORMAT": "json", "CITEBOT_LOG_LEVEL": "INFO",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", BOOT, cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            await fake.wait_until_connected(timeout=START_TIMEOUT_S)
            await fake.dispatch_message("!ask who is Scale's interim CEO?")
            [reply] = await fake.wait_for_messages(1, timeout=15)
            await asyncio.sleep(0.3)  # its log line follows the reply
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), STOP_TIMEOUT_S)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        # The client closed its gateway connection with a close frame (discord.py 2.7 sends
        # 4000); a killed process leaves an abnormal closure (1006) instead.
        assert fake.close_codes == [4000]
    log = stderr.decode()
    assert proc.returncode == 0, log
    assert "`004_bbdec2aa2fae0f2f.txt:9`" in reply["content"]
    entries = [json.loads(line) for line in log.splitlines()]  # every line is one object
    messages = [e["message"] for e in entries]
    assert messages.count("question") == 1
    assert "SIGTERM received: closing" in messages and messages[-1] == "closed"
    assert TOKEN not in log
    # Closed, not killed: the WAL was checkpointed into the database and removed.
    assert not db.with_name(db.name + "-wal").exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 1
