"""reStructuredText rewritten into CommonMark line for line, so the Markdown reader gives a
Sphinx or docutils page the same structure as a Markdown one: sections from its underlined
titles, code from its code directives and `::` literal blocks, prose from its admonitions,
and no directive markup or targets as passages. Every line stays at its number, so
citations point at the source file's lines.
"""

from __future__ import annotations

import re

from retrieval.documents.windows import LINE_END

# A title's underline (or overline): one punctuation character repeated, at least twice.
_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+<>:._])\1+$")
# What a table border or a transition is made of (besides spaces).
BORDER_CHARS = frozenset("=-~^+|:.*#")
# `.. name:: argument`, and a comment or target (`.. _label:`, `.. |sub| replace:: …`).
_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\.[ \t]+(?P<name>[\w:.-]{1,64})::[ \t]*(?P<arg>.*)$")
_EXPLICIT = re.compile(r"^[ \t]*\.\.(?:[ \t]|$)")
CODE_DIRECTIVES = frozenset({"code-block", "code", "sourcecode", "highlight", "parsed-literal"})
# Directives whose body is prose, read as paragraphs under the current title.
PROSE_DIRECTIVES = frozenset(
    {
        "note", "warning", "tip", "important", "caution", "danger", "attention", "hint",
        "error", "seealso", "admonition", "versionadded", "versionchanged", "deprecated",
        "topic", "sidebar", "rubric", "epigraph", "highlights", "pull-quote", "container",
        "only",
    }
)
# What a version directive says, as a sentence ("which version added X" finds it).
# With a body it leads the body's first sentence ("New in version 3.18: Arguments may …").
VERSION_NOTES = {
    "versionadded": "New in version {}",
    "versionchanged": "Changed in version {}",
    "deprecated": "Deprecated since version {}",
}
# Roles whose text is prose ("see :ref:`the guide <guide>`"); the others name code.
PROSE_ROLES = frozenset(
    {"ref", "doc", "term", "abbr", "guilabel", "menuselection", "numref", "title", "emphasis",
     "strong", "sub", "sup"}
)
# Inline markup, found across the lines of a paragraph. Repeats are bounded: a long line of
# colons or backticks must not cost time quadratic in its length.
_ROLE = re.compile(r":(?P<role>[\w.+-]{1,32}(?::[\w.+-]{1,32})?):`(?P<text>[^`<]{0,300}?)"
                   r"(?:\s{0,20}<[^>`]{0,300}>)?`")
_LITERAL = re.compile(r"``(?P<text>[^`]{1,300}?)``")
_LINK = re.compile(r"`(?P<text>[^`<]{1,300}?)\s{0,20}<(?P<url>[^>`]{1,500})>`__?")
_REFERENCE = re.compile(r"`(?P<text>[^`<]{1,300}?)`__?")
_CODE_SPAN = re.compile(r"(`[^`\n]*`)")
_ENUMERATED = re.compile(r"^#\.(\s)")
_OPTION = re.compile(r"^[ \t]*:[\w-]{1,64}:(?:\s.*)?$")
CODE_INDENT = "    "
# An underline may fall a character or two short of its title (wide characters, slips).
TITLE_SLACK = 2
MAX_LEVEL = 6


def _kept_lines(found: re.Match[str], replacement: str) -> str:
    """The replacement with as many line breaks as the markup it replaces."""
    return replacement + "\n" * max(0, found.group(0).count("\n") - replacement.count("\n"))


def _escape_html(text: str) -> str:
    """`<CONFIG>` outside code is text, not an HTML tag for the Markdown reader to drop."""
    return "".join(
        part if part.startswith("`") else part.replace("<", "\\<")
        for part in _CODE_SPAN.split(text)
    )


def _inline(text: str) -> str:
    """A paragraph's markup as CommonMark (links, roles, literals), line breaks kept."""
    text = _LINK.sub(lambda m: _kept_lines(m, f"[{m['text']}]({m['url']})"), text)
    text = _ROLE.sub(
        lambda m: _kept_lines(
            m, m["text"] if m["role"].split(":")[-1] in PROSE_ROLES else f"`{m['text']}`"
        ),
        text,
    )
    text = _LITERAL.sub(lambda m: f"`{m['text']}`", text)
    text = _REFERENCE.sub(lambda m: m["text"], text)
    return "\n".join(_escape_html(line) for line in text.split("\n"))


def _indent(line: str) -> int:
    expanded = line.expandtabs()
    return len(expanded) - len(expanded.lstrip())


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """The index after the indented block that starts at `start`: its lines are blank or
    indented deeper than `indent`."""
    i = start
    while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
        i += 1
    return i


def _as_code(lines: list[str], out: list[str], start: int, end: int) -> None:
    """Lines start..end-1 as an indented code block (RST puts a blank line before one)."""
    for j in range(start, end):
        out[j] = CODE_INDENT + lines[j].expandtabs() if lines[j].strip() else ""


def _is_border(stripped: str) -> bool:
    return len(stripped) >= 2 and set(stripped) <= BORDER_CHARS | {" "} and stripped[0] != " "


def rst_to_commonmark(source: str) -> str:
    """The page in CommonMark, each line at its number."""
    lines = LINE_END.split(source)  # as the Markdown reader counts them
    out = list(lines)
    prose: set[int] = set()  # lines whose inline markup is read, paragraph by paragraph
    levels: dict[tuple[str, bool], int] = {}  # a title style's level, in order of use
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        directive = _DIRECTIVE.match(line)
        if directive:
            indent = _indent(line)
            end = _block_end(lines, i + 1, indent)
            name = directive["name"].split(":")[-1]
            body = i + 1
            while body < end and _OPTION.match(lines[body]):
                out[body] = ""
                body += 1
            out[i] = ""
            if name in CODE_DIRECTIVES:
                _as_code(lines, out, body, end)
            elif name in PROSE_DIRECTIVES:
                arg = directive["arg"].strip()
                said = VERSION_NOTES.get(name)
                stop = ":" if any(lines[j].strip() for j in range(body, end)) else "."
                if name == "rubric" and arg:  # an informal heading, as Markdown writes one
                    out[i] = f"**{arg}**"
                else:
                    out[i] = said.format(arg) + stop if said and arg else arg
                prose.add(i)
                i = body  # the body is read as the page is: prose, code, nested directives
                continue
            else:  # images, tables of contents, includes, raw output, …
                for j in range(body, end):
                    out[j] = ""
            i = end
            continue
        if _EXPLICIT.match(line):  # a comment, a target, a substitution
            end = _block_end(lines, i + 1, _indent(line))
            for j in range(i, end):
                out[j] = ""
            i = end
            continue
        if stripped == "::" or (stripped.endswith("::") and stripped.strip(":")):
            # "text::" introduces a literal block: "text:" and then code.
            out[i] = stripped[:-1].rstrip() if stripped != "::" else ""
            prose.add(i)
            start = i + 1
            while start < len(lines) and not lines[start].strip():
                start += 1
            if start > i + 1 and start < len(lines) and _indent(lines[start]) > _indent(line):
                end = _block_end(lines, start, _indent(line))
                _as_code(lines, out, start, end)
                i = end
                continue
            i += 1
            continue
        under = lines[i + 1].strip() if i + 1 < len(lines) else ""
        title = _ADORNMENT.match(under)
        if (
            stripped and title and not _ADORNMENT.match(stripped)
            and len(under) >= len(stripped) - TITLE_SLACK
        ):
            above = lines[i - 1].strip() if i > 0 else ""
            over = bool(_ADORNMENT.match(above)) and above[0] == title.group(1)
            level = levels.setdefault((title.group(1), over), len(levels) + 1)
            out[i] = "#" * min(level, MAX_LEVEL) + " " + _inline(stripped)
            out[i + 1] = ""
            if over:
                out[i - 1] = ""
            i += 2
            continue
        if _is_border(stripped):
            out[i] = ""
            i += 1
            continue
        # Indentation is RST's nesting (definitions, block quotes, list bodies); in
        # CommonMark four spaces would make code, so prose lines start at the margin.
        out[i] = _ENUMERATED.sub(r"1.\1", stripped)
        prose.add(i)
        i += 1
    _read_inline(out, prose)
    return "\n".join(out)


def _read_inline(out: list[str], prose: set[int]) -> None:
    """Inline markup of each run of prose lines, read as one text, so a role or link that
    breaks across lines is read whole."""
    runs: list[list[int]] = []
    for i in sorted(prose):
        if not out[i].strip():
            continue
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        text = _inline("\n".join(out[j] for j in run))
        for j, line in zip(run, text.split("\n"), strict=True):
            out[j] = line
