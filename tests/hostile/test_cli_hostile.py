"""The command line under hostile input, as a user in a strict UTF-8 locale runs it: bad line
numbers, undecodable bytes on stdin and in argv, bad and misspelt settings (a token pasted
into the wrong variable), no network. Each asserts what the user sees: an answer or one line,
never a traceback, never a secret."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SEEDS = ROOT / "seeds"
FILE = "004_bbdec2aa2fae0f2f.txt"
INTERIM_CEO = "who is Scale's interim CEO?"
TOKEN = "MTIz.secret-token-value.xyz"
BAD_LINE = f"The line must be a number from 1 to 10 in `{FILE}`."


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


def strict_env(cache: Path, **extra: str) -> dict[str, str]:
    """No citebot settings, a private cache, and strict UTF-8 streams, as in an installed
    en_US.UTF-8 locale: they raise on bytes that are not UTF-8 unless told otherwise. (This
    machine has only C.UTF-8, where Python is lenient, so the encoding is set explicitly.)"""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_") and k != "PYTHONUTF8"
    }
    env.update(PYTHONIOENCODING="utf-8", CITEBOT_CACHE_DIR=str(cache), CITEBOT_CORPUS=str(SEEDS))
    env.update(extra)
    return env


def citebot(
    args: list[str | bytes],
    env: dict[str, str],
    stdin: bytes = b"",
    cwd: Path = ROOT,
    prelude: str = "",
) -> subprocess.CompletedProcess[bytes]:
    """`python -m bot ARGS`, or with `prelude` run first in the same process."""
    if prelude:
        command: list[str | bytes] = [
            sys.executable, "-c", f"{prelude}\nimport sys\nfrom bot.cli import main\n"
            "sys.exit(main(sys.argv[1:]))", *args,
        ]
    else:
        command = [sys.executable, "-m", "bot", *args]
    env = dict(env, PYTHONPATH=str(ROOT))
    return subprocess.run(
        command, input=stdin, env=env, cwd=cwd, capture_output=True, timeout=120, check=False
    )


def text(done: subprocess.CompletedProcess[bytes]) -> tuple[str, str]:
    out = done.stdout.decode("utf-8", "replace")
    err = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in out + err, err
    return out, err


# -- (5) line numbers ------------------------------------------------------------------------


def test_bad_line_numbers_in_chat_each_get_the_same_clear_answer(cache: Path) -> None:
    """Before: the console rate limited the keyboard, so after five lines the rest got 'Easy
    there'; with a citation form or a mention each must still say the line is out of range."""
    specs = ["²", "٣", "9" * 5000, "-1", "0", "abc", "11", "9-²"]
    lines = [f"!source {FILE} {spec}" for spec in specs]
    lines += [f"!source {FILE}:{spec}" for spec in ("²", "9" * 5000, "abc")]
    lines += [f"@citebot source {FILE} ²", f"/source {FILE} -1"]
    stdin = "".join(line + "\n" for line in lines).encode()
    done = citebot(["chat"], strict_env(cache), stdin)
    out, _ = text(done)
    assert done.returncode == 0
    replies = [r for r in out.split("\n\n") if r.strip()]
    assert len(replies) == len(lines), out
    for line, answer in zip(lines, replies, strict=True):
        if line.endswith(" 11"):
            assert answer.strip() == f"`{FILE}` has no passage at line 11 (it has lines up to 10)."
        else:
            assert answer.strip() == BAD_LINE, (line[:60], answer)


# -- (11) bytes that are not UTF-8 -----------------------------------------------------------


def test_invalid_utf8_on_stdin_does_not_end_the_console(cache: Path) -> None:
    """Before: UnicodeDecodeError on the first line, and the question after it unanswered."""
    stdin = b"\xff\xfe bad\n!ask " + INTERIM_CEO.encode() + b"\n"
    done = citebot(["chat"], strict_env(cache), stdin)
    out, _ = text(done)
    assert done.returncode == 0
    assert f"`{FILE}:9`" in out
    assert "Droege" in out


def test_ask_json_with_undecodable_bytes_in_the_question(cache: Path) -> None:
    """Before: UnicodeEncodeError printing the question back (a lone surrogate in argv)."""
    done = citebot(["ask", b"who is Scale's interim CEO \xff?", "--json"], strict_env(cache))
    out, _ = text(done)
    assert done.returncode == 0
    data = json.loads(out)
    assert data["question"].startswith("who is Scale's interim CEO")
    assert data["passages"]


# -- (6) settings ----------------------------------------------------------------------------

BAD_SETTINGS = {
    "CITEBOT_TOP_K": TOKEN,
    "CITEBOT_OWNER_IDS": f"1, {TOKEN}",
    "CITEBOT_ENGINE": TOKEN,
    "CITEBOT_USER_PER": "-5",
}


@pytest.mark.parametrize(
    "args", [["ask", INTERIM_CEO], ["index"], ["chat"], ["run"], ["eval"]], ids=str
)
def test_bad_settings_are_one_line_each_without_values(cache: Path, args: list[str]) -> None:
    """Before: a pydantic traceback for every command, the pasted token in it."""
    done = citebot([*args], strict_env(cache, **BAD_SETTINGS))
    out, err = text(done)
    assert done.returncode == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert sorted(line.split(":")[1].strip() for line in lines) == sorted(BAD_SETTINGS)
    assert all(line.startswith("citebot: CITEBOT_") for line in lines), err
    assert "MTIz" not in err and "secret" not in err


def test_unknown_settings_keys_are_warned_with_the_closest_name(
    cache: Path, tmp_path: Path
) -> None:
    """Before: a misspelt variable was ignored without a word."""
    (tmp_path / ".env").write_text(
        f"CITEBOT_DISCORD_TOKN={TOKEN}\nCITEBOT_DISCORD_TOKEN:{TOKEN}\n", encoding="utf-8"
    )
    done = citebot(["index"], strict_env(cache, CITEBOT_TOPK="5"), cwd=tmp_path)
    out, err = text(done)
    assert done.returncode == 0
    assert "passages" in out
    lines = err.strip().splitlines()
    assert len(lines) == 3, err
    assert any("CITEBOT_TOPK" in line and "did you mean CITEBOT_TOP_K?" in line for line in lines)
    assert any(
        "CITEBOT_DISCORD_TOKN" in line and "did you mean CITEBOT_DISCORD_TOKEN?" in line
        for line in lines
    )
    assert any("not NAME=value" in line for line in lines)
    assert "MTIz" not in err + out


# -- (15) no network -------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_run_without_network_is_one_line(cache: Path) -> None:
    """Before: discord.py's 87-line traceback. (Log lines printed twice are bot/logs.py's.)"""
    base = f"http://127.0.0.1:{closed_port()}/api/v10"
    prelude = f"import discord.http\ndiscord.http.Route.BASE = {base!r}"
    done = citebot(["run"], strict_env(cache, CITEBOT_DISCORD_TOKEN=TOKEN), prelude=prelude)
    out, err = text(done)
    assert done.returncode == 1
    problems = [line for line in (out + err).splitlines() if line.startswith("citebot:")]
    assert len(problems) == 1 and "cannot reach Discord" in problems[0], out + err
    assert TOKEN not in out + err
