"""What every chat front end shares, with no chat library in it: the live index, answering,
citation lookup, reloading, and the rate limiter. Discord (and the local console) call this."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bot.limits import RateLimiter
from bot.settings import Settings
from retrieval.answer import Answer, answer
from retrieval.corpus import CorpusError, Passage
from retrieval.index import Index
from retrieval.store import load_or_build

log = logging.getLogger(__name__)

NO_SUCH_FILE = "No such file in the corpus. Use `sources` to list the files."

HELP = """\
**citebot** answers questions from {files} documents with quotes and `file:line` citations.
`{p}ask <question>` or `/ask` — answer a question (or mention me with the question)
`{p}source <file> [line]` or `/source` — show the passage at a citation
`{p}sources` or `/sources` — list the documents
`{p}help` or `/help` — this message
Owners: `{p}sync [guild|global]` publishes the slash commands; `{p}reload` re-reads the \
documents."""


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    message: str


class Library:
    def __init__(self, settings: Settings, corpus: Path | None = None) -> None:
        self.settings = settings
        self.corpus = corpus or settings.corpus
        self.limiter = RateLimiter(
            settings.user_rate, settings.user_per, settings.channel_rate, settings.channel_per
        )
        self._index: Index | None = None
        self._reloading = asyncio.Lock()

    @property
    def index(self) -> Index:
        if self._index is None:
            raise RuntimeError("the index is not loaded yet")
        return self._index

    @property
    def ready(self) -> bool:
        return self._index is not None

    def _build(self) -> Index:
        return load_or_build(self.corpus, self.settings.ranking(), self.settings.cache_dir).index

    def load(self) -> Index:
        """Blocking load; front ends call it off the event loop."""
        self._index = self._build()
        return self._index

    async def reload(self) -> ReloadResult:
        """Rebuild from disk. The old index answers until the new one is ready, and a failed
        rebuild leaves it in place."""
        async with self._reloading:
            started = time.perf_counter()
            try:
                fresh = await asyncio.to_thread(self._build)
            except CorpusError as exc:
                return ReloadResult(False, f"Reload failed, still using the old index: {exc}")
            except Exception as exc:
                log.exception("reload failed")
                return ReloadResult(
                    False, f"Reload failed, still using the old index: {type(exc).__name__}"
                )
            self._index = fresh
            took = time.perf_counter() - started
            return ReloadResult(
                True,
                f"Reloaded: {len(fresh.files)} files, {len(fresh.passages)} passages "
                f"in {took:.1f} s.",
            )

    def ask(self, question: str) -> Answer:
        return answer(self.index, question, self.settings.answering())

    def files(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self.index.passages:
            counts[p.file] = counts.get(p.file, 0) + 1
        return counts

    def resolve_file(self, name: str) -> str | None:
        """A corpus file by its listed name (or a unique base name). Anything else, such as
        `../.env` or an absolute path, is unknown: lookups never touch the file system."""
        cleaned = name.strip().strip("`")
        if not cleaned or cleaned.startswith(("/", "\\")) or ".." in PurePosixPath(cleaned).parts:
            return None
        files = self.index.files
        if cleaned in files:
            return cleaned
        by_base = [f for f in files if PurePosixPath(f).name == cleaned]
        return by_base[0] if len(by_base) == 1 else None

    def source(self, name: str, line: int | None = None) -> Passage | str:
        """The passage at `file[:line]`, or a message saying why there is none."""
        if line is None and ":" in name:
            head, _, tail = name.rpartition(":")
            if tail.split("-")[0].isdigit():
                name, line = head, int(tail.split("-")[0])
        file = self.resolve_file(name)
        if file is None:
            return NO_SUCH_FILE
        passages = self.index.find(file)
        if line is None:
            return passages[0]
        for p in passages:
            if p.line_start <= line <= p.line_end:
                return p
        later = [p for p in passages if p.line_start > line]
        if later:
            return later[0]
        last = passages[-1].line_end
        return f"`{file}` has no passage at line {line} (it has lines up to {last})."

    def complete_file(self, typed: str, limit: int = 25) -> list[str]:
        typed = typed.casefold()
        files = self.index.files
        starts = [f for f in files if f.casefold().startswith(typed)]
        contains = [f for f in files if typed in f.casefold() and f not in starts]
        return (starts + contains)[:limit]

    def help_text(self, prefix: str) -> str:
        return HELP.format(p=prefix, files=len(self.index.files) if self.ready else "the")
