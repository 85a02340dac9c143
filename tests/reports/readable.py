"""Checks shared by the page tests and the browser test: no raw JSON shown, no tick in scientific notation."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

JSON_LOOK = re.compile(r'\{\s*"[^"]*"\s*:|\[\s*\[|\[\s*\{')
"""The opening of a JSON object with a quoted key, or of a list of lists / objects."""
SCIENTIFIC = re.compile(r"\d(?:\.\d+)?e[+-−]?\d|\\times\s*10|10\^\{|\\mathdefault\{10")
SVG_URI = re.compile(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)")


class _Shown(HTMLParser):
    """Text a reader sees without opening anything: outside closed <details> (but their <summary>)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.shown: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("meta", "br", "img", "link", "input", "hr"):
            return
        closed = tag == "details" and not any(name == "open" for name, _ in attrs)
        self.stack.append((tag, closed))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        tags = [tag for tag, _ in self.stack]
        if "style" in tags or "script" in tags:
            return
        hidden = any(closed for _, closed in self.stack)
        if hidden and self.stack[-1][0] != "summary":
            return
        self.shown.append(data)


def raw_json_shown(html: str) -> list[str]:
    """Text chunks outside closed <details> that look like raw JSON."""
    parser = _Shown()
    parser.feed(html)
    return [text.strip()[:120] for text in parser.shown if JSON_LOOK.search(text)]


def svg_texts(html: str) -> list[str]:
    """Every text matplotlib wrote into the page's SVG charts (it keeps each as a comment)."""
    texts: list[str] = []
    for match in SVG_URI.finditer(html):
        svg = base64.b64decode(match.group(1)).decode("utf-8")
        texts.extend(re.findall(r"<!-- (.*?) -->", svg))
    return texts


def scientific_labels(html: str) -> list[str]:
    return [text for text in svg_texts(html) if SCIENTIFIC.search(text)]
