"""Docusaurus / MDX glossaries: front matter, JSX components, admonitions, site links.

``title``, ``id`` and ``slug`` (ids other pages link by), ``description`` (the
definition when the body has none), ``tags``. ``import``/``export`` lines and MDX
comments go; JSX components keep their text (``<Link to>`` and components with a
``term``/``termId`` attribute are links) and are reported; ``:::note Title`` admonitions
keep their title and text. Links to ``./other-term.md``, ``./other-term.mdx`` or a site
path (``/docs/glossary/other-term``) reach the term of that id, slug or file name.
MDX has no indented code blocks, so indentation inside components stays text.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from ..md_entries import ParsedFile, Ref
from ._common import Options, Site, config_in, id_link, read_page, signs_in, site_ref
from ._front import Fields, common_fields, text_value
from ._markup import Page, heading_ids, prose_lines, rewrite, strip_comments, strip_templates

NAME = "docusaurus"
SUMMARY = "Docusaurus / MDX: front matter, JSX components, :::admonitions, /docs/ links"
CONFIG_FILES = ("docusaurus.config.js", "docusaurus.config.ts", "docusaurus.config.mjs", "docusaurus.config.cjs")

_IMPORT = re.compile(r"^import[ \t]+(?:[^;'\"]*?[ \t\n]from[ \t]*)?(['\"])[^'\"\n]+\1[ \t]*;?[ \t]*$", re.MULTILINE)
_EXPORT = re.compile(r"^export[ \t]+(?:const|let|var|function|default|class|async)\b(?:[^\n]|\n(?![ \t]*\n))*",
                     re.MULTILINE)
_MDX_COMMENT = re.compile(r"\{/\*.*?\*/\}", re.DOTALL)
_ADMONITION = re.compile(r"^(?P<indent>[ \t]*):{3,}[ \t]*(?P<kind>[\w-]+)?(?:\[(?P<bracket>[^\]\n]*)\]|"
                         r"[ \t]+(?P<title>[^{\n]*?))?[ \t]*(?:\{[^}\n]*\})?[ \t]*$")
# One attribute value: a string or a {expression} with one level of nested braces.
_VALUE = r"(?:\"[^\"]*\"|'[^']*'|\{(?:[^{}]|\{[^{}]*\})*\})"
_ATTRS = rf"(?P<attrs>(?:\s+(?:[\w:.-]+(?:\s*=\s*{_VALUE})?|\{{\.\.\.[^{{}}]*\}}))*)"
_TAG = re.compile(rf"<(?P<close>/)?(?P<name>[A-Z][\w.]*){_ATTRS}\s*(?P<self>/)?>")
# Innermost components only (no component inside), so that a <Link> in <Tabs> is found.
_PAIRED_LINK = re.compile(rf"<(?P<name>[A-Z][\w.]*){_ATTRS}\s*>(?P<inner>[^<]*(?:<(?![A-Z/])[^<]*)*)</(?P=name)\s*>")
_SELF_CLOSING = re.compile(rf"<(?P<name>[A-Z][\w.]*){_ATTRS}\s*/>")
_ATTR = re.compile(r"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|\{\s*[\"'`]([^\"'`]*)[\"'`]\s*\})")
_TERM_ATTRS = ("term", "termid", "term_id", "glossaryid", "glossary")
_TERM_COMPONENT = re.compile(r"term|gloss", re.IGNORECASE)  # <Term id="x">, <GlossaryTerm name="x">
_SPACE = re.compile(r"\{\s*([\"'])(.*?)\1\s*\}")
_EXPRESSION = re.compile(r"\{[A-Za-z_$][\w.$]*\}")
class _Component:
    """``_COMPONENT.search``, in one pass over the text: the regular expression reads on from
    each ``<Name`` to the next ``>``, and a page head of ``<Term x='a'`` repeated (200 KB)
    took 25 s."""

    _NAME = re.compile(r"<([A-Z][A-Za-z]+)")
    _PROPS = re.compile(r"\s+[\w-]+=[{\"']")
    _WORD = re.compile(r"\w")

    def search(self, text: str) -> bool:
        size = len(text)
        close = line = opening = -1  # the next ">", "\n" and "<" looked for (they only move forward)
        for match in self._NAME.finditer(text):
            name, end = match.group(1), match.end()
            if text.startswith("/>", end):
                return True
            if close < end:
                close = text.find(">", end) % (size + 1)  # none: size
            props = self._PROPS.match(text, end)
            if props and props.end() < close < size and text[close - 1] == "/":
                return True  # <Name prop="…/>
            if end < size and self._WORD.match(text, end):
                continue  # no word boundary after the name
            if line < end:
                line = text.find("\n", end) % (size + 1)
            if close < min(line, size):
                if opening <= close:
                    opening = text.find("<", close + 1) % (size + 1)
                if text.startswith(f"</{name}>", opening):
                    return True  # <Name …>text</Name>
        return False


# What _Component looks for.
_COMPONENT = re.compile(r"<[A-Z][A-Za-z]+(?:\s+[\w-]+=[{\"'][^>]*)?/>|<([A-Z][A-Za-z]+)\b[^>\n]*>[^<]*</\1>")
_EVIDENCE = (
    (re.compile(r"^import[ \t].*[ \t]from[ \t]+['\"]", re.MULTILINE), 3, "import lines"),
    (re.compile(r"@theme/|@docusaurus/"), 3, "@theme imports"),
    (re.compile(r"^[ \t]*:::[ \t]*(?:note|tip|info|caution|warning|danger|important|success)\b", re.MULTILINE),
     3, ":::admonitions"),
    (re.compile(r"\{/\*"), 3, "MDX comments"),
    (re.compile(r"^(?:sidebar_position|sidebar_label|slug|hide_title|pagination_label)[ \t]*:", re.MULTILINE),
     3, "Docusaurus front matter"),
    (re.compile(r"^export[ \t]+(?:const|default|function)\b", re.MULTILINE), 2, "export lines"),
    # A component with props, self-closing or closed: not `<EOS>` written in prose.
    (_Component(), 2, "JSX components"),
)


def evidence(text: str, path: str) -> list[tuple[int, str]]:
    found = signs_in(_EVIDENCE, text)
    if path.lower().endswith(".mdx"):
        found.append((3, ".mdx file"))
    return found


def site_config(folder: Path) -> Path | None:
    return config_in(folder, CONFIG_FILES)


def _attrs(text: str) -> dict[str, str]:
    return {m[1].lower(): next(v for v in m.groups()[1:] if v is not None) for m in _ATTR.finditer(text or "")}


def _admonitions(page: Page) -> None:
    lines = page.text.split("\n")
    for n, line, in_code in prose_lines(page.text):
        match = None if in_code else _ADMONITION.match(line)
        if match:
            title = (match["bracket"] or match["title"] or "").strip()
            lines[n] = f"{match['indent']}{title}:" if title else ""
    page.text = "\n".join(lines)


def clean(page: Page) -> None:
    """MDX to Markdown: statements and comments out, components to their text or links."""
    page.text = rewrite(page.text, _IMPORT, lambda m: "")
    page.text = rewrite(page.text, _EXPORT, lambda m: "")
    page.text = rewrite(page.text, _MDX_COMMENT, lambda m: "", closer="*/}")
    _admonitions(page)

    def link(match: re.Match[str]) -> str:
        attrs = _attrs(match["attrs"])
        inner = match.groupdict().get("inner") or ""
        keys = _TERM_ATTRS + (("id", "name") if _TERM_COMPONENT.search(match["name"]) else ())
        term = next((attrs[k] for k in keys if attrs.get(k)), None)
        if term:
            return id_link(" ".join(inner.split()) or term.replace("-", " "), term)
        target = attrs.get("to") or attrs.get("href")
        if target and inner.strip():
            return f"[{' '.join(inner.split())}](<{target}>)"
        return match.group()  # not a link: its tags go below, its text stays

    page.text = rewrite(page.text, _PAIRED_LINK, link)
    page.text = rewrite(page.text, _SELF_CLOSING, link)

    def tag(match: re.Match[str]) -> str:
        if not match["close"]:
            page.drop(f"JSX component <{match['name']}>", page.line_at(match.start()))
        return ""

    page.text = rewrite(page.text, _TAG, tag)
    page.text = rewrite(page.text, _SPACE, lambda m: m.group(2))

    def expression(match: re.Match[str]) -> str:
        page.drop(f"JSX expression {match.group()}", page.line_at(match.start()))
        return ""

    page.text = rewrite(page.text, _EXPRESSION, expression)
    heading_ids(page)
    strip_templates(page)
    strip_comments(page)


def fields(front: dict) -> Fields:
    found = common_fields(front)
    lowered = {str(k).lower(): v for k, v in front.items()}
    label = text_value(lowered.get("sidebar_label"))  # the short name the sidebar shows (WAL)
    if label and label != found.title:
        found.labels.append(label)
    slug = text_value(lowered.get("slug"))
    name = PurePosixPath(slug.rstrip("/")).name if slug else ""
    if name and name not in found.ids:
        found.ids.append(name)
    return found


def page_ref(ref: Ref) -> Ref:
    return site_ref(ref)


def read(text: str, path: str, site: Site, options: Options) -> ParsedFile:
    """One Docusaurus page (``.md`` or ``.mdx``)."""
    parsed, _ = read_page(text, path, dialect=NAME, clean=clean, fields_of=fields, options=options,
                          indented_code=False, page_ref=page_ref)
    return parsed
