"""Files of a corpus of nested folders, shared by the library tests and the end-to-end ones.

Each paragraph is one line with a blank line after it, so whatever the chunking rules, the
text of line N is in the passage whose citation covers line N."""

from __future__ import annotations

from pathlib import Path

INSTALL = [
    "Install the ferry companion app from the harbour website.",
    "",
    "The installer asks which pier you usually travel from.",
    "",
    "After installing, sign in with the token from the harbour office.",
    "",
    "Updates arrive automatically when the phone is charging overnight.",
]
NOTES = ["Visitors may bring bicycles on the ferry outside the rush hours."]


def write(root: Path, name: str, lines: list[str]) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
