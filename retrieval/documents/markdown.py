"""Markdown files to prose blocks, each with its source lines and the heading path above it.

A CommonMark parser (markdown-it-py) does the reading; its block tokens carry their source
lines. A block is a paragraph, a group of list items, one table row (with its column
names), or a paragraph of a block quote or admonition. Headings are not blocks: they form the
section path every block below them carries. Code is not prose: it goes with the prose block
before it (or after it, at the top of a section) as searchable text of its own. Include
directives, diagram sources, HTML blocks, images and front matter other than the title are
dropped.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline, backtick
from markdown_it.token import Token
from mdit_py_plugins.admon import admon_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from retrieval.documents.dialects import to_commonmark
from retrieval.documents.windows import PASSAGE_CHARS, windows

SECTION_SEPARATOR = " › "
# Fenced code in these languages is a drawing, not code anyone asks about.
DIAGRAM_LANGUAGES = frozenset({"mermaid", "plantuml", "puml", "dot", "graphviz", "ditaa", "svg"})
# Include and templating directives of common documentation tools (mdBook, MkDocs snippets,
# Jinja/Liquid, Hugo shortcodes): they stand for text that is not in the file.
# Every repeat in these patterns is bounded, so a hostile line of a million openers is
# scanned in linear time, not to its end once per opener.
_DIRECTIVE = re.compile(
    r"\{\{#[^}\n]{0,500}\}\}|\{%.{0,500}?%\}|\{\{<.{0,500}?>\}\}|\{\{%.{0,500}?%\}\}"
    r"|\{\{[^{}\n]{0,500}\}\}|^[ \t]*-+8<-+.*$",
    re.MULTILINE,
)
# In code only includes stand for text that is not there: templates are the code's own.
_CODE_DIRECTIVE = re.compile(r"\{\{#[^}\n]{0,500}\}\}|^[ \t]*-+8<-+.*$", re.MULTILINE)
# One-word emoji codes that documentation uses (in tables, as yes and no).
EMOJI = ("x", "warning", "bulb", "rocket", "tada", "memo", "star", "sparkles", "bug", "fire",
         "zap", "construction", "heart", "eyes", "smile", "wrench", "lock", "link", "tick")
# Attribute lists (`## Setup { #setup }`, `{: .note }`, `{ .annotate }`) and icon
# shortcodes (`:material-check:`, `:octicons-tag-24:`) of MkDocs and kramdown: styling.
_ATTRIBUTE = (
    r"""(?:[#.][\w-]{1,64}|[\w-]{1,64}=(?:"[^"\n]{0,200}"|'[^'\n]{0,200}'|[^\s}"']{1,200}))"""
)
_STYLING = re.compile(
    rf" ?\{{:[^}}\n]{{0,200}}\}}| ?\{{ *{_ATTRIBUTE}(?: +{_ATTRIBUTE}){{0,15}} *\}}"
    # Emoji and icon shortcodes; not the `::` of paths such as std::io::Read.
    # A one-word code is an emoji only if it is a common one (":memory:" is SQLite's).
    r"| ?(?<![:\w]):(?:[a-z][a-z0-9]{0,40}[_+-][a-z0-9_+-]{1,80}|"
    + "|".join(EMOJI)
    + r"):(?![:\w])"
    # MDX comments and heading ids (`{/* #setup */}`), FastAPI's source includes
    # (`{* ../src/app.py hl[2] *}`), GitHub's callout labels (`[!NOTE]`), footnote marks.
    r"| ?\{/\*.{0,500}?\*/\}| ?\{\*.{0,500}?\*\}|\[!(?:NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]"
    r"|\[\^[^\]\s]{1,64}\]:?"
)
# A reference link whose reference is defined elsewhere (MkDocs autorefs, Sphinx
# cross-references) is left as "[text][target]" by the parser: its text is what shows.
_UNRESOLVED_LINK = re.compile(
    r"\[([^\[\]\n]{1,500})\]\[(?:[\w.:/#-]{0,200}[A-Za-z_][\w.:/#-]{0,200})?\]"
)
# A MyST role's name, as the end of the text before a code span.
_ROLE = re.compile(r"\{[a-z][\w:.-]{0,40}\}$")
# Kinds of notes and tips (admonitions, containers, callouts): as a title they say nothing.
BOX_KINDS = frozenset(
    """note tip hint info important warning caution attention danger error success check
    done question help faq failure fail missing bug example quote cite abstract summary tldr
    todo seealso details admonition dropdown""".split()
)
# A container's kind and title: `tip[Use the CLI]`, `info Meta-Only`, `{note} Title`.
_CONTAINER_TITLE = re.compile(r"\{?[\w-]+\}?\s*(?:\[(.*)\]|(.*))$")
# List items are grouped into one block up to this many characters: a lone short item has
# too few words to be found, a whole long list too many to quote.
LIST_GROUP_CHARS = 800
# A short paragraph that only labels what follows ("**Metric names:**") leads the next block.
LEAD_IN_WORDS = 8
ITEM_MARK = "• "
# A nested list's item starts a line of its own in its item's text, so each option of a
# parameter list is a sentence of its own, not run on into its neighbours.
SUBITEM_MARK = "◦ "
# Blocks that a paragraph ending in a colon introduces, however long it is.
INTRODUCED = ("bullet_list_open", "ordered_list_open", "blockquote_open")
# The title in YAML (`title: Setup`) or TOML (`title = "Setup"`) front matter.
_YAML_TITLE = re.compile(r"^title\s*[:=]\s*(.+?)\s*$", re.MULTILINE)
# An MDX module line (`import Tabs from '@theme/Tabs';`, `export const x = ...`): code.
_MDX_STATEMENT = re.compile(r"^(?:import|export)\s+\S.*(?:\sfrom\s+['\"]|[;=])", re.DOTALL)


@dataclass(frozen=True)
class MarkdownBlock:
    line_start: int  # 1-based, inclusive
    line_end: int
    text: str
    section: str
    code: str = ""
    # A list whose items are all links (a table of contents, a link list): kept searchable
    # at a lower weight, as bibliography entries are.
    reference: bool = False


@dataclass
class _Piece:
    text: str
    marks: list[tuple[int, int]]  # (offset in text, 1-based source line)
    section: str
    code: list[str] = field(default_factory=list)
    reference: bool = False


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = (
        MarkdownIt("commonmark")
        .enable("table")
        .use(front_matter_plugin)
        .use(admon_plugin)
        # `Term` then `:   definition` (MkDocs, Pandoc): the term introduces its definition.
        .use(deflist_plugin)
        # `::: note` … `:::` blocks (Docusaurus, VuePress, MyST): their body is prose.
        .use(container_plugin, name="any", validate=lambda *_: True)
    )
    md.inline.ruler.at("backticks", _code_span)
    return md


def _code_span(state: StateInline, silent: bool) -> bool:
    """markdown-it's code span rule, noting in the token's meta how many line breaks the span
    held: its content has them as spaces, and the lines of the text after it need them."""
    start, before = state.pos, len(state.tokens)
    found = backtick(state, silent)
    if len(state.tokens) > before and state.tokens[-1].type == "code_inline":
        state.tokens[-1].meta["lines"] = state.src.count("\n", start, state.pos)
    return found


def _hidden_breaks(token: Token) -> int:
    """Source line breaks inside an inline token that has no break token for them: a code
    span, an image's alt text, inline HTML (`<!--\nignore -->`)."""
    if token.type == "code_inline":
        lines: int = token.meta.get("lines", 0)
        return lines
    if token.type in ("image", "html_inline"):
        return token.content.count("\n")
    return 0


def strip_directives(text: str) -> str:
    return _STYLING.sub("", _DIRECTIVE.sub(" ", text))


def _joined_text(children: list[Token]) -> list[Token]:
    """Inline children with neighbouring text tokens joined: the parser cuts text at
    characters such as `:`, and markup to strip (`:material-check:`) may span the cuts."""
    out: list[Token] = []
    for child in children:
        if child.type == "text" and out and out[-1].type == "text":
            out[-1] = Token("text", "", 0, content=out[-1].content + child.content)
        else:
            out.append(child)
    return out


# A paragraph all in bold of at most this many words, not ending as a sentence or a lead-in
# does, is a heading written in bold ("**Definition**"), one level under the last real one.
PSEUDO_HEADING_WORDS = 8
PSEUDO_HEADING_LEVEL = 7


class _Inline:
    """One inline token as shown text: code spans keep their backticks, links show their
    text, emphasis and images and inline HTML go. Records where each source line starts."""

    def __init__(self, token: Token, line: int) -> None:
        parts: list[str] = []
        self.marks: list[tuple[int, int]] = [(0, line)]
        self.all_link = True  # every word sits inside a link
        self.bold_only = True  # every word sits inside strong emphasis ("**Definition**")
        size = 0
        in_link = 0
        in_strong = 0
        code_spans: list[tuple[int, int]] = []  # where code spans sit in the text
        for child in _joined_text(token.children or []):
            kind = child.type
            piece = ""  # images (their alt text is in their children) and HTML show nothing
            if kind == "text":
                piece = strip_directives(child.content)
            elif kind == "code_inline":
                piece = f"`{child.content}`" if "`" not in child.content else child.content
                # A MyST role's name before its code span ({kbd}`Ctrl`) is markup.
                if parts and (role := _ROLE.search(parts[-1])):
                    size -= len(parts[-1]) - role.start()
                    parts[-1] = parts[-1][: role.start()]
                code_spans.append((size, size + len(piece)))
            elif kind in ("softbreak", "hardbreak"):
                piece = " "
                line += 1
                self.marks.append((size + 1, line))
            elif kind == "link_open":
                in_link += 1
            elif kind == "link_close":
                in_link -= 1
            elif kind == "strong_open":
                in_strong += 1
            elif kind == "strong_close":
                in_strong -= 1
            if piece.strip() and not in_link and kind != "softbreak":
                self.all_link = False
            if piece.strip() and not in_strong:
                self.bold_only = False
            parts.append(piece)
            size += len(piece)
            hidden = _hidden_breaks(child)
            if hidden:  # the text after this token starts that many lines further down
                line += hidden
                self.marks.append((size, line))
        text = "".join(parts)
        if "][" in text:
            text, self.marks = _link_texts(text, self.marks, code_spans)
        self.text, self.marks = tidy(text, self.marks)


def _link_texts(
    text: str, marks: list[tuple[int, int]], code_spans: list[tuple[int, int]]
) -> tuple[str, list[tuple[int, int]]]:
    """Unresolved reference links as their text (not brackets inside code, such as
    `grid[row][col]`); the marks follow the text."""
    out: list[str] = []
    ends: list[int] = []  # offsets in the old text after which `cut[i]` characters are gone
    cut: list[int] = []
    last = 0
    for m in _UNRESOLVED_LINK.finditer(text):
        if any(lo <= m.start() < hi for lo, hi in code_spans):
            continue
        out.append(text[last : m.start()])
        out.append(m.group(1))
        cut.append((cut[-1] if cut else 0) + len(m.group(0)) - len(m.group(1)))
        ends.append(m.end())
        last = m.end()
    out.append(text[last:])

    def moved(offset: int) -> int:
        n = bisect.bisect_right(ends, offset)
        return offset - (cut[n - 1] if n else 0)

    return "".join(out), [(moved(o), line) for o, line in marks]


def tidy(text: str, marks: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """Runs of white space as one space, none at the ends; the marks follow the text."""
    if " ".join(text.split()) == text:  # the usual case, checked in C
        return text, marks
    out: list[str] = []
    new_offset: list[int] = []  # for each old offset, its offset in the tidied text
    size = 0
    space = True  # drops leading space
    for ch in text:
        new_offset.append(size)
        if ch.isspace():
            if not space:
                out.append(" ")
                size += 1
            space = True
        else:
            out.append(ch)
            size += 1
            space = False
    new_offset.append(size)
    if out and out[-1] == " ":
        out.pop()
    tidied = "".join(out)
    moved = [(min(new_offset[o], max(len(tidied) - 1, 0)), line) for o, line in marks]
    return tidied, moved


def _title_of_front_matter(content: str) -> str:
    m = _YAML_TITLE.search(content)
    if not m:
        return ""
    return m.group(1).strip().strip("\"'")


class _Reader:
    def __init__(self, page: str = "") -> None:
        self.pieces: list[_Piece] = []
        self.title = ""
        self.page = page
        self.headings: list[tuple[int, str]] = []
        self.pending_code: list[str] = []
        # A lead-in waiting for the block it introduces: its text and line marks.
        self.lead: tuple[str, list[tuple[int, int]]] | None = None

    @property
    def section(self) -> str:
        names = [name for _, name in self.headings]
        title = self.title or self.page
        if title and (not names or names[0] != title):
            names.insert(0, title)
        return SECTION_SEPARATOR.join(names)

    def heading(self, level: int, text: str, real: bool = True) -> None:
        """A heading (`real`), or a line in bold that stands for one."""
        text = " ".join(strip_directives(text).split())
        if not text:
            return
        self.flush_lead()  # a lead-in with nothing under it in its section stands alone
        opened = any(lv < PSEUDO_HEADING_LEVEL for lv, _ in self.headings)
        if real and not self.pieces and not opened:
            # A page that opens with a heading names itself, whatever its level: the file's
            # name ("ch10-03-lifetime-syntax") is only for a page that opens with prose.
            self.page = ""
        self.headings = [(lv, name) for lv, name in self.headings if lv < level]
        self.headings.append((level, text))
        self.pending_code = []

    def flush_lead(self) -> None:
        if self.lead is not None:
            text, marks = self.lead
            self.lead = None
            self.add(text, marks)

    def add(self, text: str, marks: list[tuple[int, int]], reference: bool = False) -> None:
        if self.lead is not None:
            text, marks = _after_lead(self.lead, text, marks)
            self.lead = None
            reference = False  # the lead-in is prose
        piece = _Piece(text, marks, self.section, self.pending_code, reference)
        self.pending_code = []
        self.pieces.append(piece)

    def code(self, text: str) -> None:
        text = _CODE_DIRECTIVE.sub(" ", text)
        if not text.strip():
            return
        # "Install it with:" and then code: the sentence introduces the code, not the
        # paragraph after it, so it stands as a passage of its own holding that code.
        self.flush_lead()
        last = self.pieces[-1] if self.pieces else None
        if last is not None and last.section == self.section:
            last.code.append(text)
        else:
            self.pending_code.append(text)

    def title_box(self, title: str, line: int) -> None:
        """A note's or tip's own title ("When using build environments") introduces its
        body; a bare kind ("Note", "Warning") is a label and goes."""
        title = " ".join(strip_directives(title).split())
        if title.lower() not in BOX_KINDS:
            self.introduce(title, line)

    def introduce(self, label: str, line: int) -> None:
        """A label (a box's title, a defined term) that leads the next block."""
        if not label:
            return
        self.flush_lead()
        self.lead = (label if label[-1] in ".:?!" else f"{label}:", [(0, line)])

    def paragraph(self, inline: _Inline, before_block: bool, top: bool = True) -> None:
        """A paragraph; `top`: of the page itself, not inside a quote, box or list."""
        text = inline.text
        words_in = len(text.split())
        if (
            top and inline.bold_only and words_in <= PSEUDO_HEADING_WORDS
            and text[-1:] not in ".!?:"
        ):
            # "**ResponseError Class**" alone: a heading written in bold, under the last one
            # ("**Note**" alone is a box's label, and goes; "**Example:**" leads what follows).
            if text.lower() not in BOX_KINDS:
                self.heading(PSEUDO_HEADING_LEVEL, text, real=False)
            return
        if not any(ch.isalpha() for ch in text) or _MDX_STATEMENT.match(text):
            return
        # A label ("Metric names:"), or a sentence that introduces the list or quote under
        # it ("… which we call unsafe superpowers. Those include:"), leads the next block.
        if text.endswith(":") and (before_block or len(text.split()) <= LEAD_IN_WORDS):
            marks = inline.marks
            if self.lead is not None:  # a lead-in of a lead-in ("Upgrading:", then "pip:")
                text, marks = _after_lead(self.lead, text, marks)
            self.lead = (text, marks)
            return
        # A paragraph of nothing but links is a link list (a table of contents, "see also").
        self.add(text, inline.marks, reference=inline.all_link)


def page_name(path: str) -> str:
    """A page's name from its file's: "setup/remote-write.md" is "remote write", and an
    index or readme page is named by its folder."""
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    if not parts:
        return ""
    stem = parts[-1].rsplit(".", 1)[0]
    if stem.lower() in ("index", "_index", "readme"):
        stem = parts[-2] if len(parts) > 1 else ""  # the folder's page; the root's has none
    return " ".join(stem.replace("_", " ").replace("-", " ").split())


def _after_lead(
    lead: tuple[str, list[tuple[int, int]]], text: str, marks: list[tuple[int, int]]
) -> tuple[str, list[tuple[int, int]]]:
    """A block's text after the lead-in that introduces it (on a line of its own before
    list items), with the marks of both."""
    before, before_marks = lead
    joined = f"{before}\n{text}" if text.startswith(ITEM_MARK) else f"{before} {text}"
    return joined, before_marks + [(o + len(before) + 1, ln) for o, ln in marks]


def _is_diagram(token: Token) -> bool:
    return token.info.strip().split(" ")[0].lower() in DIAGRAM_LANGUAGES


def _close_of(tokens: list[Token], i: int) -> int:
    """Index of the token closing the one opened at i."""
    depth = 0
    for j in range(i, len(tokens)):
        depth += tokens[j].nesting
        if depth == 0:
            return j
    return len(tokens) - 1


class _Item(NamedTuple):
    """One top-level list item: its text, where its source lines start in it (the first
    at offset 0, the item's own line), whether every word is a link, and its code."""

    text: str
    marks: list[tuple[int, int]]
    all_link: bool
    code: list[str]


def _list_items(tokens: list[Token], lo: int, hi: int) -> list[_Item]:
    """The top-level items of the list tokens[lo:hi+1]; paragraphs of an item join its
    text, and each item of a nested list is a line of it (SUBITEM_MARK)."""
    items: list[_Item] = []
    i = lo + 1
    while i < hi:
        tok = tokens[i]
        if tok.type == "list_item_open":
            end = _close_of(tokens, i)
            texts: list[str] = []
            marks = [(0, (tok.map[0] if tok.map else 0) + 1)]
            size = 0
            code: list[str] = []
            all_link = True
            in_title = False
            subitem = False  # a nested list's item opened, its text not yet read
            after_list = False  # a nested list closed: what follows starts a line
            for inner in tokens[i + 1 : end]:
                if inner.type.startswith("admonition_title"):
                    in_title = inner.nesting == 1
                elif inner.type == "list_item_open":
                    subitem = True
                elif inner.type in ("bullet_list_close", "ordered_list_close"):
                    after_list = True
                elif inner.type == "inline" and inner.map is not None and not in_title:
                    rendered = _Inline(inner, inner.map[0] + 1)
                    all_link = all_link and rendered.all_link
                    if rendered.text:  # tidied: joined by one space, the text stays tidy
                        # A nested item's line starts at its mark, where a window may start.
                        mark = SUBITEM_MARK if subitem and texts else ""
                        joint = ("\n" if mark or after_list else " ") if texts else ""
                        subitem = after_list = False
                        start = size + 1 if texts else 0
                        marks.extend(
                            (start + (len(mark) + o if o else 0), ln)
                            for o, ln in rendered.marks if start + o
                        )
                        texts.append(joint + mark + rendered.text)
                        size = start + len(mark) + len(rendered.text)
                elif inner.type in ("fence", "code_block") and not _is_diagram(inner):
                    code.append(inner.content)
            if texts:
                items.append(_Item("".join(texts), marks, all_link, code))
            i = end + 1
        else:
            i += 1
    return items


def read_markdown(
    source: str, limit: int = PASSAGE_CHARS, page: str = ""
) -> list[MarkdownBlock]:
    """The prose blocks of a Markdown file. `page`: the page's name (see `page_name`), its
    title when it has none of its own (front matter or a first-level heading)."""
    tokens = _parser().parse(to_commonmark(source))
    reader = _Reader(page)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        kind = tok.type
        if kind == "front_matter":
            reader.title = _title_of_front_matter(tok.content)
        elif kind == "heading_open":
            inline = tokens[i + 1]
            level = int(tok.tag[1:]) if tok.tag[1:].isdigit() else 6
            reader.heading(level, _Inline(inline, 1).text)
            if not reader.title and level <= 1:
                reader.title = reader.headings[-1][1] if reader.headings else ""
            i = _close_of(tokens, i)
        elif kind == "paragraph_open":
            inline = tokens[i + 1]
            end = _close_of(tokens, i)
            following = tokens[end + 1].type if end + 1 < len(tokens) else ""
            if inline.map is not None:
                reader.paragraph(
                    _Inline(inline, inline.map[0] + 1),
                    following in INTRODUCED,
                    top=tok.level == 0,
                )
            i = end
        elif kind in ("bullet_list_open", "ordered_list_open"):
            end = _close_of(tokens, i)
            _add_list(reader, _list_items(tokens, i, end))
            i = end
        elif kind == "table_open":
            end = _close_of(tokens, i)
            _add_table(reader, tokens[i : end + 1])
            i = end
        elif kind in ("fence", "code_block") and not _is_diagram(tok):
            reader.code(tok.content)
        elif kind == "admonition_title_open":
            title = tokens[i + 1]
            if title.type == "inline" and title.map is not None:
                reader.title_box(_Inline(title, title.map[0] + 1).text, title.map[0] + 1)
            i = _close_of(tokens, i)
        elif kind == "dt_open":
            term = tokens[i + 1]
            if term.type == "inline" and term.map is not None:
                reader.introduce(_Inline(term, term.map[0] + 1).text, term.map[0] + 1)
            i = _close_of(tokens, i)
        elif kind.startswith("container_") and kind.endswith("_open") and tok.map:
            found = _CONTAINER_TITLE.match(tok.info.strip())
            if found:
                reader.title_box(found.group(1) or found.group(2) or "", tok.map[0] + 1)
        i += 1
    reader.flush_lead()
    out: list[MarkdownBlock] = []
    for piece in reader.pieces:
        code = "\n".join(piece.code)
        for w in windows(piece.text, piece.marks, limit):
            out.append(
                MarkdownBlock(
                    w.line_start,
                    w.line_end,
                    piece.text[w.start : w.end],
                    piece.section,
                    code,
                    piece.reference,
                )
            )
            code = ""  # the code goes with the first window only
    return out


def _add_list(reader: _Reader, items: list[_Item]) -> None:
    reference = bool(items) and all(item.all_link for item in items)
    group: list[_Item] = []
    size = 0

    def flush() -> None:
        if not group:
            return
        parts: list[str] = []
        marks: list[tuple[int, int]] = []
        offset = 0
        for item in group:
            marks.append((offset, item.marks[0][1]))  # the bullet is on the item's first line
            marks.extend((offset + len(ITEM_MARK) + o, ln) for o, ln in item.marks[1:])
            parts.append(ITEM_MARK + item.text)
            offset += len(parts[-1]) + 1
        reader.add("\n".join(parts), marks, reference)
        for item in group:
            for snippet in item.code:
                reader.code(snippet)
        group.clear()

    for item in items:
        if group and size + len(item.text) > LIST_GROUP_CHARS:
            flush()
            size = 0
        group.append(item)
        size += len(item.text) + len(ITEM_MARK) + 1
    flush()


def _add_table(reader: _Reader, tokens: list[Token]) -> None:
    """One block per body row, each cell labelled with its column name."""
    header: list[str] = []
    row: list[str] = []
    line = 0
    in_head = False
    for tok in tokens:
        if tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            row = []
            line = (tok.map[0] if tok.map else 0) + 1
        elif tok.type == "inline":
            row.append(_Inline(tok, line).text)
        elif tok.type == "tr_close":
            if in_head:
                header = row
                continue
            cells = [
                f"{header[n]}: {cell}" if n < len(header) and header[n] else cell
                for n, cell in enumerate(row)
                if cell
            ]
            text = "; ".join(cells)
            if any(ch.isalpha() for ch in text):
                reader.add(text, [(0, line)])
