"""Answers as HTML: Markdown through markdown-it-py, with [n] markers as links to the cited memory."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable("table")
_MARKER = re.compile(r"\[(\d{1,2})\](?!\()")
CITE_SCHEME = "cite:"


def markdown_html(text: str, cited: set[int] | None = None) -> str:
    """The HTML of a Markdown answer; a marker [n] with n in `cited` links to `cite:n`."""
    html = _MARKDOWN.render(text)
    if not cited:
        return html

    def link(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return f'<a href="{CITE_SCHEME}{number}">[{number}]</a>' if number in cited else match.group(0)

    return _MARKER.sub(link, html)


def cited_number(href: str) -> int | None:
    """The n of a `cite:n` link, else None."""
    if href.startswith(CITE_SCHEME) and href[len(CITE_SCHEME):].isdigit():
        return int(href[len(CITE_SCHEME):])
    return None
