"""Hugo / Docsy glossaries: one term per file, as the Kubernetes documentation keeps them.

Front matter (YAML, TOML or JSON): ``title``; ``aka`` and ``linkTitle`` are altLabels;
``id`` is the concept id other pages link to; ``short_description`` is the definition
when the body has none; ``full_link`` is the source URL (a site path is joined to the
site's ``baseURL``); ``tags`` and ``categories`` are collections. Hugo's own
``aliases`` are old URLs, never labels.

Shortcodes: ``glossary_tooltip`` / ``glossary_definition`` (and any shortcode with a
``term_id``, and Istio's ``{{< gloss >}}term{{< /gloss >}}``) are links by term id with
their visible text kept; ``ref``/``relref`` are the path they name; ``highlight`` is a
code fence; every other shortcode is removed (a paired one keeps its content) and
reported. ``<!--more-->`` splits the short definition from the long explanation.
"""

from __future__ import annotations

import bisect
import json
import re
import tomllib
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import yaml

from kg.model import Issue

from ..md_entries import ParsedFile, Ref
from ._common import Options, Site, id_link, read_page, signs_in
from ._front import Fields, common_fields, text_value
from ._markup import Page, code_spans, heading_ids, rewrite, strip_comments, strip_templates

NAME = "hugo"
SUMMARY = "Hugo / Docsy: front matter, glossary_tooltip shortcodes, <!--more-->"
CONFIG_FILES = ("hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json", "config/_default/hugo.toml",
                "config.toml", "config.yaml", "config.yml", "config/_default/config.toml")

# The body of a shortcode skips quoted strings, so `text=">}}"` does not end it.
_SHORTCODE = re.compile(
    r"\{\{(?P<delim>[<%])(?P<body>(?:\"(?:[^\"\\]|\\.)*\"|'[^']*'|`[^`]*`|[^\"'`])*?)(?:[>%])\}\}"
)
_PARAM = re.compile(r"(?:(?P<key>[\w-]+)\s*=\s*)?(?P<value>\"(?:[^\"\\]|\\.)*\"|'[^']*'|`[^`]*`|[^\s\"'`=]+)")
_GLOSS = re.compile(
    r"\{\{[<%]\s*gloss\b(?P<params>[^}]*?)\s*[>%]\}\}(?P<inner>.*?)\{\{[<%]\s*/\s*gloss\s*[>%]\}\}", re.DOTALL
)
_UNCLOSED = re.compile(r"\{\{[<%][^\n]*")
# What _SHORTCODE, _GLOSS and _HIDDEN end with (see ``rewrite``'s ``closer``).
_SHORTCODE_END = re.compile(r"[>%]\}\}")
_GLOSS_END = re.compile(r"\{\{[<%]\s*/\s*gloss\s*[>%]\}\}")
_HIDDEN_END = re.compile(r"\{\{[<%]\s*/\s*comment\s*[>%]\}\}")
_MORE = re.compile(r"<!--\s*more\s*-->", re.IGNORECASE)
_TERM_ANCHOR = re.compile(r"^term-(?P<id>[\w.-]+)$")
# Docsy's comment shortcode: its content is never shown.
_HIDDEN = re.compile(r"\{\{[<%]\s*comment\s*[>%]\}\}.*?\{\{[<%]\s*/\s*comment\s*[>%]\}\}", re.DOTALL)
_DIVIDER = "\x1e"  # stands for <!--more--> while comments are removed
_EVIDENCE = (
    (re.compile(r"\{\{[<%]"), 3, "Hugo shortcodes"),
    (re.compile(r"<!--\s*more\s*-->", re.IGNORECASE), 3, "<!--more-->"),
    (re.compile(r"\A\ufeff?\+\+\+[ \t]*$", re.MULTILINE), 3, "TOML front matter"),
    (re.compile(r"^(?:short_description|full_link|aka)[ \t]*[:=]", re.MULTILINE), 3, "Kubernetes-style front matter"),
)


def evidence(text: str, path: str) -> list[tuple[int, str]]:
    """Weighted reasons to read ``text`` as Hugo."""
    return signs_in(_EVIDENCE, text)


def site_config(folder: Path) -> Path | None:
    """The Hugo configuration in ``folder``, if any (a ``config.*`` must name a ``baseURL``)."""
    for name in CONFIG_FILES:
        path = folder / name
        if path.is_file():
            if name.startswith("hugo") or "/hugo." in name:
                return path
            try:
                if "baseurl" in path.read_text(encoding="utf-8", errors="replace")[:100_000].lower():
                    return path
            except OSError:
                continue
    return None


def site_info(config: Path) -> Site:
    """The site's ``baseURL``, used to make ``full_link`` an absolute URL."""
    site = Site(root=config.parent, config=config)
    try:
        raw = config.read_text(encoding="utf-8", errors="replace")
        data = tomllib.loads(raw) if config.suffix == ".toml" else (
            json.loads(raw) if config.suffix == ".json" else yaml.safe_load(raw))
    except (OSError, ValueError, yaml.YAMLError, tomllib.TOMLDecodeError):
        return site
    if isinstance(data, dict):
        base = next((v for k, v in data.items() if str(k).lower() == "baseurl" and isinstance(v, str)), None)
        if base and urlsplit(base).scheme in ("http", "https"):
            site.base_url = base if base.endswith("/") else base + "/"
    return site


def _params(body: str) -> tuple[str, list[str], dict[str, str]]:
    """Name, positional and named parameters of a shortcode's inside."""
    name, _, rest = body.strip().partition(" ")
    positional: list[str] = []
    named: dict[str, str] = {}
    for match in _PARAM.finditer(rest.rstrip("/ \t\n")):
        value = match["value"]
        if value[:1] in "\"'`" and value[-1:] == value[:1] and len(value) > 1:
            value = value[1:-1]
            if match["value"][0] == '"':
                value = value.replace('\\"', '"').replace("\\\\", "\\")
        if match["key"]:
            named[match["key"].lower()] = value
        else:
            positional.append(value)
    return name.strip().lower().rstrip("/"), positional, named


def clean(page: Page) -> None:
    """Shortcodes to links, paths, fences or nothing; heading ids; comments; the summary divider.

    Hugo expands shortcodes in code blocks too, so only the escaped form (``{{</* x */>}}``)
    is told apart: shown as written in code, dropped elsewhere.
    """
    code = code_spans(page.text)
    starts = [start for start, _ in code]

    def in_code(offset: int) -> bool:
        i = bisect.bisect_right(starts, offset) - 1
        return i >= 0 and code[i][0] <= offset < code[i][1]

    def gloss(match: re.Match[str]) -> str:
        _, positional, named = _params("gloss " + match["params"])
        inner = match["inner"].strip()
        return id_link(inner, named.get("term") or (positional[0] if positional else inner))

    def hide(match: re.Match[str]) -> str:
        page.drop("Hugo shortcode {{< comment >}} and its content", page.line_at(match.start()))
        return ""

    page.text = rewrite(page.text, _HIDDEN, hide, in_code=True, closer=_HIDDEN_END)
    page.text = rewrite(page.text, _GLOSS, gloss, in_code=True, closer=_GLOSS_END)

    def shortcode(match: re.Match[str]) -> str:
        body = match["body"].strip()
        line = page.line_at(match.start())
        if body.startswith("/*") and body.endswith("*/"):
            if in_code(match.start()):
                return "{{" + match["delim"] + " " + body[2:-2].strip() + " " + \
                    (">" if match["delim"] == "<" else "%") + "}}"
            page.drop("escaped Hugo shortcode", line)
            return ""
        closing = body.startswith("/")
        name, positional, named = _params(body.lstrip("/"))
        if closing:
            return "```" if name == "highlight" else ""
        term_id = named.get("term_id") or named.get("termid")
        if term_id or name in ("glossary_tooltip", "glossary_definition"):
            text = named.get("text") or (positional[0] if positional and name == "glossary_tooltip" else "")
            if not term_id:
                page.drop(f"{{{{< {name} >}}}} without term_id (its text is kept, with no link)", line)
                return text
            if name == "glossary_definition":  # it shows the other term's definition: name the term instead
                text = f"{named.get('prepend', '')} {term_id}"
            # Without text the site shows the term's title, unknown here: its id is the closest (`cri-o`).
            return id_link(text.strip() or term_id, term_id)
        if name in ("ref", "relref"):
            target = named.get("path") or (positional[0] if positional else "")
            path, hash_, anchor = target.partition("#")
            path = path.rstrip("/")
            if path and not Path(path).suffix:
                path += ".md"
            return path + hash_ + anchor
        if name == "highlight":
            return "```" + (positional[0] if positional else named.get("lang", ""))
        page.drop(f"Hugo shortcode {{{{< {name} >}}}}", line)
        return ""

    page.text = rewrite(page.text, _SHORTCODE, shortcode, in_code=True, closer=_SHORTCODE_END)

    def unclosed(match: re.Match[str]) -> str:
        page.issues.append(Issue("removed_markup", f"Hugo shortcode opened here is never closed: "
                                 f"{match.group()[:40]!r}; removed to the end of the line", page.path,
                                 page.line_at(match.start()), severity="warning"))
        return ""

    page.text = rewrite(page.text, _UNCLOSED, unclosed)
    heading_ids(page)
    strip_templates(page)
    page.text = page.text.replace(_DIVIDER, "")
    if more := _first_outside_code(page.text, _MORE):
        page.text = page.text[: more.start()] + _DIVIDER + page.text[more.end() :]
    strip_comments(page)
    if (at := page.text.find(_DIVIDER)) >= 0:
        page.text = page.text[:at] + page.text[at + 1 :]
        page.split = at


def _first_outside_code(text: str, pattern: re.Pattern[str]) -> re.Match[str] | None:
    protected = code_spans(text)
    for match in pattern.finditer(text):
        if not any(start <= match.start() < end for start, end in protected):
            return match
    return None


def fields(front: dict, site: Site) -> Fields:
    lowered = {str(k).lower(): v for k, v in front.items()}
    found = common_fields(front, label_keys=("aka", "synonyms", "also_known_as"),
                          description_keys=("short_description", "description"), tag_keys=("tags", "categories"))
    link_title = text_value(lowered.get("linktitle"))
    if link_title and link_title != found.title:
        found.labels.append(link_title)
    found.term_keys = found.term_keys or any(k in lowered for k in ("short_description", "full_link", "aka"))
    if found.description_key == "description" and not found.term_keys:
        found.description, found.description_key = "", None  # a page's meta description is no definition
    full_link = text_value(lowered.get("full_link"))
    if full_link:
        if urlsplit(full_link).scheme in ("http", "https"):
            found.url = full_link
        elif site.base_url:
            found.url = urljoin(site.base_url, full_link.lstrip("/"))
    return found


def page_ref(ref: Ref) -> Ref:
    """A link to the glossary page's anchor of a term (``/docs/reference/glossary/?all=true#term-pod``)
    is a link by term id."""
    parts = urlsplit(ref.target)
    match = _TERM_ANCHOR.match(parts.fragment)
    if match and not parts.path.lower().endswith((".md", ".markdown")):
        return Ref("id", match["id"], ref.text, ref.line, ref.start, ref.end)
    return ref


def read(text: str, path: str, site: Site, options: Options) -> ParsedFile:
    """One Hugo content file."""
    parsed, _ = read_page(text, path, dialect=NAME, clean=clean, fields_of=lambda front: fields(front, site),
                          options=options, page_ref=page_ref)
    return parsed
