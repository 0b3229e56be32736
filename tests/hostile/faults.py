"""Shared by the hostile tests: the results of the seed questions, and files or folders this
process may not read.

Tests often run as root, whom `chmod 000` does not stop. Then the calls that would touch a
denied path fail with EACCES as the kernel would for anyone else: opening a denied file;
listing a denied folder, or reaching anything inside it.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from retrieval.index import Index
from tests.seedcorpus import QUESTIONS

Results = list[list[tuple[str, int, float]]]
Deny = Callable[[Path], None]


def results(index: Index) -> Results:
    return [
        [(h.passage.file, h.passage.line_start, h.score) for h in index.search(q)]
        for q in QUESTIONS
    ]
# The calls a denied path makes fail, and the argument that holds the path.
_OPENS = ("open",)
_LISTS = ("scandir", "listdir")
_STATS = ("stat", "lstat")


def _restricted(path: Path) -> bool:
    """Whether chmod 000 stops this process from reading `path`."""
    try:
        if path.is_dir():
            os.listdir(path)
        else:
            with open(path, "rb"):
                pass
    except PermissionError:
        return True
    return False


def _as_path(arg: Any) -> str | None:
    if isinstance(arg, bytes):
        return os.path.abspath(os.fsdecode(arg))
    if isinstance(arg, str | os.PathLike):
        return os.path.abspath(os.fspath(arg))
    return None  # a file descriptor


class _Denied:
    """The denied paths, and the wrappers that fail the calls reaching them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folders: list[str] = []
        self.files: list[str] = []
        self._patch(monkeypatch)

    def _inside(self, path: str) -> bool:
        return any(path.startswith(os.path.join(folder, "")) for folder in self.folders)

    def _check(self, arg: Any, kind: str) -> None:
        path = _as_path(arg)
        if path is None:
            return
        denied = self._inside(path) or (
            kind == "open" and path in self.files
        ) or (kind == "list" and path in self.folders)
        if denied:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)

    def _patch(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def wrap(real: Callable[..., Any], kind: str) -> Callable[..., Any]:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                self._check(args[0] if args else kwargs.get("path", "."), kind)
                return real(*args, **kwargs)

            return wrapper

        for name in _OPENS:
            monkeypatch.setattr(os, name, wrap(getattr(os, name), "open"))
        monkeypatch.setattr(io, "open", wrap(io.open, "open"))
        monkeypatch.setattr(builtins, "open", wrap(builtins.open, "open"))
        for name in _LISTS:
            monkeypatch.setattr(os, name, wrap(getattr(os, name), "list"))
        for name in _STATS:
            monkeypatch.setattr(os, name, wrap(getattr(os, name), "stat"))


@contextlib.contextmanager
def unreadable_paths(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deny]:
    """`deny(path)` makes a file or folder unreadable until the block ends."""
    changed: list[tuple[Path, int]] = []
    denied: _Denied | None = None

    def make_unreadable(path: Path) -> None:
        nonlocal denied
        changed.append((path, path.stat().st_mode & 0o7777))
        path.chmod(0)
        if _restricted(path):
            return
        if denied is None:
            denied = _Denied(monkeypatch)
        (denied.folders if path.is_dir() else denied.files).append(os.path.abspath(path))

    try:
        yield make_unreadable
    finally:
        monkeypatch.undo()
        for path, mode in reversed(changed):
            path.chmod(mode)
