"""Answer to Discord message text: quote blocks, the answer sentence in bold, citations in
code format, never over Discord's 2,000 characters.

Corpus text is untrusted. It keeps the docs' inline code (a balanced `x` span is shown as
code) and everything else is escaped; mentions are defused, and the message is also sent with
AllowedMentions.none(). A quote is one block whatever the text holds: every line of it starts
with "> ", line breaks of any kind start such a line, and no code span crosses a line."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

import discord

from bot.service import (
    TOP_LEVEL,
    TOP_LEVEL_LABEL,
    Ambiguous,
    BadLine,
    FileList,
    FolderSummary,
    Listing,
    NotFound,
    SourceResult,
)
from retrieval.answer import Answer, AnswerPassage
from retrieval.corpus import Passage

LIMIT = 2000
# A quote is never cut below this; if even that does not fit, quotes go before citations do.
MIN_QUOTE = 40
# A section path or a name longer than this is cut: the quote and the citation matter more.
MAX_HEADING = 150
MAX_NAME = 150
# Candidates listed for an ambiguous file name.
MAX_CANDIDATES = 10
QUOTE = "> "
SECTION = "§ "
NOT_FOUND = "No such file in the corpus. Use `sources` to list the files."
SOURCES_HINT = "`sources <folder>` lists the files of a folder."
MORE_HEAD = "More passages, ranked after the ones above:"
MORE_HEAD_NOT_ANSWER = "More of the closest passages (not an answer):"
NO_MORE = "No more passages for that question."

_MENTION = re.compile(r"<(?=[@#][!&]?\d)")
# Inline code as the docs wrote it: a run of one or two backticks closed by a run of the same
# length on the same line. Longer runs (```) never open code here, so they are escaped.
_CODE = re.compile(r"(?<!`)(`{1,2})(?!`)([^\n]+?)(?<!`)\1(?!`)")
# Discord's line breaks and the ones Python's splitlines knows: each starts a new "> " line.
_BREAKS = str.maketrans(dict.fromkeys("\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029", "\n"))
# Escaped wherever they are: emphasis, code, spoilers, strike, masked links, and the escape
# character itself. Discord shows a backslash-escaped punctuation mark as the mark.
_MARKDOWN = re.compile(r"[\\*_~|`\[\]]")
# Escaped at the start of a piece of text (pieces start lines): quotes, headings, subtext and
# lists.
_LINE_START = re.compile(r"^(\s*(?:[0-9]+(?=\.\s))?)([>#+-]|(?<=[0-9])\.)")
# URLs stay as they are so that they still link (Discord does not parse markdown in them), but
# characters that could open code or a spoiler, or escape what follows, are percent-encoded.
_URL = re.compile(r"<[^: >]+:/[^ >]+>|(?:https?|steam)://[^\s<]+[^<.,:;\"'\]\s]")
_URL_UNSAFE = str.maketrans({"`": "%60", "|": "%7C", "\\": "%5C", "[": "%5B", "]": "%5D"})
# Backticks in a code span that would otherwise need a fence of three (a code block).
_TICK = "ʹ"


def _defuse(text: str) -> str:
    text = discord.utils.escape_mentions(text)
    # Short ids and channel/role links are not caught by escape_mentions.
    return _MENTION.sub("<\u200b", text)


def _one_line(text: str) -> str:
    return " ".join(text.translate(_BREAKS).split("\n"))


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _escape_line(text: str) -> str:
    """One line of text shown literally: markdown escaped, mentions defused, URLs kept."""
    out: list[str] = []
    pos = 0
    for m in _URL.finditer(text):
        out.append(_MARKDOWN.sub(r"\\\g<0>", text[pos : m.start()]))
        out.append(m.group().translate(_URL_UNSAFE))
        pos = m.end()
    out.append(_MARKDOWN.sub(r"\\\g<0>", text[pos:]))
    return _defuse(_LINE_START.sub(r"\1\\\2", "".join(out)))


def escape(text: str) -> str:
    """Text shown literally on one line: no markdown, no code, no mentions."""
    return _escape_line(_one_line(text))


def code_span(text: str) -> str:
    """`text` as one inline code span, whatever backticks it holds; no mentions in it."""
    text = _one_line(text) or " "
    if "`" not in text:
        fenced = f"`{text}`"
    elif "``" not in text:
        # A double fence holds single backticks; the spaces keep a leading or trailing one
        # off the fence.
        fenced = f"`` {text} ``"
    else:
        fenced = "`" + text.replace("`", _TICK) + "`"
    return _defuse(fenced)


def render_inline(text: str) -> str:
    """One line of corpus text: its balanced code spans as code, the rest escaped."""
    # Defused again as a whole: a mention could be split across two pieces.
    return _defuse("".join(_pieces(_one_line(text))))


def _pieces(line: str) -> Iterable[str]:
    pos = 0
    for m in _CODE.finditer(line):
        if m.start() > pos:
            yield _escape_line(line[pos : m.start()])
        yield code_span(m.group(2))
        pos = m.end()
    if pos < len(line):
        yield _escape_line(line[pos:])


def _normalise(text: str) -> str:
    # Same length out as in, so the mark's offsets stay valid: "\r\n" becomes " \n".
    return text.replace("\r\n", " \n").translate(_BREAKS)


def _bold(rendered: str) -> str:
    core = rendered.strip()
    if not core:
        return rendered
    lead = rendered[: len(rendered) - len(rendered.lstrip())]
    trail = rendered[len(rendered.rstrip()) :]
    return f"{lead}**{core}**{trail}"


def quote(text: str, mark_start: int = 0, mark_end: int = 0) -> str:
    """`text` as one quote block, [mark_start, mark_end) in bold (widened so that it never
    cuts a code span). Bold never spans two lines, so each line carries its own."""
    text = _normalise(text)
    start, end = max(0, min(mark_start, len(text))), max(0, min(mark_end, len(text)))
    end = max(start, end)
    spans = [(m.start(), m.end(), m.group(2)) for m in _CODE.finditer(text)]
    for lo, hi, _ in spans:
        if lo < start < hi:
            start = lo
        if lo < end < hi:
            end = hi
    # Cut points: code spans, the mark and line breaks; each piece is rendered on its own.
    cuts = {0, len(text), start, end}
    cuts.update(x for lo, hi, _ in spans for x in (lo, hi))
    cuts.update(i for i, c in enumerate(text) if c == "\n")
    cuts.update(i + 1 for i, c in enumerate(text) if c == "\n")
    code = {lo: body for lo, _, body in spans}
    lines: list[list[tuple[str, bool]]] = [[]]
    bounds = sorted(cuts)
    for lo, hi in itertools.pairwise(bounds):
        piece = text[lo:hi]
        if piece == "\n":
            lines.append([])
        elif piece:
            rendered = code_span(code[lo]) if lo in code else _escape_line(piece)
            lines[-1].append((rendered, start <= lo and hi <= end and start < end))
    # Defused again as a whole: the mark could have cut a mention in two.
    return "\n".join(QUOTE + _defuse(_join(pieces)) for pieces in lines)


def _join(pieces: list[tuple[str, bool]]) -> str:
    """One line's rendered pieces, each run of marked ones in one bold span."""
    out = ""
    for marked, run in itertools.groupby(pieces, key=lambda piece: piece[1]):
        text = "".join(rendered for rendered, _ in run)
        out += _bold(text) if marked else text
    return out


def section(heading: str) -> str:
    """The line above a quote naming its section path, or "" when there is none."""
    heading = _one_line(heading).strip()
    return SECTION + render_inline(_clip(heading, MAX_HEADING)) if heading else ""


def _trim(text: str, budget: int, start: int, end: int) -> tuple[str, int, int]:
    """Cut text to `budget` characters, keeping as much of [start, end) as fits."""
    if len(text) <= budget:
        return text, start, end
    budget = max(budget, 2)
    if end - start >= budget - 2:
        cut = text[start : start + budget - 2].rsplit(" ", 1)[0] or text[start : start + budget - 2]
        return "…" + cut + "…", 1, 1 + len(cut)
    room = budget - (end - start) - 2
    lo = max(0, start - room // 2)
    hi = min(len(text), lo + budget - 2)
    lo = max(0, hi - (budget - 2))
    out = ("…" if lo > 0 else "") + text[lo:hi] + ("…" if hi < len(text) else "")
    shift = (1 if lo > 0 else 0) - lo
    return out, start + shift, end + shift


def _quote_block(p: AnswerPassage, budget: int) -> str:
    text, s, e = _trim(p.quote, budget, p.mark_start, p.mark_end)
    return quote(text, s, e)


def _layout(a: Answer, budgets: list[int], headings: bool = True, start: int = 1) -> str:
    lines: list[str] = []
    if not a.answered:
        # The message may name words of the question: no mention in it may look live.
        lines.append(_defuse(a.message or "I couldn't find that in the documents."))
        if a.passages:
            lines.append("Closest passages (not an answer):")
    elif a.message:  # answered around a word the documents lack: say which
        lines.append(_defuse(a.message))
    for n, (p, budget) in enumerate(zip(a.passages, budgets, strict=True), start):
        head = section(p.heading) if headings else ""
        if head:
            lines.append(head)
        lines.append(_quote_block(p, budget))
        lines.append(f"[{n}] {code_span(p.citation)}")
    if a.disagreement is not None:
        sides = [
            f"{escape(v.value)} ({', '.join(code_span(c) for c in v.citations)})"
            for v in a.disagreement.variants
        ]
        lines.append("⚠️ The sources differ: " + " vs ".join(sides) + ".")
    return "\n".join(lines)


def render_answer(a: Answer, limit: int = LIMIT, start: int = 1) -> str:
    """Quotes are trimmed evenly until the whole message fits; then the section lines go;
    citations always stay. Passages are numbered from `start`."""
    budgets = [len(p.quote) for p in a.passages]
    text = _layout(a, budgets, start=start)
    while len(text) > limit and any(b > MIN_QUOTE for b in budgets):
        over = len(text) - limit
        longest = max(range(len(budgets)), key=budgets.__getitem__)
        budgets[longest] = max(MIN_QUOTE, budgets[longest] - max(over, 20))
        text = _layout(a, budgets, start=start)
    if len(text) > limit:
        text = _layout(a, budgets, headings=False, start=start)
    if len(text) > limit:
        # Pathological (huge citations): only the start of the message is left to show.
        text = text[: limit - 1] + "…"
    return text


def render_more(a: Answer, shown: int, limit: int = LIMIT) -> str:
    """The reply to "More": the passages ranked after the `shown` ones, numbered on from
    them. Never a "not found" message: the answer above already said that."""
    if not a.passages:
        return NO_MORE
    head = MORE_HEAD if a.answered else MORE_HEAD_NOT_ANSWER
    rest = Answer(a.question, True, a.passages)
    return head + "\n" + render_answer(rest, limit - len(head) - 1, start=shown + 1)


def render_passage(p: Passage, limit: int = LIMIT) -> str:
    """The section line, the passage as a quote (its start when too long) and its citation."""
    head = section(p.heading)
    citation = code_span(p.citation)
    budget = len(p.text)
    while True:
        body, _, _ = _trim(p.text, budget, 0, 0)
        text = "\n".join(x for x in (head, quote(body), citation) if x)
        if len(text) <= limit or budget <= MIN_QUOTE:
            break
        budget = max(MIN_QUOTE, budget - max(len(text) - limit, 20))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_source(found: SourceResult, limit: int = LIMIT) -> str:
    """The reply to `source`: the passage, or why there is none."""
    if isinstance(found, Passage):
        return render_passage(found, limit)
    if isinstance(found, NotFound):
        return NOT_FOUND
    if isinstance(found, Ambiguous):
        header = (
            f"{code_span(_clip(found.name.strip(), MAX_NAME))} matches "
            f"{len(found.candidates)} files; give its path:"
        )
        lines = [code_span(_clip(c, MAX_NAME)) for c in found.candidates]
        return _fit([header], lines, limit, cap=MAX_CANDIDATES)
    if isinstance(found, BadLine):
        return (
            f"The line must be a number from 1 to {found.last} in "
            f"{code_span(_clip(found.file, MAX_NAME))}."
        )
    return (
        f"{code_span(_clip(found.file, MAX_NAME))} has no passage at line {found.line} "
        f"(it has lines up to {found.last})."
    )


def _fit(
    head: list[str],
    lines: list[str],
    limit: int,
    cap: int | None = None,
    noun: str = "",
    tail: Iterable[str] = (),
) -> str:
    """`head`, then as many of `lines` as fit (at most `cap`), then "… and N more[ noun]" for
    the rest, then `tail`; room for the last two is kept."""
    footer = list(tail)
    shown: list[str] = []
    size = sum(len(x) + 1 for x in [*head, *footer])
    reserve = len(f"… and {len(lines)} more{noun}") + 1
    for k, line in enumerate(lines):
        room = limit - size - (0 if k == len(lines) - 1 else reserve)
        if (cap is not None and len(shown) == cap) or len(line) + 1 > room:
            break
        shown.append(line)
        size += len(line) + 1
    out = head + shown
    if len(shown) < len(lines):
        out.append(f"… and {len(lines) - len(shown)} more{noun}")
    text = "\n".join(out + footer)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def render_sources(files: dict[str, int], limit: int = LIMIT, folder: str = "") -> str:
    """Files with their passage counts, as many as fit, then "… and N more"."""
    n_files, n_passages = _count(len(files), "file"), _count(sum(files.values()), "passage")
    if folder == ".":
        head = f"{TOP_LEVEL_LABEL}: {n_files}, {n_passages}:"
    elif folder:
        head = f"{code_span(_clip(folder, MAX_NAME) + '/')}: {n_files}, {n_passages}:"
    else:
        head = f"{n_files} in the corpus, {n_passages}:"
    lines = [
        f"{code_span(_clip(name, MAX_NAME))} — {_count(count, 'passage')}"
        for name, count in sorted(files.items())
    ]
    return _fit([head], lines, limit)


def render_folders(summary: FolderSummary, limit: int = LIMIT) -> str:
    """One line per top-level folder; when they do not all fit, the biggest ones."""
    folders = list(summary.folders)
    files = sum(f.files for f in folders)
    passages = sum(f.passages for f in folders)
    head = f"{_count(files, 'file')}, {_count(passages, 'passage')} in these folders:"

    def line(name: str, n_files: int, n_passages: int) -> str:
        shown = TOP_LEVEL_LABEL if name == TOP_LEVEL else code_span(_clip(name, MAX_NAME) + "/")
        return f"{shown} — {_count(n_files, 'file')}, {_count(n_passages, 'passage')}"

    # Alphabetical with the top level last when all fit, else biggest first.
    ordered = sorted(folders, key=lambda f: (f.name == TOP_LEVEL, f.name))
    lines = [line(f.name, f.files, f.passages) for f in ordered]
    text = "\n".join([head, *lines, SOURCES_HINT])
    if len(text) <= limit:
        return text
    ordered = sorted(folders, key=lambda f: (-f.files, -f.passages, f.name))
    lines = [line(f.name, f.files, f.passages) for f in ordered]
    return _fit([head], lines, limit, noun=" folders", tail=[SOURCES_HINT])


def render_listing(listing: Listing, limit: int = LIMIT) -> str:
    """The reply to `sources [folder]`."""
    if isinstance(listing, FolderSummary):
        return render_folders(listing, limit)
    if isinstance(listing, FileList):
        return render_sources(listing.files, limit, listing.folder)
    return (
        f"No folder {code_span(_clip(listing.name.strip(), MAX_NAME))} in the corpus. "
        "`sources` lists the folders."
    )
