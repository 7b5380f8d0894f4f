"""Front matter as documentation sites write it (YAML, TOML, JSON) and what it says about terms."""

from __future__ import annotations

import html
import json
import tomllib
from dataclasses import dataclass, field

import yaml

from kg.model import Issue


def split_front_matter(text: str, path: str) -> tuple[dict, str, list[Issue]]:
    """Front matter in YAML (``---``), TOML (``+++``) or JSON (``{``), and the text with its lines blanked.

    >>> split_front_matter('+++\\ntitle = "Pod"\\n+++\\nBody', "p.md")[:2]
    ({'title': 'Pod'}, '\\n\\n\\nBody')
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    lines = text.split("\n")
    first = lines[0].strip() if lines else ""
    if first in ("---", "+++"):
        closers = ("---", "...") if first == "---" else ("+++",)
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in closers), None)
    elif first == "{":
        end = next((i for i in range(1, len(lines)) if lines[i].rstrip() == "}"), None)
    else:
        return {}, text, []
    if end is None:
        return {}, text, []
    raw = "\n".join(lines[1:end]) if first != "{" else "\n".join(lines[: end + 1])
    issues: list[Issue] = []
    try:
        if first == "---":
            data = yaml.safe_load(raw)
        elif first == "+++":
            data = tomllib.loads(raw)
        else:
            data = json.loads(raw)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, ValueError) as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark else getattr(error, "lineno", None) or 1
        issues.append(Issue("bad_front_matter", f"front matter cannot be read: {getattr(error, 'problem', error)}",
                            path, line, severity="warning"))
        data = {}
    blanked = "\n" * end + "\n" + "\n".join(lines[end + 1 :])
    return (data if isinstance(data, dict) else {}), blanked, issues


def text_value(value: object) -> str:
    """A front matter value as clean one-line text (entities decoded)."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    return " ".join(html.unescape(str(value)).split())


def text_list(value: object) -> list[str]:
    """A list of names written as a YAML list or a comma-separated string (``aka: [a, b]`` / ``aka: a, b``)."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = value.get("label") or value.get("name") or ""
    if isinstance(value, list):
        return [name for item in value for name in text_list(item)]
    return [name for name in (text_value(part) for part in str(value).split(",")) if name]


def tag_list(value: object) -> list[str]:
    """Tags as Hugo (strings), Docusaurus (strings or ``{label: ...}``) or Material write them."""
    return list(dict.fromkeys(text_list(value)))


_LABEL_KEYS = ("aka", "synonyms", "also_known_as", "aliases", "alias")
_PREREQ_KEYS = ("prerequisites", "prerequisite", "前提知識", "前提")


@dataclass
class Fields:
    """What a page's front matter says about its term(s), read by the dialect."""

    title: str | None = None
    labels: list[str] = field(default_factory=list)  # altLabels
    ids: list[str] = field(default_factory=list)
    description: str = ""  # the definition when the body has none
    description_key: str | None = None
    tags: list[str] = field(default_factory=list)
    url: str | None = None
    term_keys: bool = False  # the front matter describes one term
    extra: dict = field(default_factory=dict)  # passed to parse_markdown's front (prerequisites)


def common_fields(front: dict, *, label_keys: tuple[str, ...] = _LABEL_KEYS,
                  description_keys: tuple[str, ...] = ("description",), tag_keys: tuple[str, ...] = ("tags",),
                  id_keys: tuple[str, ...] = ("id",)) -> Fields:
    """Front matter keys most generators share; each dialect adjusts what it must."""
    lowered = {str(k).lower(): v for k, v in front.items()}
    labels = [name for key in label_keys for name in text_list(lowered.get(key))]
    description_key = next((k for k in description_keys if text_value(lowered.get(k))), None)
    return Fields(
        title=text_value(lowered.get("title")) or None,
        labels=labels,
        ids=[i for key in id_keys if (i := text_value(lowered.get(key)))],
        description=text_value(lowered.get(description_key)) if description_key else "",
        description_key=description_key,
        tags=[tag for key in tag_keys for tag in tag_list(lowered.get(key))],
        term_keys=any(lowered.get(key) for key in label_keys),
        extra={k: v for k, v in front.items() if str(k).strip().lower() in _PREREQ_KEYS},
    )
