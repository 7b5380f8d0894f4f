"""A definition as a person reads it in plain text: snippets, CLI lines, evidence, ``skos:definition``.

The store keeps a definition's clean Markdown ("- " bullets indented two spaces a level,
``**bold**``, ``$…$`` / ``$$…$$`` math, fenced code) because the concept page renders it.
Everywhere else a reader meets plain text, and it comes from ``plain_text`` alone: bullets
become "• " (or run on in one line), emphasis and code marks go, and math stays readable
as ``$…$`` with the published form's escaping of TeX undone (``\\\\eta`` -> ``\\eta``).
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*(```|~~~)")
#: A Markdown list item line: its indentation and its text (also what api.render nests).
LIST_ITEM = re.compile(r"^(?P<indent>\s*)(?:[-*+]|\d+[.)])\s+(?P<text>.*)$")
_HEADING = re.compile(r"^\s*#{1,6}\s+")
_QUOTE = re.compile(r"^\s*>\s?")
_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE_MATH = re.compile(r"\$[^$\n]+?\$")
_ESCAPED_TEX = re.compile(r"\\\\(?=[A-Za-z{}|,;!])")
# Bold is the glossary's one emphasis. Single * and _ are left alone: in these glossaries they
# are data (MeCab's "*,*" columns, TeX subscripts, snake_case), never italics.
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_TAG = re.compile(r"</?[A-Za-z][^<>\n]*>")
# Where one line runs on into the next without a separator of its own.
_ENDS_CLAUSE = tuple("。．.!?！？:：;；、,，")
BULLET = "• "


def unescape_tex(math: str) -> str:
    r"""Undo the published form's escaping of TeX: ``\\eta`` -> ``\eta``, ``\_`` -> ``_``.

    >>> unescape_tex(r"$\\eta \\nabla\_\\theta$")
    '$\\eta \\nabla_\\theta$'
    """
    math = math.replace("\\" * 4, "\x00")  # an escaped line break (\\\\) is a line break (\\)
    return _ESCAPED_TEX.sub(r"\\", math).replace("\\_", "_").replace("\x00", "\\" * 2)


def _math(tex: str) -> str:
    """One formula as inline ``$…$`` on one line; a TeX line break reads as "; "."""
    body = unescape_tex(tex.strip("$")).replace("\\\\", ";")
    return "$" + " ".join(body.split()) + "$"


def _inline(line: str) -> str:
    """One line without marks: math kept readable, everything else reduced to its words."""
    parts, last = [], 0
    for match in _INLINE_MATH.finditer(line):
        parts.append(_words(line[last : match.start()]))
        parts.append(_math(match.group()))
        last = match.end()
    parts.append(_words(line[last:]))
    return "".join(parts)


def _words(text: str) -> str:
    text = _LINK.sub(r"\1", _TAG.sub("", text))
    text = _CODE.sub(r"\1", text)
    text = _STRONG.sub(r"\1", text).replace("**", "")  # what is left: a span cut in two by a quote
    return text.replace("\\*", "*").replace("\\_", "_")


def plain_lines(text: str) -> list[str]:
    """The lines of a definition as plain text: list items as "• " indented two spaces a
    level, display math on one line as ``$…$``, fences, headings and emphasis gone."""
    text = _DISPLAY_MATH.sub(lambda m: _math(m.group(1)), text)
    lines: list[str] = []
    for raw in text.splitlines():
        if _FENCE.match(raw) or not raw.strip():
            continue
        line = _QUOTE.sub("", _HEADING.sub("", raw))
        bullet = LIST_ITEM.match(line)
        if bullet:
            depth = len(bullet["indent"].expandtabs(2)) // 2
            line = "  " * depth + BULLET + _inline(bullet["text"]).strip()
        else:
            line = _inline(line).strip()
        if line.strip() and line.strip() != BULLET.strip():
            lines.append(line.rstrip())
    return lines


def plain_text(text: str, *, one_line: bool = True) -> str:
    """A definition, sentence or fragment as plain text.

    Args:
        text: the stored clean Markdown.
        one_line: run the lines on into one (snippets, evidence, ``skos:definition``):
            a line that does not end a clause is followed by "; ". With ``False``, the
            lines of ``plain_lines`` joined by newlines (a terminal's ``kg show``).

    >>> plain_text("- **Overfitting** is $$\\n\\\\frac{a}{b}\\n$$\\n- `fit()` too")
    'Overfitting is $\\\\frac{a}{b}$; fit() too'
    """
    lines = plain_lines(text)
    if not one_line:
        return "\n".join(lines)
    out = ""
    for line in lines:
        piece = line.strip().removeprefix(BULLET)
        if out:
            out += " " if out.endswith(_ENDS_CLAUSE) else "; "
        out += piece
    return out
