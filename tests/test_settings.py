"""Settings from the environment and .env, the token kept secret, `citebot run` without one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, known_names, load_settings, unknown_keys

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


def no_citebot_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("CITEBOT_") or key == "DISCORD_TOKEN":
            monkeypatch.delenv(key)


def test_a_token_in_any_variable_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 11 (6): pydantic's error quoted the value (int() did, for CITEBOT_OWNER_IDS)."""
    no_citebot_env(monkeypatch)
    for name in known_names():
        monkeypatch.setenv(name, TOKEN)
    with pytest.raises(SettingsError) as caught:
        load_settings(None)
    problems = caught.value.problems
    assert {p.split(":")[0] for p in problems} == {
        "CITEBOT_TOP_K", "CITEBOT_ENGINE", "CITEBOT_USER_RATE", "CITEBOT_USER_PER",
        "CITEBOT_CHANNEL_RATE", "CITEBOT_CHANNEL_PER", "CITEBOT_OWNERS_EXEMPT",
        "CITEBOT_OWNER_IDS", "CITEBOT_ALLOWED_CHANNEL_IDS", "CITEBOT_DEV_GUILD_ID",
        "CITEBOT_DEFER_AFTER", "CITEBOT_MESSAGE_CONTENT", "CITEBOT_LOG_LEVEL",
        "CITEBOT_LOG_FORMAT", "CITEBOT_CONSOLE_RATE_LIMITS",
    }
    for problem in problems:
        assert "\n" not in problem
        assert not any(piece in problem for piece in TOKEN.split(".")), problem


def test_the_example_env_file_loads_and_names_only_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Copying .env.example to .env failed: its empty CITEBOT_DEV_GUILD_ID is not an int."""
    no_citebot_env(monkeypatch)
    example = ROOT / ".env.example"
    s = load_settings(example)
    assert s.dev_guild_id is None and s.discord_token is not None
    assert s.feedback_db.name == "feedback.sqlite3"
    assert unknown_keys(example, environ={}) == []


def test_unknown_keys_get_the_closest_name_and_no_value(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        f"CITEBOT_DISCORD_TOKN={TOKEN}\nCITEBOT_DISCORD_TOKEN:{TOKEN}\nOTHER_TOOL=1\n"
        "citebot_top_k=4\n",
        encoding="utf-8",
    )
    environ = {"CITEBOT_TOPK": "3", "CITEBOT_ZZZZZZ": "1", "DISCORD_TOKEN": TOKEN, "HOME": "/"}
    warnings = unknown_keys(env, environ)
    assert warnings == [
        "CITEBOT_TOPK in the environment is not a setting, ignored; "
        "did you mean CITEBOT_TOP_K?",
        "CITEBOT_ZZZZZZ in the environment is not a setting, ignored",
        f"CITEBOT_DISCORD_TOKN in {env} is not a setting, ignored; "
        "did you mean CITEBOT_DISCORD_TOKEN?",
        f"a CITEBOT_ line in {env} is not NAME=value; it is ignored "
        "(not shown: it may hold a secret)",
    ]


def test_prefix_may_be_long_but_not_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    no_citebot_env(monkeypatch)
    monkeypatch.setenv("CITEBOT_COMMAND_PREFIX", "cb!")
    assert load_settings(None).command_prefix == "cb!"
    monkeypatch.setenv("CITEBOT_COMMAND_PREFIX", "")
    with pytest.raises(SettingsError, match="CITEBOT_COMMAND_PREFIX"):
        load_settings(None)
