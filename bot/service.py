"""What every chat front end shares, with no chat library in it: the live index, answering,
citation lookup, reloading, and the rate limiter. Discord (and the local console) call this."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from bot.limits import RateLimiter
from bot.settings import Settings
from retrieval.answer import Answer, answer
from retrieval.corpus import CorpusError, Passage
from retrieval.index import Index
from retrieval.store import load_or_build

log = logging.getLogger(__name__)

# Discord's limits on autocomplete: 25 choices, each value at most 100 characters.
CHOICES = 25
CHOICE_CHARS = 100
# A line number has at most this many digits (leading zeros aside): no corpus file has a
# billion lines, and a 5,000-digit "line" is refused before it is ever turned into an int.
MAX_LINE_DIGITS = 9
TOP_LEVEL = ""  # the folder name of files at the top of the corpus folder
TOP_LEVEL_LABEL = "(top level)"  # how the summary shows them; `sources .` lists them
FINGERPRINT_BYTES = 8
# "More" under an answer: this many passages ranked after the ones shown.
MORE_PASSAGES = 3

_LINE = re.compile(r"([0-9]+)(?:-[0-9]+)?")  # [0-9], not \d: '²' and '٣' are not line numbers
_LINE_SUFFIX = re.compile(r"(.*?)(:[0-9]+(?:-[0-9]+)?)?", re.S)

HELP = """\
**citebot** answers questions from {files} documents with quotes and `file:line` citations.
`{p}ask <question>` or `/ask` — answer a question (or mention me with the question)
`{p}source <file> [line]` or `/source` — show the passage at a citation, e.g. \
`{p}source guide/install.md:37`
`{p}sources [folder]` or `/sources` — the folders, or the files in one folder
`{p}help` or `/help` — this message
Owners: `{p}sync [guild|global]` publishes the slash commands (`{p}sync clear` removes \
this guild's copies); `{p}reload` re-reads the documents."""


LOST_FILES_SHOWN = 5


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _some(names: Sequence[str]) -> str:
    """A few names for a one-line message; the rest counted."""
    shown = ", ".join(names[:LOST_FILES_SHOWN])
    more = len(names) - LOST_FILES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    message: str


# -- what `source` and `sources` find; bot/render.py words them --------------------------


@dataclass(frozen=True)
class NotFound:
    """No file by that name, or a name that is refused (`..`, absolute, backslashes)."""

    name: str


@dataclass(frozen=True)
class Ambiguous:
    """A base name (or path tail) that several files share."""

    name: str
    candidates: tuple[str, ...]


@dataclass(frozen=True)
class BadLine:
    """The line asked for is not a number from 1 to `last`."""

    file: str
    last: int


@dataclass(frozen=True)
class PastTheEnd:
    file: str
    line: int
    last: int


SourceResult = Passage | NotFound | Ambiguous | BadLine | PastTheEnd


@dataclass(frozen=True)
class Folder:
    name: str  # a top-level folder, or TOP_LEVEL for the files beside them
    files: int
    passages: int


@dataclass(frozen=True)
class FolderSummary:
    folders: tuple[Folder, ...]


@dataclass(frozen=True)
class FileList:
    """Files with their passage counts: the whole corpus (folder ""), the top level (".") or
    everything under a folder, as paths from the corpus folder."""

    folder: str
    files: dict[str, int]


@dataclass(frozen=True)
class NoFolder:
    name: str


Listing = FolderSummary | FileList | NoFolder


def clean_name(name: str) -> str | None:
    """A typed file or folder name as a corpus path (`./a//b` is `a/b`), or None when it is
    refused: absolute, `..`, backslashes, control characters. Only the index is ever consulted,
    never the file system, so this is a second line of defence and a clear answer."""
    cleaned = name.strip().strip("`").strip()
    if (
        not cleaned
        or cleaned.startswith("/")
        or "\\" in cleaned
        or any(ord(c) < 32 or ord(c) == 127 for c in cleaned)
    ):
        return None
    path = PurePosixPath(cleaned)
    if ".." in path.parts:
        return None
    return path.as_posix()


def parse_line(spec: int | str) -> int | None:
    """A 1-based line number from `37` or `37-41` (the start), or None for anything else:
    `0`, `-1`, `abc`, non-ASCII digits, absurdly many digits."""
    if isinstance(spec, int):
        return spec if spec >= 1 else None
    match = _LINE.fullmatch(spec.strip())
    if match is None:
        return None
    digits = match.group(1).lstrip("0")
    if not digits or len(digits) > MAX_LINE_DIGITS:
        return None
    return int(digits)


@dataclass(frozen=True)
class FileInfo:
    passages: int
    last_line: int  # the last line a passage of the file covers


class Catalog:
    """The files of one index: passage counts, last lines, and lookups by path, base name or
    path tail. Made from the passage spans, so no passage text is read."""

    def __init__(self, spans: Iterable[tuple[str, int, int]]) -> None:
        counts: dict[str, int] = {}
        last: dict[str, int] = {}
        for file, _, line_end in spans:
            counts[file] = counts.get(file, 0) + 1
            last[file] = max(last.get(file, 0), line_end)
        self.names = sorted(counts)
        self.info = {f: FileInfo(counts[f], last[f]) for f in self.names}
        self._folded = [f.casefold() for f in self.names]
        self._base_folded = [PurePosixPath(f).name.casefold() for f in self.names]
        self._by_base: dict[str, list[str]] = {}
        for f in self.names:
            self._by_base.setdefault(PurePosixPath(f).name, []).append(f)

    @classmethod
    def of(cls, index: Index) -> Catalog:
        return cls(index.passages.spans())

    @functools.cached_property
    def fingerprint(self) -> str:
        """Names the corpus an answer came from (files, passage counts, last lines): stored
        with each answer, so feedback can be told apart across corpus changes."""
        digest = hashlib.blake2b(digest_size=FINGERPRINT_BYTES)
        for name, info in self.info.items():
            digest.update(f"{name}\0{info.passages}\0{info.last_line}\n".encode())
        return digest.hexdigest()

    def lookup(self, path: str) -> list[str]:
        """Exact path, else the files whose path ends in `/path` (a base name, or a tail such
        as `v2/install.md`), else the same ignoring case."""
        if path in self.info:
            return [path]
        if "/" not in path:
            found = list(self._by_base.get(path, []))
        else:
            found = [f for f in self.names if f.endswith("/" + path)]
        if found:
            return found
        folded = path.casefold()
        exact = [f for f, k in zip(self.names, self._folded, strict=True) if k == folded]
        return exact or [
            f for f, k in zip(self.names, self._folded, strict=True) if k.endswith("/" + folded)
        ]

    def starting(self, key: str) -> Iterator[str]:
        return (f for f, k in zip(self.names, self._folded, strict=True) if k.startswith(key))

    def base_starting(self, key: str) -> Iterator[str]:
        return (
            f for f, k in zip(self.names, self._base_folded, strict=True) if k.startswith(key)
        )

    def holding(self, key: str) -> Iterator[str]:
        return (f for f, k in zip(self.names, self._folded, strict=True) if key in k)

    def short_name(self, file: str, max_len: int) -> str | None:
        """`file`, or if longer than `max_len` its longest tail that fits and names only it."""
        if len(file) <= max_len:
            return file
        parts = file.split("/")
        for k in range(1, len(parts)):
            tail = "/".join(parts[k:])
            if len(tail) <= max_len and self.lookup(tail) == [file]:
                return tail
        return None

    def folders(self) -> list[Folder]:
        """One entry per top-level folder, and one (TOP_LEVEL) for the files beside them."""
        files: dict[str, int] = {}
        passages: dict[str, int] = {}
        for name, info in self.info.items():
            top = name.split("/", 1)[0] if "/" in name else TOP_LEVEL
            files[top] = files.get(top, 0) + 1
            passages[top] = passages.get(top, 0) + info.passages
        return [Folder(name, files[name], passages[name]) for name in sorted(files)]

    def under(self, folder: str) -> dict[str, int]:
        """Every file below `folder` (at any depth), exact case first, else ignoring case."""
        prefix = folder + "/"
        found = {f: i.passages for f, i in self.info.items() if f.startswith(prefix)}
        if found:
            return found
        folded = prefix.casefold()
        return {
            f: self.info[f].passages
            for f, k in zip(self.names, self._folded, strict=True)
            if k.startswith(folded)
        }


class Library:
    def __init__(self, settings: Settings, corpus: Path | None = None) -> None:
        self.settings = settings
        self.corpus = corpus or settings.corpus
        self.limiter = RateLimiter(
            settings.user_rate, settings.user_per, settings.channel_rate, settings.channel_per
        )
        self._index: Index | None = None
        self._catalog: tuple[Index, Catalog] | None = None
        self._reloading = asyncio.Lock()

    @property
    def index(self) -> Index:
        if self._index is None:
            raise RuntimeError("the index is not loaded yet")
        return self._index

    @property
    def ready(self) -> bool:
        return self._index is not None

    def _build(self) -> tuple[Index, Catalog]:
        # The catalog is made here, off the event loop: on a large corpus it takes a moment.
        index = load_or_build(self.corpus, self.settings.ranking(), self.settings.cache_dir).index
        return index, Catalog.of(index)

    def load(self) -> Index:
        """Blocking load; front ends call it off the event loop."""
        self._index, catalog = self._build()
        self._catalog = (self._index, catalog)
        return self._index

    async def reload(self, confirm: bool = False) -> ReloadResult:
        """Rebuild from disk. The old index answers until the new one is ready, and a failed
        rebuild leaves it in place. A rebuild that lost files the old index had (deleted,
        unreadable, or vanished mid-build) is kept aside unless `confirm`: the owner says
        that the smaller corpus is what they want."""
        async with self._reloading:
            started = time.perf_counter()
            try:
                fresh, catalog = await asyncio.to_thread(self._build)
            except CorpusError as exc:
                return ReloadResult(False, f"Reload failed, still using the old index: {exc}")
            except Exception as exc:
                log.exception("reload failed")
                return ReloadResult(
                    False, f"Reload failed, still using the old index: {type(exc).__name__}"
                )
            lost = sorted(set(self._index.files) - set(fresh.files)) if self._index else []
            if lost and not confirm:
                return ReloadResult(
                    False,
                    f"Not reloaded: the documents now lack {_count(len(lost), 'file')} the "
                    f"index has ({_some(lost)}); still using the old index. If that is "
                    "intended, reload with `confirm`.",
                )
            self._index, self._catalog = fresh, (fresh, catalog)
            took = time.perf_counter() - started
            dropped = f" ({_count(len(lost), 'file')} fewer: {_some(lost)})" if lost else ""
            return ReloadResult(
                True,
                f"Reloaded: {_count(len(fresh.files), 'file')}, "
                f"{_count(len(fresh.passages), 'passage')} in {took:.1f} s{dropped}.",
            )

    def ask(self, question: str) -> Answer:
        return answer(self.index, question, self.settings.answering())

    def more(self, question: str, shown: Sequence[str], extra: int = MORE_PASSAGES) -> Answer:
        """The next passages for a question: ranked after those already shown (by their
        citations), at most `extra` of them. Whether it was answered is asked again."""
        cfg = replace(self.settings.answering(), top_k=len(shown) + extra)
        found = answer(self.index, question, cfg)
        seen = set(shown)
        rest = [p for p in found.passages if p.citation not in seen][:extra]
        return Answer(
            found.question, found.answered, rest, reason=found.reason, missing=found.missing,
            unmatched=found.unmatched,
        )

    def corpus_id(self) -> str:
        """The fingerprint of the live index's corpus (see Catalog.fingerprint)."""
        return self.catalog().fingerprint

    def catalog(self) -> Catalog:
        """The file catalog of the live index, made once per index (see `_build`)."""
        index = self.index
        if self._catalog is None or self._catalog[0] is not index:
            self._catalog = (index, Catalog.of(index))
        return self._catalog[1]

    def files(self) -> dict[str, int]:
        """Every file with its passage count, sorted by path."""
        return {name: info.passages for name, info in self.catalog().info.items()}

    def resolve_file(self, name: str) -> list[str]:
        """The corpus files `name` stands for: one when it names a file, several when it is
        ambiguous, none when unknown or refused (see `clean_name`)."""
        cleaned = clean_name(name)
        return [] if cleaned is None else self.catalog().lookup(cleaned)

    def source(self, name: str, line: int | str | None = None) -> SourceResult:
        """The passage at `file[:line[-line]]` (or `line`, which wins over one in the name),
        or why there is none."""
        files = self.resolve_file(name)
        spec: int | str | None = line
        if not files and ":" in name:
            head, _, tail = name.strip().strip("`").rpartition(":")
            files = self.resolve_file(head)
            if spec is None and tail.strip():
                spec = tail
        if not files:
            return NotFound(name)
        if len(files) > 1:
            return Ambiguous(name, tuple(files))
        file = files[0]
        last = self.catalog().info[file].last_line
        passages = self.index.find(file)
        if spec is None:
            return passages[0]
        wanted = parse_line(spec)
        if wanted is None:
            return BadLine(file, last)
        if wanted > last:
            return PastTheEnd(file, wanted, last)
        # A line between two passages (a blank line, a dropped one) shows the next passage.
        return next(p for p in passages if wanted <= p.line_end)

    def sources(self, folder: str = "") -> Listing:
        """`sources [folder]`: a folder summary (or every file of a corpus without folders or
        with a single one), the files under one folder, or NoFolder."""
        catalog = self.catalog()
        if not folder.strip():
            folders = catalog.folders()
            if len(folders) > 1:
                return FolderSummary(tuple(folders))
            return FileList(folders[0].name if folders else "", self.files())
        typed = folder.strip().strip("`").strip()
        if typed in (".", TOP_LEVEL_LABEL):
            top = {f: n for f, n in self.files().items() if "/" not in f}
            return FileList(".", top) if top else NoFolder(folder)
        # A folder is only a prefix of indexed paths, so a leading "/" is harmless here.
        cleaned = clean_name(typed.strip("/"))
        found = catalog.under(cleaned) if cleaned else {}
        if not cleaned or not found:
            return NoFolder(folder)
        # As the corpus spells it, when it was found ignoring case.
        return FileList(next(iter(found))[: len(cleaned)], found)

    def complete_file(
        self, typed: str, limit: int = CHOICES, max_len: int = CHOICE_CHARS
    ) -> list[str]:
        """Autocomplete values: paths that start with `typed`, then paths whose base name does,
        then paths holding it anywhere (case-insensitive). A `:line` typed after a path is kept,
        and a path too long for a choice is offered by the longest tail that fits and names it
        alone (see Catalog.short_name)."""
        match = _LINE_SUFFIX.fullmatch(typed.strip().strip("`"))
        base, suffix = (match.group(1), match.group(2) or "") if match else (typed, "")
        key = base.strip().casefold()
        catalog = self.catalog()
        out: list[str] = []
        seen: set[str] = set()
        for group in (catalog.starting(key), catalog.base_starting(key), catalog.holding(key)):
            for file in group:
                if file in seen:
                    continue
                seen.add(file)
                value = catalog.short_name(file, max_len - len(suffix))
                if value is not None:
                    out.append(value + suffix)
                    if len(out) == limit:
                        return out
        return out

    def help_text(self, prefix: str) -> str:
        return HELP.format(p=prefix, files=len(self.index.files) if self.ready else "the")
