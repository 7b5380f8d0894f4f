"""Small text helpers for Markdown ingest: inline HTML tags, entities, anchors in math,
the ``URL:`` comment naming a page's published URL, and the heading anchors links use."""

from __future__ import annotations

import base64
import html
import re
from html.parser import HTMLParser

# Publishers insert term links even inside math; keep the math, drop the tags.
_ANCHOR_TAG = re.compile(r"</?a\b[^>]*>", re.IGNORECASE)
_URL_COMMENT = re.compile(r"URL\s*[:：]\s*(\S+?)\s*-->", re.IGNORECASE)  # read by _url_comment
_URL_KEY = re.compile(r"URL\s*[:：]\s*", re.IGNORECASE)
_NON_SPACE = re.compile(r"\S*")
_SPACED_CLOSE = re.compile(r"\s*-->")


class _TagReader(HTMLParser):
    """Reads the tags of one inline HTML fragment (``<a href=...>``, ``</a>``, ``<br>``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(("start", tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append(("start", tag, dict(attrs)))
        self.tags.append(("end", tag, {}))

    def handle_endtag(self, tag):
        self.tags.append(("end", tag, {}))


def _tags(fragment: str) -> list[tuple[str, str, dict[str, str | None]]]:
    reader = _TagReader()
    try:
        reader.feed(fragment)
        reader.close()
    except Exception:  # malformed HTML is text, not an error
        return []
    return reader.tags


def _strip_tags(html: str) -> str:
    class _Text(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []

        def handle_data(self, data):
            self.parts.append(data)

    reader = _Text()
    try:
        reader.feed(html)
        reader.close()
    except Exception:
        return html
    return "".join(reader.parts)


def heading_anchor(text: str) -> str:
    """The anchor the published glossary uses: base64 of the heading text."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def github_slug(text: str) -> str:
    """GitHub-style heading anchor (``#deep-learning``), used by relative links in notes."""
    slug = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return slug.replace(" ", "-")



def _strip_anchors(math: str) -> str:
    """``math`` without ``<a>`` tags. Only the text up to the last ``>`` can hold one: a
    search from each ``<a`` beyond it would read to the end, again and again."""
    last = math.rfind(">") + 1
    return _ANCHOR_TAG.sub("", math[:last]) + math[last:] if last else math


def _unescape(text: str) -> str:
    return html.unescape(text) if "&" in text else text


def _url_comment(text: str) -> str | None:
    """What ``_URL_COMMENT`` finds in ``text``, in one pass: the regular expression reads on
    from each ``URL:`` to the end of its run of non-spaces, and ``URL:URL:…`` in a block
    of 128 KB took 32 s.

    >>> _url_comment("<!-- URL: https://x.org/a#  -->"), _url_comment("<!-- url:u:URL:v-->w -->")
    ('https://x.org/a#', 'u:URL:v')
    >>> _url_comment("<!-- URL: a b -->") is None
    True
    """
    run_end = close = -1  # the run of non-spaces being read, and the next "-->" (both move forward only)
    for key in _URL_KEY.finditer(text):
        start = key.end()
        if start >= run_end:
            run_end = _NON_SPACE.match(text, start).end()
        if run_end == start:
            continue  # nothing but spaces after the key
        if close < start + 1:
            close = text.find("-->", start + 1) % (len(text) + 1)  # none: len(text), never looked for again
        if close + 3 <= run_end:
            return text[start:close]  # the shortest run of non-spaces before "-->"
        if _SPACED_CLOSE.match(text, run_end):
            return text[start:run_end]
    return None
