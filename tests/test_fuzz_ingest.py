"""Property-based fuzzing of the Markdown ingest (hypothesis): whatever the text, ingest either
works or raises one of the project's own errors, and every concept it makes is well formed."""
from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.markdown import parse_markdown
from ingest.pipeline import IngestResult, _build_concepts
from kg.errors import KGError

EXAMPLES = int(os.environ.get("KG_FUZZ_EXAMPLES", "10000"))

_WORDS = st.sampled_from([
    "Deep Learning", "深層学習", "LSTM", "Transformer", "前提:", "Prerequisites:", "Same as", "See", "|", "(", ")",
    "$x^2$", "$$", "`code`", "**", "[[", "]]", "[link](#a)", '<a href="x.md#QQ==">', "</a>", "<!--", "-->", "<pre>",
    "\\", "&amp;", "&#0;", "\u0000", "\ufeff", "\u200b", "ー", "ＬＳＴＭ", "x" * 300, "→", "の一種", "を用いた",
])
_LINE = st.lists(st.one_of(_WORDS, st.text(max_size=12)), max_size=8).map(" ".join)
_PREFIX = st.sampled_from(["", "# ", "## ", "### ", "#### ", "- ", "  - ", "    - ", "1. ", "> ", "```", "---",
                           "| a | b |", "    ", "title: x", "aliases: [a, b]"])
_DOCUMENT = st.lists(st.tuples(_PREFIX, _LINE).map("".join), max_size=40).map("\n".join)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.lists(_DOCUMENT, min_size=1, max_size=3))
def test_markdown_ingest_never_crashes(documents):
    try:
        parsed = [parse_markdown(text, f"f{n}.md") for n, text in enumerate(documents)]
        result = IngestResult()
        _build_concepts(parsed, result)
    except KGError:
        return  # the project's own errors are answers, not crashes
    ids = [c.id for c in result.concepts]
    assert len(ids) == len(set(ids)) and all(ids)
    known = set(ids)
    for concept in result.concepts:
        assert concept.labels and all(label.text.strip() for label in concept.labels)
        assert all(link.target in known for link in concept.links)
        assert set(concept.prerequisites) <= known
    for issue in result.issues:
        assert issue.message and issue.severity in ("error", "warning", "info")
