"""A definition's clean text as HTML: nested lists, code, math for KaTeX, links inside the app.

The store keeps definitions as clean text ("- " bullets indented two spaces a level,
``$…$`` / ``$$…$$`` math, fenced code). This turns it back into markup for the
concept page. Math is left in its delimiters for KaTeX (``static/app.js``); the
published form of the glossary escapes TeX backslashes (``$\\\\eta$``), which are
unescaped here so that η shows. The first occurrence of each linked term becomes a
link to that concept's page.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import quote

from kg.text import LIST_ITEM, unescape_tex

# Inline pieces never linked into: math, code, and what the glossary marked bold.
_INLINE = re.compile(r"(?P<math>\$\$.+?\$\$|\$[^$\n]+?\$)|(?P<code>`[^`\n]+`)|(?P<bold>\*\*[^*\n]+?\*\*)")


class _Linker:
    """Links the first occurrence of each term, longest term first, outside math and code."""

    def __init__(self, links: list[tuple[str, str]], prefix: str) -> None:
        self.pending = {text: target for text, target in sorted(links, key=lambda l: -len(l[0])) if text.strip()}
        self.prefix = prefix

    def text(self, plain: str) -> str:
        segments: list[tuple[bool, str]] = [(False, plain)]  # (is markup, text)
        for term in list(self.pending):
            for n, (markup, piece) in enumerate(segments):
                at = -1 if markup else piece.find(term)
                if at >= 0:
                    target = self.pending.pop(term)
                    link = f'<a href="{self.prefix}{quote(target)}" data-id="{escape(target)}">{escape(term)}</a>'
                    segments[n : n + 1] = [(False, piece[:at]), (True, link), (False, piece[at + len(term) :])]
                    break
        return "".join(piece if markup else escape(piece) for markup, piece in segments)

    def inline(self, line: str) -> str:
        parts, last = [], 0
        for match in _INLINE.finditer(line):
            parts.append(self.text(line[last : match.start()]))
            if match["math"]:
                parts.append(f'<span class="math">{escape(unescape_tex(match["math"]))}</span>')
            elif match["code"]:
                parts.append(f"<code>{escape(match['code'][1:-1])}</code>")
            else:
                parts.append(f"<strong>{self.text(match['bold'][2:-2])}</strong>")
            last = match.end()
        parts.append(self.text(line[last:]))
        return "".join(parts)


def definition_html(text: str, links: list[tuple[str, str]] = (), prefix: str = "/concept/") -> str:
    """HTML of one definition.

    Args:
        text: the clean text the store keeps.
        links: ``(text as written, concept id)`` of the definition's links and mentions.
        prefix: where concept pages live.

    >>> html = definition_html("- A uses B.\\n  - detail $x$", [("B", "b")])
    >>> html.startswith('<ul><li>A uses <a href="/concept/b" data-id="b">B</a>.<ul><li>detail ')
    True
    >>> html.endswith('<span class="math">$x$</span></li></ul></li></ul>')
    True
    """
    linker = _Linker(list(links), prefix)
    out: list[str] = []
    depth = 0  # open <ul> levels
    open_item = [False]  # per level: an <li> is open
    lines = text.split("\n")
    i = 0

    def close_to(level: int) -> None:
        nonlocal depth
        while depth > level:
            if open_item[-1]:
                out.append("</li>")
            out.append("</ul>")
            open_item.pop()
            depth -= 1
            if open_item[-1]:
                pass  # the parent item stays open for siblings of the list

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            block = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                block.append(lines[i])
                i += 1
            out.append(f"<pre><code>{escape(chr(10).join(block))}</code></pre>")
            i += 1
            continue
        if stripped == "$$":
            block = []
            i += 1
            while i < len(lines) and lines[i].strip() != "$$":
                block.append(lines[i])
                i += 1
            out.append(f'<div class="math display">{escape(unescape_tex("$$" + chr(10).join(block) + "$$"))}</div>')
            i += 1
            continue
        bullet = LIST_ITEM.match(line)
        if bullet:
            level = len(bullet["indent"].expandtabs(2)) // 2 + 1
            if level > depth:
                while depth < level:
                    out.append("<ul>")
                    open_item.append(False)
                    depth += 1
            else:
                close_to(level)
                if open_item[-1]:
                    out.append("</li>")
            out.append("<li>" + linker.inline(bullet["text"]))
            open_item[-1] = True
        elif stripped:
            if depth and open_item[-1]:
                out.append("<br>" + linker.inline(stripped))  # a continued item
            else:
                out.append(f"<p>{linker.inline(stripped)}</p>")
        i += 1
    close_to(0)
    return "".join(out)
