"""Documentation-tool syntax that CommonMark misreads, rewritten line for line before parsing.

MkDocs Material puts prose in content tabs (`=== "Linux"` and a body indented four spaces),
which CommonMark takes for an indented code block; MyST (Sphinx) writes admonitions as fenced
directives (```` ```{note} ````), which CommonMark takes for code; abbreviation definitions
(`*[HTML]: Hyper Text Markup Language`) are glossary markup, not prose. Every rewrite keeps
each line at its number, so citations still point at the source file's lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.documents.rst import VERSION_NOTES

# `=== "Label"` (pymdownx.tabbed; `===+` selects the tab, `===!` starts a new tab set).
_TAB = re.compile(r'^(?P<indent> *)===[+!]?[ \t]+"(?P<label>[^"\n]*)"[ \t]*$')
TAB_INDENT = 4
# A code fence: its character, length and info string.
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# A MyST directive's name in a fence's info string: ```{note} or ```{admonition} Title.
_DIRECTIVE = re.compile(r"^\{(?P<name>[\w:.-]+)\}")
# MyST directives whose body is prose; the others (code-block, literalinclude, toctree,
# math, mermaid, eval-rst, image, …) stay fenced and are read as code or dropped.
PROSE_DIRECTIVES = frozenset(
    {
        "admonition", "attention", "caution", "danger", "error", "hint", "important", "note",
        "seealso", "tip", "warning", "todo", "versionadded", "versionchanged", "deprecated",
        "dropdown", "tab-set", "tab-item", "card", "grid", "grid-item", "grid-item-card",
        "topic", "sidebar", "margin", "epigraph", "pull-quote", "highlights", "div",
        "rubric",
    }
)
# A directive option line (`:class: tip`) right after the opening fence.
_OPTION = re.compile(r"^\s*:[\w-]+:(?:\s.*)?$")
_ABBREVIATION = re.compile(r"^\*\[[^\]\n]+\]:")
# pymdownx.blocks (`/// note | Title` … `///`, FastAPI's docs): a container with a title.
_BLOCK = re.compile(
    r"^(?P<indent> {0,3})(?P<slashes>/{3,})[ \t]*(?P<name>[a-z-]*)[ \t]*(?:\|[ \t]*(?P<title>.*))?$"
)
# MyST colon fences (`:::{note}`): the parser reads them as containers; their options go.
_COLON_DIRECTIVE = re.compile(r"^\s*:{3,}\s*\{(?P<name>[\w:.-]+)\}")
# Hugo shortcodes around code (`{{< highlight go >}}`, `{{< code-toggle >}}`): fences.
_HUGO_CODE = re.compile(
    r"^\s*\{\{[<%]\s*/?\s*(?:highlight|code-toggle|code|codeblock)\b[^}]*(?<!/)[>%]\}\}\s*$"
)
# A MyST target (`(install-steps)=`, `(SSL Certificate Verification)=`): a label for
# cross-references.
_TARGET = re.compile(r"^\s*\([\w:./-]+(?: [\w:./-]+)*\)=\s*$")


@dataclass(frozen=True)
class _Fence:
    char: str
    size: int
    prose: bool  # a MyST prose directive, rewritten as a `:::` container


def _closes(line: str, fence: _Fence) -> bool:
    """Whether a line ends the fence: its character alone, at least as many times."""
    stripped = line.strip()
    return len(stripped) >= fence.size and set(stripped) == {fence.char}


def _dedent_tab(lines: list[str], start: int, indent: int) -> None:
    """Move the tab body under lines[start - 1] out by TAB_INDENT spaces."""
    body = " " * (indent + TAB_INDENT)
    for j in range(start, len(lines)):
        line = lines[j]
        if not line.strip():
            continue
        if not line.startswith(body):
            return
        lines[j] = line[:indent] + line[indent + TAB_INDENT :]


def to_commonmark(source: str) -> str:
    """The source with content tabs, MyST prose directives and abbreviation definitions
    rewritten as CommonMark (or dropped), every line kept at its number."""
    if not any(mark in source for mark in ("===", "{", "*[", "///", "+++", ")=")):
        return source  # the usual case: nothing to rewrite
    lines = source.split("\n")
    if lines[0].strip() == "+++":  # TOML front matter, as YAML's markers
        end = next((j for j in range(1, len(lines)) if lines[j].strip() == "+++"), None)
        if end is not None:
            lines[0] = lines[end] = "---"
    stack: list[_Fence] = []  # open fences, innermost last
    i = 0
    while i < len(lines):
        line = lines[i]
        inner = stack[-1] if stack else None
        if inner is not None and not inner.prose:  # inside code: only its end matters
            if _closes(line, inner):
                stack.pop()
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence and inner is not None and not fence.group("info").strip() and _closes(
            line, inner
        ):
            lines[i] = fence.group("indent") + ":" * inner.size
            stack.pop()
        elif fence and not (fence.group("fence")[0] == "`" and "`" in fence.group("info")):
            # (A backtick fence's info never holds a backtick: "```x```" is inline code.)
            mark, info = fence.group("fence"), fence.group("info").strip()
            directive = _DIRECTIVE.match(info)
            prose = directive is not None and directive.group("name") in PROSE_DIRECTIVES
            stack.append(_Fence(mark[0], len(mark), prose))
            if prose and directive is not None:
                title = _titled(directive.group("name"), info[directive.end() :].strip())
                opening = f"{fence.group('indent')}{':' * len(mark)} {directive.group('name')}"
                lines[i] = f"{opening} {title}" if title else opening
                i = _blank_options(lines, i + 1)
                continue
        elif tab := _TAB.match(line):
            indent = len(tab.group("indent"))
            label = tab.group("label").strip()
            # The label ("Linux", "pip") introduces the tab's body, as a lead-in does.
            lines[i] = " " * indent + (f"{label}:" if label else "")
            _dedent_tab(lines, i + 1, indent)
        elif _ABBREVIATION.match(line) or _TARGET.match(line):
            lines[i] = ""
        elif _HUGO_CODE.match(line):
            lines[i] = "```"
        elif block := _BLOCK.match(line):
            colons = ":" * len(block.group("slashes"))
            title = (block.group("title") or "").strip()
            lines[i] = " ".join(
                part for part in (block.group("indent") + colons, block.group("name"), title)
                if part
            )
        elif colon := _COLON_DIRECTIVE.match(line):
            title = line[colon.end() :].strip()
            if title:
                lines[i] = f"{line[: colon.end()]} {_titled(colon.group('name'), title)}"
            i = _blank_options(lines, i + 1)
            continue
        i += 1
    return "\n".join(lines)


def _titled(name: str, title: str) -> str:
    """A directive's title ({admonition} Its title); a version directive's says what it
    notes, as in reStructuredText ({versionadded} 1.3: "New in version 1.3")."""
    note = VERSION_NOTES.get(name)
    return note.format(title) if note is not None and title else title


def _blank_options(lines: list[str], i: int) -> int:
    """Blank a directive's options (`:key: value` lines, or a `---` YAML block) from line i;
    the index of the first line after them."""
    if i < len(lines) and lines[i].strip() == "---":
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "---"), None)
        if end is not None:
            for j in range(i, end + 1):
                lines[j] = ""
            return end + 1
    while i < len(lines) and _OPTION.match(lines[i]):
        lines[i] = ""
        i += 1
    return i
