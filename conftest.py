"""Fixtures every test of the checkout shares (``tests/`` and ``benchmarks/tests/``): the real
corpus from ../shared (skipped only outside CI) and the small committed fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Unit tests embed with the deterministic hashing encoder; tests of the real model ask for
# it explicitly (the product's default: Settings.model_fields["model"].default) and are marked slow.
os.environ.setdefault("KG_MODEL", "fake")

ROOT = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("KG_SHARED_DIR", ROOT.parent / "shared"))
FIXTURES = ROOT / "tests" / "fixtures"


def _shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing: CI must run beside ../shared")
        pytest.skip(f"{path} not present (the shared corpus sits beside the checkout)")
    return path


@pytest.fixture(scope="session")
def linked_corpus() -> Path:
    return _shared_path("corpus", "tech_glossary", "linked")


@pytest.fixture(scope="session")
def raw_corpus() -> Path:
    return _shared_path("corpus", "tech_glossary", "raw")


@pytest.fixture(scope="session")
def skos_dir() -> Path:
    return _shared_path("corpus", "skos")


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    return _shared_path("eval")


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES
