"""The prerequisite DAG saved with a store version, so that a server starts without inferring it.

Inference reads every candidate pair's text (seconds per 10,000 concepts); loading
the saved edges costs a JSON parse. The file records the hash of the model that
inferred it: after ``kg train-prereqs`` the saved DAG is stale and is inferred again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import networkx as nx

from kg.prereqs.model import MODEL_PATH

DAG_FILE = "prerequisites.json"
FORMAT_VERSION = 2  # 2: each edge's relation and the words that show it
#: How definitions are read into candidate pairs (``kg.prereqs.cues``): bump it when that reading
#: changes what is inferred, so that a version saved by an older reading is inferred again when
#: it is loaded, not served stale until its sources change. 1: an English label after a modal is
#: its verb.
READING_VERSION = 1


def model_fingerprint(path: Path | str = MODEL_PATH) -> str:
    """sha256 of the model file, this format and the reading: what a saved DAG is valid for."""
    digest = hashlib.sha256(Path(path).read_bytes())
    digest.update(f"format {FORMAT_VERSION} reading {READING_VERSION}".encode())
    return digest.hexdigest()


def save_dag(directory: Path | str, dag: nx.DiGraph, model: Path | str = MODEL_PATH) -> dict[str, int]:
    """Write ``dag`` (inferred by ``model``) into a store version being built; returns its
    counts for the manifest."""
    edges = [
        [a, b, round(float(data["confidence"]), 6), data.get("evidence", ""), list(data.get("reasons", ())),
         bool(data.get("curated")), data.get("relation", ""), data.get("words", "")]
        for a, b, data in dag.edges(data=True)
    ]
    payload = {"format_version": FORMAT_VERSION, "model": model_fingerprint(model), "nodes": list(dag.nodes),
               "edges": edges}
    path = Path(directory) / DAG_FILE
    with open(path, "wb") as handle:
        handle.write(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
    return {"nodes": dag.number_of_nodes(), "edges": dag.number_of_edges()}


def load_dag(directory: Path | str | None, model: Path | str = MODEL_PATH) -> nx.DiGraph | None:
    """The DAG saved in ``directory``, or None when there is none or it was inferred by another
    model than ``model``."""
    if directory is None:
        return None
    path = Path(directory) / DAG_FILE
    try:
        payload = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None  # an older version without the file, or unreadable: infer again
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION \
            or payload.get("model") != model_fingerprint(model):
        return None
    dag = nx.DiGraph()
    dag.add_nodes_from(payload["nodes"])
    dag.add_edges_from(
        (a, b, {"confidence": confidence, "evidence": evidence, "reasons": tuple(reasons), "curated": curated,
                "relation": relation, "words": words})
        for a, b, confidence, evidence, reasons, curated, relation, words in payload["edges"]
    )
    return dag
