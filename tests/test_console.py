"""`citebot chat` lines on a nested corpus: the same replies the bot posts."""

from __future__ import annotations

from pathlib import Path

from bot.console import handle
from tests.test_service import make_library, nested_corpus, write


def test_console_source_and_sources_on_nested_folders(tmp_path: Path) -> None:
    corpus = nested_corpus(tmp_path)
    write(corpus, "guide/my notes.md", ["A name with a space still finds its ferry notes."])
    library = make_library(corpus, user_rate=100, channel_rate=100)
    assert "sign in with the token" in (handle(library, "!source guide/install.md 5") or "")
    assert "sign in with the token" in (handle(library, "/source install.md:5") or "")
    assert "ferry notes" in (handle(library, "!source guide/my notes.md") or "")
    assert "ferry notes" in (handle(library, "!source my notes.md 1") or "")
    assert (handle(library, "!source index.md") or "").startswith("`index.md` matches 2 files")
    assert handle(library, "!source guide/install.md ²") == (
        "The line must be a number from 1 to 7 in `guide/install.md`."
    )
    assert (handle(library, "!sources") or "").endswith("lists the files of a folder.")
    assert "`guide/my notes.md` — 1 passage" in (handle(library, "!sources guide") or "")
