"""Settings from the environment and .env, the token kept secret, `citebot run` without one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "MTIz.secret-token-value.xyz"


def test_env_file_with_stray_keys_and_conventional_token_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("CITEBOT_") or key == "DISCORD_TOKEN":
            monkeypatch.delenv(key)
    env = tmp_path / ".env"
    env.write_text(
        f"DISCORD_TOKEN={TOKEN}\nCITEBOT_TOP_K=5\nCITEBOT_OWNER_IDS=1, 2 3\n"
        "SOMETHING_ELSE=1\nCITEBOT_NOT_A_SETTING=x\n",
        encoding="utf-8",
    )
    s = Settings(_env_file=env)  # type: ignore[call-arg]
    assert s.discord_token is not None and s.discord_token.get_secret_value() == TOKEN
    assert s.top_k == 5 and s.owner_ids == frozenset({1, 2, 3})
    assert TOKEN not in repr(s) and TOKEN not in str(s.model_dump())


def test_citebot_token_wins_and_cache_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEBOT_DISCORD_TOKEN", "a")
    monkeypatch.setenv("CITEBOT_CACHE_DIR", "off")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.discord_token is not None and s.discord_token.get_secret_value() == "a"
    assert s.cache_dir is None


def test_run_without_a_token_is_a_one_line_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CITEBOT_") and k != "DISCORD_TOKEN"}
    env["CITEBOT_CACHE_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=60,
    )
    assert done.returncode == 2
    output = (done.stdout + done.stderr).strip()
    assert "CITEBOT_DISCORD_TOKEN" in output and len(output.splitlines()) == 1
    assert "Traceback" not in output


def test_chat_console_answers_piped_commands(tmp_path: Path) -> None:
    env = dict(os.environ, CITEBOT_CACHE_DIR=str(tmp_path), CITEBOT_CORPUS=str(ROOT / "seeds"))
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=60,
        input="!ask who is Scale's interim CEO?\n!source ../.env\n/sources\n",
    )
    assert done.returncode == 0, done.stderr
    assert "`004_bbdec2aa2fae0f2f.txt:9`" in done.stdout
    assert "No such file in the corpus" in done.stdout
    assert "5 files in the corpus" in done.stdout
