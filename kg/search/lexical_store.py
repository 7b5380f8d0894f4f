"""The label matcher and BM25 index saved with a store version, so that a server start loads them.

Building them tokenises every label and sentence (6 s at 10,000 concepts, a minute at
100,000); unpickling them takes a fraction of that. The file is kg's own, written at
ingest into a version whose manifest records its hash, and read only from there.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kg.search.lexical import LabelMatcher, LexicalIndex

LEXICAL_FILE = "lexical.pickle"
#: Bump when LabelMatcher or LexicalIndex change what they hold: older files are rebuilt.
FORMAT_VERSION = 5


def save_lexical(directory: Path | str, labels: LabelMatcher, lexical: LexicalIndex) -> None:
    path = Path(directory) / LEXICAL_FILE
    with open(path, "wb") as handle:
        pickle.dump((FORMAT_VERSION, labels, lexical), handle, protocol=pickle.HIGHEST_PROTOCOL)
        handle.flush()
        os.fsync(handle.fileno())


def load_lexical(directory: Path | str | None) -> tuple[LabelMatcher, LexicalIndex] | None:
    """The saved pair, or None when there is none or it was written by another format."""
    if directory is None:
        return None
    try:
        with open(Path(directory) / LEXICAL_FILE, "rb") as handle:
            version, labels, lexical = pickle.load(handle)  # noqa: S301 - the store's own file, hash-checked
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError):
        return None
    return (labels, lexical) if version == FORMAT_VERSION else None
