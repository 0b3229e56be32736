"""Answer to Discord message text: quote blocks, the answer sentence in bold, citations in
code format, corpus markdown escaped, never over Discord's 2,000 characters."""

from __future__ import annotations

import re

import discord

from retrieval.answer import Answer, AnswerPassage
from retrieval.corpus import Passage

LIMIT = 2000
# A quote is never cut below this; if even that does not fit, quotes go before citations do.
MIN_QUOTE = 40
_MENTION = re.compile(r"<(?=[@#][!&]?\d)")


def escape(text: str) -> str:
    """Corpus text shown literally: no markdown, and mentions defused twice over (the
    message is also sent with AllowedMentions.none())."""
    text = discord.utils.escape_mentions(discord.utils.escape_markdown(text))
    # Short ids and channel/role links are not caught by escape_mentions.
    return _MENTION.sub("<\u200b", text)


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
    s = max(0, min(s, len(text)))
    e = max(s, min(e, len(text)))
    body = escape(text[:s])
    marked = text[s:e].strip()
    if marked:
        body += f"**{escape(marked)}**" + (" " if text[s:e].endswith(" ") else "")
    body += escape(text[e:])
    return "> " + body.replace("\n", "\n> ")


def _layout(a: Answer, budgets: list[int]) -> str:
    lines: list[str] = []
    if not a.answered:
        lines.append(a.message or "I couldn't find that in the documents.")
        if a.passages:
            lines.append("Closest passages (not an answer):")
    for n, (p, budget) in enumerate(zip(a.passages, budgets, strict=True), 1):
        lines.append(_quote_block(p, budget))
        lines.append(f"[{n}] `{p.citation}`")
    if a.disagreement is not None:
        sides = [
            f"{escape(v.value)} ({', '.join(f'`{c}`' for c in v.citations)})"
            for v in a.disagreement.variants
        ]
        lines.append("⚠️ The sources differ: " + " vs ".join(sides) + ".")
    return "\n".join(lines)


def render_answer(a: Answer, limit: int = LIMIT) -> str:
    """Quotes are trimmed evenly until the whole message fits; citations always stay."""
    budgets = [len(p.quote) for p in a.passages]
    text = _layout(a, budgets)
    while len(text) > limit and any(b > MIN_QUOTE for b in budgets):
        over = len(text) - limit
        longest = max(range(len(budgets)), key=budgets.__getitem__)
        budgets[longest] = max(MIN_QUOTE, budgets[longest] - max(over, 20))
        text = _layout(a, budgets)
    if len(text) > limit:
        # Pathological: only the citations and the note are left to show.
        text = text[: limit - 1] + "…"
    return text


def render_passage(p: Passage, limit: int = LIMIT) -> str:
    citation = f"`{p.citation}`"
    heading = f"**{escape(p.heading)}**\n" if p.heading else ""
    room = limit - len(citation) - len(heading) - 10
    body = escape(p.text)
    if len(body) > room:
        body = body[: room - 1].rsplit(" ", 1)[0] + "…"
    return f"{heading}> {body}\n{citation}"


def render_sources(files: dict[str, int], limit: int = LIMIT) -> str:
    lines = [f"{len(files)} files in the corpus:"]
    for name, count in sorted(files.items()):
        line = f"`{name}` — {count} passages"
        if sum(len(x) + 1 for x in lines) + len(line) > limit - 40:
            lines.append(f"… and {len(files) - len(lines) + 1} more")
            break
        lines.append(line)
    return "\n".join(lines)
