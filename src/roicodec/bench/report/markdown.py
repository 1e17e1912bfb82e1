"""The Markdown blocks the page is built of. A section is a list of blocks; the page puts one blank line between
blocks, so no section writes blank lines of its own."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def table(head: Sequence[str], align: str, rows: Iterable[Sequence[str]]) -> str:
    """A pipe table; ``align`` holds one letter per column, ``l`` or ``r``."""
    rule = "|" + "".join("---:|" if a == "r" else "---|" for a in align)
    return "\n".join([_row(head), rule, *(_row(r) for r in rows)])


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def bullets(items: Iterable[str]) -> str:
    """A list; an item's later lines are indented under it."""
    return "\n".join("- " + item.replace("\n", "\n  ") for item in items)


def figure(alt: str, path: str, caption: str) -> list[str]:
    return [f"![{alt}]({path})", f"*{caption}*"]
