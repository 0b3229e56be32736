"""The deployment files: Dockerfile (no container engine here, so its structure is checked,
not built), the systemd unit, and that a plain `pip install .` holds every package."""

from __future__ import annotations

import fnmatch
import shlex
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            out.append((keyword.upper(), " ".join(rest.split())))
    return out


def test_dockerfile_slim_base_non_root_volume_healthcheck() -> None:
    steps = instructions()
    keywords = [k for k, _ in steps]
    assert steps[0] == ("FROM", "python:3.11-slim")
    user = [v for k, v in steps if k == "USER"]
    assert user == ["citebot"]
    assert keywords.index("USER") < keywords.index("CMD")
    assert ("CMD", '["citebot", "run"]') in steps  # exec form: citebot gets the SIGTERM
    [health] = [v for k, v in steps if k == "HEALTHCHECK"]
    assert health.endswith('CMD ["citebot", "check"]')
    [volume] = [v for k, v in steps if k == "VOLUME"]
    env = " ".join(v for k, v in steps if k == "ENV")
    assert volume == '["/data"]'
    assert "CITEBOT_CACHE_DIR=/data/cache" in env
    assert "CITEBOT_FEEDBACK_DB=/data/feedback.sqlite3" in env


def test_dockerfile_copies_only_what_exists_and_is_not_ignored() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        verdict = False
        for pattern in patterns:  # the last matching pattern decides, as in Docker
            negated = pattern.startswith("!")
            bare = pattern.removeprefix("!").rstrip("/")
            if fnmatch.fnmatch(path, bare) or path.startswith(bare + "/"):
                verdict = not negated
        return verdict

    for keyword, value in instructions():
        if keyword == "COPY":
            *sources, _ = shlex.split(value)
            for source in sources:
                assert (ROOT / source).exists(), source
                assert not ignored(source), source


def test_pip_install_holds_every_package() -> None:
    """A regular install (the image's) ships retrieval.documents too, not only what an
    editable install happens to find."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("bot", "retrieval")
        for init in (ROOT / top).rglob("__init__.py")
    }
    # setuptools' find matches each dotted package name against the include patterns.
    assert "retrieval.documents" in on_disk
    assert all(any(fnmatch.fnmatchcase(p, pattern) for pattern in include) for p in on_disk)


def unit() -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (ROOT / "deploy" / "citebot.service").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
        else:
            key, _, value = line.partition("=")
            current.setdefault(key, []).append(value)
    return sections


def test_systemd_unit_dedicated_user_environment_file_restart() -> None:
    service = unit()["Service"]
    assert service["User"] == ["citebot"] and service["Group"] == ["citebot"]
    assert service["EnvironmentFile"] == ["/etc/citebot/citebot.env"]
    assert service["Restart"] == ["on-failure"]
    assert service["RestartPreventExitStatus"] == ["2"]  # bad settings: restarting won't help
    assert service["KillSignal"] == ["SIGTERM"]
    assert service["ExecStart"][0].endswith("/citebot run")
    env = dict(value.partition("=")[::2] for value in service["Environment"])
    assert env["CITEBOT_CACHE_DIR"] == "/var/cache/" + service["CacheDirectory"][0]
    assert env["CITEBOT_FEEDBACK_DB"].startswith("/var/lib/" + service["StateDirectory"][0])
    assert unit()["Install"]["WantedBy"] == ["multi-user.target"]
