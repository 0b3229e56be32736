"""Files to passages: paragraph chunking with line numbers, headlines and page chrome."""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from retrieval.analyze import fold, normalize
from retrieval.documents.markdown import page_name, read_markdown
from retrieval.documents.rst import rst_to_commonmark
from retrieval.documents.windows import LINE_END, PASSAGE_CHARS, windows

log = logging.getLogger(__name__)

# Markdown in its common spellings (MDX is Markdown with JSX, whose tags and imports the
# reader drops); plain text, and AsciiDoc, whose paragraphs and headlines the plain-text
# rules read well enough.
MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd", ".mdx")
# reStructuredText is rewritten into CommonMark line for line (`documents/rst.py`) and read
# by the Markdown reader: sections, code and directives as a Sphinx page means them.
RST_SUFFIXES = (".rst", ".rest")
SUFFIXES = (".txt", ".text", ".adoc", *RST_SUFFIXES, *MARKDOWN_SUFFIXES)

# Page furniture that clippings carry along. Matched against a whole, case-folded paragraph
# (exactly, or as its start) so a real sentence that merely mentions the words is kept.
BOILERPLATE = (
    "skip to content",
    "read more",
    "read also",
    "read next",
    "latest",
    "related",
    "advertisement",
    "share this",
    "subscribe",
    "sign up for",
    "be the first to comment",
    "leave a reply",
    "leave a comment",
    "your email address will not be published",
    "required fields are marked",
    "this site uses akismet",
    "disclaimer:",
    "all rights reserved",
)
# Disclaimers that sit inside an otherwise ordinary sentence.
BOILERPLATE_ANYWHERE = (
    "does not provide investment advice",
    "contains affiliate links",
    "this site uses akismet",
)

_BULLET = re.compile(r"^\s*(?:[•*\-–]|\d{1,2}[.)])\s+")
_URL = re.compile(r"https?://\S+")
_CLOSING = ".!?…)]\"'"


class CorpusError(Exception):
    """The corpus folder cannot be used; the message is meant for the user."""


@dataclass(frozen=True)
class Passage:
    """One paragraph of one file. Lines are 1-based and inclusive."""

    file: str
    line_start: int
    line_end: int
    ordinal: int
    text: str
    heading: str = ""
    reference: bool = False

    @property
    def citation(self) -> str:
        if self.line_start == self.line_end:
            return f"{self.file}:{self.line_start}"
        return f"{self.file}:{self.line_start}-{self.line_end}"

    def body_for_index(self) -> str:
        """The paragraph without its URLs, which would flood the index with slug words."""
        return index_body(self.text)


def index_body(text: str) -> str:
    return _URL.sub(" ", text)


def folded_index_body(text: str, folded: str) -> str:
    """`fold(index_body(text))`, given `folded = fold(text)`: a text without "://" holds no
    URL to take out, so its fold serves as it is."""
    return fold(index_body(text)) if "://" in text else folded


@dataclass(frozen=True)
class _Block:
    line_start: int
    line_end: int
    text: str


# How much of a file's start is checked for NUL bytes: text never has one, and binaries
# (executables, images, archives) have one within the first few KB.
BINARY_SNIFF_BYTES = 8192
# Control characters (C0, DEL, C1): never shown in a file name, where a newline could forge
# a log line or break a `file:line` citation.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def display_name(name: str) -> str:
    """A file name as it is cited, shown and stored: bytes that are not UTF-8 (which Python
    keeps as lone surrogates) and control characters become U+FFFD, so the name can always be
    encoded, printed and logged on one line. The real name is kept for reading the file."""
    return _CONTROL.sub("\ufffd", os.fsencode(name).decode("utf-8", "replace"))


def is_inside(real_root: str, path: str | Path) -> bool:
    """Whether a path's real location (every link resolved) is `real_root` or under it."""
    return within(real_root, os.path.realpath(path))


def within(real_root: str, real: str) -> bool:
    return real == real_root or real.startswith(os.path.join(real_root, ""))


class CorpusFiles(list[Path]):
    """The corpus files to read, with warnings about what the listing left out."""

    def __init__(self, paths: Iterable[Path] = (), warnings: Iterable[str] = ()) -> None:
        super().__init__(paths)
        self.warnings = list(warnings)


def _is_corpus_name(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(SUFFIXES)


def corpus_files(folder: Path) -> CorpusFiles:
    """The corpus files in a stable order; one-line errors for an unusable folder.

    Only regular files whose real path is inside the folder are listed. A link that leads out
    of it is left out with a warning naming it, whatever it points at. A link to a file inside
    is read, but a file is never listed twice: under its own name when the walk finds it.
    Links to folders are not followed (what they lead to inside the folder is walked anyway),
    so a link loop cannot trap the walk. Unreadable sub-folders are skipped with a warning,
    and so is a file whose printable name (`display_name`) another file already has."""
    if not folder.exists():
        raise CorpusError(f"corpus folder not found: {folder}")
    if not folder.is_dir():
        raise CorpusError(f"corpus path is not a folder: {folder}")
    real_root = os.path.realpath(folder)
    warnings: list[str] = []
    files: list[Path] = []
    links: list[Path] = []  # links to files inside the folder

    def shown(path: Path) -> str:
        return display_name(path.relative_to(folder).as_posix())

    pending = [folder]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as exc:
            if directory == folder:
                raise CorpusError(f"cannot read corpus folder {folder}: {exc.strerror}") from exc
            warnings.append(
                f"{shown(directory)}/: skipped, cannot read the folder ({exc.strerror})"
            )
            continue
        for entry in entries:
            path = directory / entry.name
            try:
                if entry.is_symlink():
                    wanted = _is_corpus_name(entry.name)
                    if not is_inside(real_root, path):
                        if wanted or os.path.isdir(path):
                            warnings.append(
                                f"{shown(path)}: skipped, it links to outside the corpus folder"
                            )
                    elif wanted and path.is_file():
                        links.append(path)
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(path)
                elif _is_corpus_name(entry.name) and entry.is_file(follow_symlinks=False):
                    files.append(path)
            except OSError:  # gone or unreadable since the folder was listed: not a corpus file
                continue
    if links:
        files = _add_links(files, links)
    found: list[Path] = []
    names: set[str] = set()
    for path in sorted(files):
        name = shown(path)
        if name in names:
            warnings.append(f"{name}: skipped, another file has this name once made printable")
            continue
        names.add(name)
        found.append(path)
    if not found:
        left_out = f" ({len(warnings)} left out; {warnings[0]})" if warnings else ""
        raise CorpusError(f"no .txt or .md files in corpus folder {folder}{left_out}")
    return CorpusFiles(found, warnings)


def _add_links(files: list[Path], links: list[Path]) -> list[Path]:
    """The files plus the links to files not listed already (each real file once)."""

    def identity(path: Path) -> tuple[int, int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return st.st_dev, st.st_ino

    seen = {identity(path) for path in files}
    out = list(files)
    for link in sorted(links):
        same = identity(link)
        if same is not None and same not in seen:
            seen.add(same)
            out.append(link)
    return out


def read_text(
    path: Path,
    warnings: list[str],
    name: str | None = None,
    seen: Callable[[bytes], None] | None = None,
) -> str | None:
    """A corpus file's text, or None with a warning naming it (`name`, else its printable base
    name) when it cannot be read, is not a regular file or holds binary data. `seen` is
    given the bytes read, before any check, so a caller can fingerprint exactly those."""
    label = display_name(path.name) if name is None else name
    try:
        # O_NONBLOCK: a file swapped for a FIFO since the listing must not hang the build
        # (it changes nothing for a regular file).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with open(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                warnings.append(f"{label}: skipped, not a regular file")
                return None
            raw = fh.read()
    except FileNotFoundError:
        warnings.append(f"{label}: skipped, it was removed after the folder was listed")
        return None
    except OSError as exc:
        warnings.append(f"{label}: skipped, cannot read it ({exc.strerror or exc})")
        return None
    if seen is not None:
        seen(raw)
    if raw.find(b"\0", 0, BINARY_SNIFF_BYTES) >= 0:
        warnings.append(f"{label}: skipped, binary data (NUL bytes), not text")
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        warnings.append(f"{label}: not valid UTF-8, undecodable bytes shown as \ufffd")
        return raw.decode("utf-8", errors="replace")


def is_chrome(text: str) -> bool:
    """Page chrome: boilerplate phrases, punctuation-only lines, lone words."""
    return _is_chrome_folded(fold(text))


def _is_chrome_folded(folded: str) -> bool:
    folded = folded.strip(" \t*•-")
    if not folded or not any(ch.isalpha() for ch in folded):
        return True
    if len(folded.split(None, 1)) < 2 and folded[-1] not in _CLOSING:
        return True
    if len(folded) < 200 and any(
        # A one-word phrase ("latest") must be the whole line; longer ones may lead it.
        folded.rstrip(".:!") == phrase
        or (" " in phrase and re.match(re.escape(phrase) + r"(?!\w)", folded))
        for phrase in BOILERPLATE
    ):
        return True
    return len(folded) < 400 and any(phrase in folded for phrase in BOILERPLATE_ANYWHERE)


def is_headline(text: str) -> bool:
    """A short line with no closing punctuation, or a short label ending in a colon."""
    stripped = text.strip().lstrip("#").strip()
    if not stripped or len(stripped) > 120 or _BULLET.match(text):
        return False
    folded = normalize(stripped)
    if folded.endswith(":"):
        return len(folded.split()) <= 6
    inner = folded.strip("\"'")
    return bool(inner) and inner[-1] not in ".!?…" and len(folded.split()) <= 16


def is_reference(text: str) -> bool:
    """A bibliography entry: "[1] Source. (2022...)" or a line carried by a URL."""
    stripped = text.strip()
    if re.match(r"^\[\d+\]", stripped):
        return True
    urls = _URL.findall(stripped)
    return bool(urls) and sum(len(u) for u in urls) > len(stripped) / 3


_MINOR_WORDS = frozenset("a an and as at by for from in into of on or the to with vs".split())


def is_title_line(text: str) -> bool:
    """A markdown heading, or a Title Case line without closing punctuation: a headline even
    with no blank line under it. Hard-wrapped prose lines are rarely Title Case."""
    stripped = text.strip()
    if stripped.startswith("#"):
        return True
    if not is_headline(stripped) or stripped.endswith((",", ";", ":", "-")):
        return False
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", stripped) if w.lower() not in _MINOR_WORDS]
    capitalised = sum(1 for w in words if w[0].isupper())
    return len(words) >= 2 and capitalised >= 0.8 * len(words)


def _blocks(lines: list[str]) -> list[_Block]:
    """Paragraph blocks. A blank line ends one; in files that never use blank lines between
    paragraphs, every line is one; a bullet or numbered item always starts one, and a title
    line (see `is_title_line`) that opens a block is a block of its own."""
    content = [i for i, line in enumerate(lines) if line.strip()]
    uses_blank_lines = any(b - a > 1 for a, b in itertools.pairwise(content))
    blocks: list[_Block] = []
    current: list[tuple[int, str]] = []

    last = [0]  # the block's last line, which a repeated line extends past its text

    def flush() -> None:
        if current:
            text = " ".join(t for _, t in current)
            end = max(current[-1][0], last[0])
            if len(text) <= PASSAGE_CHARS:
                blocks.append(_Block(current[0][0] + 1, end + 1, text))
            else:
                blocks.extend(_long_block(current, text))
            current.clear()

    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        starts_new = (
            not uses_blank_lines
            or _BULLET.match(line) is not None
            or stripped.startswith("#")
        )
        if starts_new:
            flush()
        if current and normalize(current[-1][1]) == normalize(stripped):
            # A line repeated straight after itself: keep one copy, widen the span.
            last[0] = i
            continue
        if len(current) == 1 and is_title_line(current[0][1]):
            flush()
        current.append((i, stripped))
        last[0] = i
    flush()
    return blocks


def _long_block(lines: list[tuple[int, str]], text: str) -> list[_Block]:
    """A block over the size cap, cut into windows along sentences, each with its lines."""
    marks: list[tuple[int, int]] = []
    offset = 0
    for i, line in lines:
        marks.append((offset, i + 1))
        offset += len(line) + 1
    return [
        _Block(w.line_start, w.line_end, text[w.start : w.end]) for w in windows(text, marks)
    ]


# The characters other than line ends that str.splitlines breaks at, read as spaces inside
# a line (see LINE_END).
_INLINE_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def source_lines(text: str) -> list[str]:
    """The file's lines as a citation numbers them."""
    lines = text.splitlines()
    ends = text.count("\n") + text.count("\r") - text.count("\r\n")
    if len(lines) == ends + (not text.endswith(("\n", "\r")) and bool(text)):
        return lines  # the usual file: splitlines broke at line ends only
    lines = LINE_END.split(_INLINE_BREAKS.sub(" ", text))
    return lines[:-1] if lines and lines[-1] == "" else lines


def is_markdown(name: str) -> bool:
    """Whether the Markdown reader reads the file (reStructuredText included)."""
    return name.lower().endswith((*MARKDOWN_SUFFIXES, *RST_SUFFIXES))


@dataclass(frozen=True)
class Block:
    """A paragraph block that is not page chrome, with what the sequential pass needs."""

    line_start: int
    line_end: int
    text: str
    # Digest of the case- and space-folded text: the duplicate test across files. Keeping
    # digests instead of the texts saves a corpus-sized set on large corpora.
    key: bytes
    # A headline followed by a real paragraph: it heads that paragraph if it is kept.
    headline: bool
    # `analyze.fold(text)`, computed for the checks here and reused to find the words.
    folded: str
    # Markdown: the heading path above the block, and the code that goes with it; both are
    # searched as fields of their own (see `index.py`).
    section: str = ""
    code: str = ""
    reference: bool = False

    @property
    def heading(self) -> str:
        return heading_text(self.text)


def heading_text(text: str) -> str:
    return text.strip().lstrip("#").strip()


def dedup_key(text: str) -> bytes:
    return _dedup_key_folded(fold(text))


# The whitespace characters of ASCII text other than the space.
_ASCII_SPACES = ("\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


def _single_spaced(text: str) -> bool:
    """Whether splitting on whitespace and joining with spaces would give the text back."""
    if "  " in text or text[:1] == " " or text[-1:] == " ":
        return False
    if text.isascii():  # a few substring searches cost less than isprintable's scan
        return not any(space in text for space in _ASCII_SPACES)
    # Every whitespace character but the space is unprintable.
    return text.isprintable()


def _dedup_key_folded(folded: str) -> bytes:
    spaced = folded if _single_spaced(folded) else " ".join(folded.split())
    return hashlib.blake2b(spaced.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def scan(text: str, name: str = "") -> tuple[list[Block], int]:
    """The non-chrome blocks of one file and how many chrome blocks were dropped. Depends on
    the file alone, so files can be scanned in parallel; `assemble` then runs in order."""
    if is_markdown(name):
        return _scan_markdown(text, name)
    blocks = _blocks(source_lines(text))
    folded = [fold(b.text) for b in blocks]  # shared by the checks and the word count
    chrome = [_is_chrome_folded(f) for f in folded]
    out: list[Block] = []
    for n, block in enumerate(blocks):
        if chrome[n]:
            continue
        headline = (
            n + 1 < len(blocks)
            and is_headline(block.text)
            and not is_headline(blocks[n + 1].text)
            and not chrome[n + 1]
        )
        out.append(
            Block(
                block.line_start,
                block.line_end,
                block.text,
                _dedup_key_folded(folded[n]),
                headline,
                folded[n],
                reference=is_reference(block.text),  # here, not per block downstream
            )
        )
    return out, len(blocks) - len(out)


def _scan_markdown(text: str, name: str) -> tuple[list[Block], int]:
    if name.lower().endswith(RST_SUFFIXES):
        text = rst_to_commonmark(text)
    found = read_markdown(text, page=page_name(name))
    out: list[Block] = []
    for block in found:
        folded = fold(block.text)
        # A label with code under it ("Example:") holds that code: it is no page chrome.
        if not block.code and _is_chrome_folded(folded):
            continue
        out.append(
            Block(
                block.line_start,
                block.line_end,
                block.text,
                _dedup_key_folded(folded),
                False,
                folded,
                block.section,
                block.code,
                block.reference or is_reference(block.text),
            )
        )
    return out, len(found) - len(out)


@dataclass(frozen=True)
class Kept:
    """One block that becomes a passage, and the headline block heading it, if any."""

    block: int
    heading: int | None


def assemble(
    keys: Sequence[bytes], headlines: Sequence[bool], seen: set[bytes]
) -> tuple[list[Kept], int]:
    """Which of a file's blocks become passages, in order, and how many were duplicates.

    A headline is not a passage of its own (a short line of keywords outranks real
    paragraphs in BM25); it heads the paragraph under it, whose span then starts at it.
    """
    kept: list[Kept] = []
    dropped = 0
    heading: int | None = None
    for n, key in enumerate(keys):
        if key in seen:
            dropped += 1
            continue
        seen.add(key)
        if headlines[n]:
            heading = n
            continue
        kept.append(Kept(n, heading))
        heading = None
    return kept, dropped
