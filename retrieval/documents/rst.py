"""reStructuredText rewritten into CommonMark line for line, so the Markdown reader gives a
Sphinx or docutils page the same structure as a Markdown one: sections from its underlined
titles, code from its code directives and `::` literal blocks, prose from its admonitions,
and no directive markup or targets as passages. Every line stays at its number (closing
fences reuse the blank line that ends a block, or go after the last line), so citations
point at the source file's lines.
"""

from __future__ import annotations

import re

# A title's underline (or overline): one punctuation character repeated.
_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+<>:._])\1{2,}\s*$")
# A border of a simple or grid table, or a transition: punctuation runs and spaces only.
_BORDER = re.compile(r"^\s*[=\-~^+|:.*#]{2,}[=\-~^+| :.*#]*\s*$")
# `.. name:: argument`, and a comment or target (`.. _label:`, `.. |sub| replace:: …`).
_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\.\s+(?P<name>[\w:.-]+)::\s*(?P<arg>.*)$")
_EXPLICIT = re.compile(r"^\s*\.\.(?:\s|$)")
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
_ROLE = re.compile(r":(?P<role>[\w:.+-]+):`(?P<text>[^`]*?)(?:\s*<[^>`]*>)?`")
_LITERAL = re.compile(r"``(?P<text>[^`]+?)``")
_LINK = re.compile(r"`(?P<text>[^`<]+?)\s*<(?P<url>[^>`]+)>`__?")
_REFERENCE = re.compile(r"`(?P<text>[^`<]+?)`__?")
_ENUMERATED = re.compile(r"^#\.(\s)")
_LINE_END = re.compile(r"\r\n?|\n")
_OPTION = re.compile(r"^\s*:[\w-]+:(?:\s.*)?$")
CODE_INDENT = "    "
# An underline may fall a character or two short of its title (wide characters, slips).
TITLE_SLACK = 2
MAX_LEVEL = 6


def _inline(line: str) -> str:
    line = _LINK.sub(lambda m: f"[{m['text']}]({m['url']})", line)
    line = _ROLE.sub(
        lambda m: m["text"] if m["role"].split(":")[-1] in PROSE_ROLES else f"`{m['text']}`",
        line,
    )
    line = _LITERAL.sub(lambda m: f"`{m['text']}`", line)
    return _REFERENCE.sub(lambda m: m["text"], line)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


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
        out[j] = CODE_INDENT + lines[j] if lines[j].strip() else ""


def rst_to_commonmark(source: str) -> str:
    """The page in CommonMark, each line at its number."""
    # Lines as the Markdown reader counts them: at "\n", "\r\n" or a lone "\r" only.
    lines = _LINE_END.split(source)
    out = list(lines)
    levels: dict[tuple[str, bool], int] = {}  # a title style's level, in order of use
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        directive = _DIRECTIVE.match(line)
        if directive:
            indent = len(directive["indent"])
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
                out[i] = said.format(arg) + stop if said and arg else _inline(arg)
                for j in range(body, end):
                    out[j] = _inline(lines[j].strip())
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
        if _BORDER.match(line):
            out[i] = ""
            i += 1
            continue
        if stripped.endswith("::"):
            # "text::" introduces a literal block: "text:" and then code.
            out[i] = _inline(stripped[:-1].rstrip()) if stripped != "::" else ""
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
        # Indentation is RST's nesting (definitions, block quotes, list bodies); in
        # CommonMark four spaces would make code, so prose lines start at the margin.
        out[i] = _ENUMERATED.sub(r"1.\1", _inline(stripped))
        i += 1
    return "\n".join(out)
