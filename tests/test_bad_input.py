"""Bad input never stops the rest: each problem is named with file and line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest import ingest_paths
from kg import Glossary, Settings

GOOD = "## 良い用語 | Good Term\n\n- ちゃんとした定義。\n"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "good.md").write_text(GOOD, encoding="utf-8")
    return root


def _ingest(root: Path, **limits):
    result = ingest_paths([root], Settings(store=root.parent / "store", **limits))
    return result, Glossary.from_ingest(result)


def _issue(result, kind: str):
    found = [i for i in result.issues if i.kind == kind]
    assert found, [str(i) for i in result.issues]
    return found[0]


def test_invalid_utf8_is_reported_with_line_and_rest_kept(corpus):
    (corpus / "latin1.md").write_bytes(
        "## Café Term\n\n- first line\n".encode()
        + b"- caf\xe9 au lait\n"
        + "\n## 次の用語 | Next Term\n\n- 定義。\n".encode()
    )
    result, glossary = _ingest(corpus)
    issue = _issue(result, "invalid_utf8")
    assert (issue.file, issue.line, issue.severity) == ("latin1.md", 4, "error")
    assert "Next Term" in glossary and "Good Term" in glossary and "Café Term" in glossary
    assert not result.complete


def test_binary_file_is_skipped(corpus):
    (corpus / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    result, glossary = _ingest(corpus)
    assert _issue(result, "binary_file").file == "image.md"
    assert "Good Term" in glossary


def test_huge_file_is_skipped_with_its_size(corpus):
    with open(corpus / "huge.md", "wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # 50 MB, sparse: cheap to make
    result, glossary = _ingest(corpus)
    issue = _issue(result, "file_too_large")
    assert issue.file == "huge.md" and "50.0 MiB" in issue.message
    assert "Good Term" in glossary


def test_unreadable_file_is_reported(corpus):
    target = corpus / "locked.md"
    if os.geteuid() == 0:  # root reads anything: a dangling symlink is unreadable for everyone
        target.symlink_to(corpus / "does-not-exist.md")
    else:
        target.write_text(GOOD)
        target.chmod(0)
    result, glossary = _ingest(corpus)
    assert _issue(result, "unreadable").file == "locked.md"
    assert "Good Term" in glossary


def test_heading_with_ten_thousand_labels_is_capped(corpus):
    labels = " | ".join(f"label{i}" for i in range(10_000))
    (corpus / "many.md").write_text(f"# Title\n\n## {labels}\n\n- def\n\n## After | あと\n\n- x\n", encoding="utf-8")
    result, glossary = _ingest(corpus, max_heading_chars=1_000_000)
    issue = _issue(result, "too_many_labels")
    assert (issue.file, issue.line) == ("many.md", 3)
    concept = glossary.get("label0")
    assert len(concept.labels) == 50
    assert "After" in glossary


def test_overlong_heading_is_not_a_term(corpus):
    (corpus / "long.md").write_text("## " + "x" * 5000 + "\n\n- def\n\n## Fine\n\n- ok\n", encoding="utf-8")
    result, glossary = _ingest(corpus)
    assert (_issue(result, "long_heading").line) == 1
    assert "Fine" in glossary


def test_deep_nesting_does_not_crash(corpus):
    nested = "".join("  " * depth + "- level\n" for depth in range(2000))
    quotes = ">" * 5000 + " deep quote\n"
    (corpus / "deep.md").write_text("## Deep | 深い\n\n" + nested + quotes + "\n## Shallow\n\n- ok\n", encoding="utf-8")
    result, glossary = _ingest(corpus)
    issue = _issue(result, "too_deep")
    assert issue.file == "deep.md" and 3 < issue.line < 2003
    assert "Deep" in glossary and "Shallow" in glossary and "Good Term" in glossary


def test_unclosed_html_comment_loses_no_terms(corpus):
    text = ('## First\n\n- one\n\n<!-- an unclosed comment\n\n## Second\n\n- two <a href="good.md">good\n\n'
            '## Third\n\n- three\n')
    (corpus / "html.md").write_text(text, encoding="utf-8")
    result, glossary = _ingest(corpus)
    issues = [i for i in result.issues if i.kind == "unclosed_html"]
    assert {(i.file, i.line) for i in issues} == {("html.md", 5), ("html.md", 9)}
    assert {"First", "Second", "Third"} <= {c.name for c in glossary.concepts.values()}
    assert glossary.get("Second").links[0].target == glossary.get("Good Term").id


def test_link_to_missing_anchor_is_named(corpus):
    (corpus / "links.md").write_text(
        "## Linker\n\n- see [nothing](good.md#no-such-anchor) and [fine](good.md)\n", encoding="utf-8"
    )
    result, glossary = _ingest(corpus)
    issue = _issue(result, "broken_link")
    assert (issue.file, issue.line) == ("links.md", 3) and "no-such-anchor" in issue.message
    assert [l.target for l in glossary.get("Linker").links] == [glossary.get("Good Term").id]
    assert result.complete  # a broken link is a quality finding, not lost input


def test_missing_path_is_an_error_but_others_ingest(corpus):
    result = ingest_paths([corpus, corpus / "nope"], Settings(store=corpus.parent / "s"))
    assert _issue(result, "missing_input").severity == "error"
    assert len(result.concepts) == 1


def test_empty_and_headingless_files(corpus):
    (corpus / "empty.md").write_text("", encoding="utf-8")
    (corpus / "prose.md").write_text("Just some prose with no heading.\n", encoding="utf-8")
    result, glossary = _ingest(corpus)
    assert "Good Term" in glossary
    assert result.complete


def test_a_published_page_url_must_be_http(corpus):
    # A `javascript:` URL had become the concept page's "published page" link (stored script).
    (corpus / "bad.md").write_text("# 悪い\n\n<!-- 記事URL: javascript:alert(document.domain) -->\n\n## Bad Term\n\n"
                                   "- 定義。\n", encoding="utf-8")
    (corpus / "ok.md").write_text("<!-- 記事URL: https://example.org/ok.md -->\n\n## Ok Term\n\n- 定義。\n",
                                  encoding="utf-8")
    result, glossary = _ingest(corpus)
    issue = _issue(result, "bad_url")
    assert (issue.file, issue.line, issue.severity) == ("bad.md", 3, "warning") and "javascript:" in issue.message
    assert glossary.get("Bad Term").sources[0].url is None
    assert glossary.get("Ok Term").sources[0].url == "https://example.org/ok.md"
