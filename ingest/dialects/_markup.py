"""Rewrites of site markup that keep every line where it was and leave code and math alone,
so that issues and sources still point at the author's lines."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from kg.model import Issue

# An ATX heading line: its level (the #s) and its text.
ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
# Inline code, $$display$$ and $inline$ math (`{cases}` in TeX is no JSX expression).
_INLINE_CODE_OR_MATH = re.compile(
    r"(?<!`)(`+)(?!`)(?:[^\n]|\n(?![ \t]*\n))+?(?<!`)\1(?!`)"
    r"|\$\$(?:[^$]|\$(?!\$))+?\$\$"
    r"|(?<![\\$\w])\$(?![\s$])(?:[^$\n\\]|\\.)+?(?<!\s)\$(?![\w$])"
)
_COMMENT = re.compile(r"[ \t]?<!--.*?-->", re.DOTALL)
# Heading ids as mkdocs (attr_list), Docusaurus and mdBook write them: `## Term {#term-id .class}`.
_HEADING_ATTRS = re.compile(r"[ \t]*\{:?[ \t]*((?:[#.][\w:-]+|[\w-]+=(?:\"[^\"]*\"|'[^']*'|[^\s}]+))"
                            r"(?:[ \t]+(?:[#.][\w:-]+|[\w-]+=(?:\"[^\"]*\"|'[^']*'|[^\s}]+)))*)[ \t]*\}[ \t]*$")
# Within one paragraph: an unclosed `{{` must not swallow the rest of the page.
_TEMPLATE = re.compile(r"\{%(?:[^\n]|\n(?![ \t]*\n))*?%\}|\{\{(?:[^\n]|\n(?![ \t]*\n))*?\}\}")
_RAW_BLOCK = re.compile(r"\{%-?\s*(?:end)?raw\s*-?%\}")


@dataclass
class Page:
    """One file on its way through a dialect reader."""

    path: str
    text: str
    front: dict = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    removed: dict[str, list[int]] = field(default_factory=dict)  # what markup was dropped -> its lines
    split: int | None = None  # offset of a summary divider (Hugo's `<!--more-->`), if any

    def line_at(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def drop(self, what: str, line: int) -> None:
        """Remember that ``what`` was removed at ``line``; reported once per kind by ``report_removed``."""
        self.removed.setdefault(what, []).append(line)

    def report_removed(self) -> None:
        for what, lines in self.removed.items():
            more = f" ({len(lines)} times; first here)" if len(lines) > 1 else ""
            self.issues.append(
                Issue("removed_markup", f"{what} removed from the text{more}", self.path, lines[0], severity="info")
            )


def fence_spans(text: str) -> list[tuple[int, int]]:
    """Offsets of fenced code blocks (an unclosed fence runs to the end, as CommonMark says)."""
    spans: list[tuple[int, int]] = []
    offset, fence, fence_start = 0, "", 0
    for line in text.split("\n"):
        end = offset + len(line) + 1
        match = _FENCE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) \
                    and not line.strip()[len(match.group(1)):].strip():
                spans.append((fence_start, min(end, len(text))))
                fence = ""
        elif match:
            fence, fence_start = match.group(1), offset
        offset = end
    if fence:
        spans.append((fence_start, len(text)))
    return spans


def code_spans(text: str) -> list[tuple[int, int]]:
    """Offsets of fenced code blocks, inline code spans and math: no rewrite touches them."""
    fences = fence_spans(text)
    spans = list(fences)
    start = 0
    for fence_start, fence_end in [*fences, (len(text), len(text))]:
        spans.extend((m.start(), m.end()) for m in _INLINE_CODE_OR_MATH.finditer(text, start, fence_start))
        start = fence_end
    return sorted(spans)


def rewrite(
    text: str,
    pattern: re.Pattern[str],
    replace: Callable[[re.Match[str]], str],
    *,
    in_code: bool = False,
    closer: str | re.Pattern[str] | None = None,
) -> str:
    """Replace every match of ``pattern`` outside code with ``replace(match)``, keeping line numbers.

    ``closer``: what every match ends with, when it has to be looked for. Nothing after its
    last occurrence is searched: a ``.*?`` from each opener left open reads to the end of
    the page, and a page of them took time in the square of its length.

    A match that spans lines and is replaced by fewer lines would pull every later line
    up; the lines it owes are added at the next blank line instead, where extra blank
    lines change nothing, so the paragraph it sits in is not cut.

    >>> rewrite("a {x\\ny} b\\nc\\n\\nd", re.compile(r"\\{.*?\\}", re.S), lambda m: "X")
    'a X b\\nc\\n\\n\\nd'
    """
    end = len(text)
    if isinstance(closer, str):
        end = text.rfind(closer) + len(closer) if closer in text else 0
    elif closer is not None:
        end = max((m.end() for m in closer.finditer(text)), default=0)
    if not end:
        return text
    protected = [] if in_code else code_spans(text)
    parts: list[str] = []
    debts: list[tuple[int, int]] = []
    last, length, p = 0, 0, 0
    for match in pattern.finditer(text, 0, end):
        while p < len(protected) and protected[p][1] <= match.start():
            p += 1
        if p < len(protected) and protected[p][0] < match.end():
            continue  # starts or ends inside code
        new = replace(match)
        parts.append(text[last : match.start()])
        parts.append(new)
        length += match.start() - last + len(new)
        owed = match.group().count("\n") - new.count("\n")
        if owed > 0:
            debts.append((length, owed))
        last = match.end()
    if not parts:
        return text
    parts.append(text[last:])
    out = "".join(parts)
    if not debts:
        return out
    # Each debt's lines go after the first "\n" of the next blank line; all placed in one pass
    # (a copy of the page for each was quadratic in a page of many comments).
    pieces: list[str] = []
    done, blank = 0, -1
    for at, owed in debts:
        if blank < at:  # debts come in order: a blank line found serves every debt before it
            blank = out.find("\n\n", at)
            if blank < 0:
                blank = len(out) - 1
        pieces.append(out[done : blank + 1])
        pieces.append("\n" * owed)
        done = blank + 1
    pieces.append(out[done:])
    return "".join(pieces)


def strip_comments(page: Page) -> None:
    """HTML comments go wherever they are (code aside); they are the author's notes, not text."""
    page.text = rewrite(page.text, _COMMENT, lambda m: "", closer="-->")


def strip_templates(page: Page) -> None:
    """Jinja/Liquid tags (mkdocs-macros, Jekyll) cannot be rendered here: dropped and reported."""
    def drop(match: re.Match[str]) -> str:
        if not _RAW_BLOCK.fullmatch(match.group()):
            page.drop(f"template tag {' '.join(match.group().split())[:40]!r}", page.line_at(match.start()))
        return ""

    page.text = rewrite(page.text, _TEMPLATE, drop)


def heading_ids(page: Page) -> None:
    """``## Term {#term-id}`` keeps ``term-id`` as an anchor of the heading, the braces go."""
    lines = page.text.split("\n")
    for n, line, in_code in prose_lines(page.text):
        heading = None if in_code else ATX_HEADING.match(line)
        attrs = _HEADING_ATTRS.search(line) if heading else None
        if attrs:
            ids = [a[1:] for a in attrs.group(1).split() if a.startswith("#")]
            anchors = "".join(f' <a id="{html.escape(i)}"></a>' for i in ids)
            lines[n] = line[: attrs.start()] + anchors
    page.text = "\n".join(lines)


def prose_lines(text: str) -> list[tuple[int, str, bool]]:
    """``(index, line, inside a code fence)`` for every line."""
    fences = fence_spans(text)
    found, offset, p = [], 0, 0
    for n, line in enumerate(text.split("\n")):
        while p < len(fences) and fences[p][1] <= offset:
            p += 1
        inside = p < len(fences) and fences[p][0] <= offset < fences[p][1]
        found.append((n, line, inside))
        offset += len(line) + 1
    return found


def headings(text: str) -> list[tuple[int, str]]:
    """``(level, text)`` of the ATX headings outside code."""
    return [
        (len(match.group(1)), match.group(2))
        for _, line, in_code in prose_lines(text)
        if not in_code and (match := ATX_HEADING.match(line))
    ]


def group_headings(page: Page) -> None:
    """A heading with no text of its own over deeper ones (``## A`` over ``### Term``) groups
    them: it becomes a section (``#``), not an empty term."""
    lines = page.text.split("\n")
    found = [(n, len(m.group(1))) for n, line, in_code in prose_lines(page.text)
             if not in_code and (m := ATX_HEADING.match(line))]
    for (n, level), (after, deeper) in zip(found, found[1:], strict=False):
        if 1 < level < deeper and not any(line.strip() for line in lines[n + 1 : after]):
            lines[n] = "# " + ATX_HEADING.match(lines[n]).group(2)
    page.text = "\n".join(lines)
