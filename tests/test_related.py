"""Related concepts (kg.prereqs.related): links both ways, shared neighbours, similar meaning, one entry per concept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest import ingest_paths
from kg import Glossary
from kg.errors import BadParameterError, NotFoundError
from kg.model import Concept, Label, Link
from kg.prereqs.related import KINDS, W_LINKED_FROM, W_LINKS_TO, W_SHARED, W_SIMILAR, related
from kg.settings import Settings

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def small() -> Glossary:
    """tests/fixtures/glossary with its dense index (fake encoder)."""
    return Glossary.from_ingest(ingest_paths([FIXTURES / "glossary"]), Settings())


@pytest.fixture(scope="module")
def graph_only() -> Glossary:
    return Glossary.from_ingest(ingest_paths([FIXTURES / "glossary"]), Settings(semantic_index=False))


def by_id(terms) -> dict:
    return {term.id: term for term in terms}


def reasons_of(term, kind: str) -> list:
    return [reason for reason in term.reasons if reason.kind == kind]


def assert_well_formed(terms, asked: str) -> None:
    ids = [term.id for term in terms]
    assert len(ids) == len(set(ids)), "one entry per concept"
    assert asked not in ids, "a concept is not related to itself"
    assert [t.score for t in terms] == sorted((t.score for t in terms), reverse=True)
    for term in terms:
        assert term.reasons, term.id
        assert {r.kind for r in term.reasons} <= set(KINDS)
        assert len({r.kind for r in term.reasons}) == len(term.reasons), "reasons of a kind are merged"
        assert term.score == pytest.approx(sum(r.score for r in term.reasons))
        assert 0 < term.score <= 1
        assert all(r.detail for r in term.reasons)


# -- the small committed glossary ------------------------------------------------------------


def test_graph_only_glossary_gives_links_both_ways_with_evidence(graph_only):
    assert graph_only.engine.semantic is None
    terms = related(graph_only, "Deep Learning")
    assert_well_formed(terms, "deep-learning")
    found = by_id(terms)
    assert {"neural-network", "machine-learning"} <= set(found)
    network = found["neural-network"]
    (links_to,) = reasons_of(network, "links_to")
    assert links_to.evidence == "多層のニューラルネットワークを用いる機械学習の一分野。"
    assert links_to.detail == links_to.evidence
    assert links_to.count == 1 and links_to.kinds == ["link"]
    (linked_from,) = reasons_of(network, "linked_from")
    assert linked_from.evidence == "深層学習の基礎。"
    assert not any(r.kind == "similar_meaning" for t in terms for r in t.reasons)
    # A mutual link with one reference each way: (1.0 * 0.5 + 0.8 * 0.5) over the sum of the weights.
    total = W_LINKS_TO + W_LINKED_FROM + W_SHARED + W_SIMILAR
    assert network.score == pytest.approx((W_LINKS_TO * 0.5 + W_LINKED_FROM * 0.5) / total)


def test_shared_neighbours_name_what_is_shared(graph_only):
    # Cross Entropy and Regularization both use Loss Function and are not linked to each other.
    found = by_id(related(graph_only, "Cross Entropy"))
    (shared,) = found["regularization"].reasons
    assert shared.kind == "shared_neighbours"
    assert shared.detail == "shares 1 neighbour: Loss Function"
    assert shared.neighbours == [{"id": "loss-function", "name": "Loss Function"}]
    # The direct link outranks what is only shared.
    assert found["loss-function"].score > found["regularization"].score


def test_a_concept_without_links_has_no_graph_relations(graph_only):
    assert related(graph_only, "Normalization") == []


def test_dense_index_adds_similar_meaning(small):
    assert small.engine.semantic is not None
    terms = related(small, "Deep Learning", k=20)
    assert_well_formed(terms, "deep-learning")
    similar = [r for t in terms for r in t.reasons if r.kind == "similar_meaning"]
    assert similar
    for reason in similar:
        assert 0 < reason.cosine <= 1.0001
        assert f"{reason.cosine:.2f}" in reason.detail
    # Every other concept is in the index, so k=20 reaches every one that is linked or whose
    # meaning is at all similar (a positive cosine), and never the concept itself.
    semantic = small.engine.semantic
    own = [n for n, p in enumerate(semantic.passages) if p.concept_id == "deep-learning"]
    scores, rows = semantic.index.search(semantic.index.reconstruct(own), len(semantic.passages))
    positive = {semantic.passages[int(r)].concept_id for s_row, r_row in zip(scores, rows, strict=True)
                for s, r in zip(s_row, r_row, strict=True) if s > 0} - {"deep-learning"}
    linked = set(small.graph.succ["deep-learning"]) | set(small.graph.pred["deep-learning"])
    assert {t.id for t in terms} == positive | linked
    # The links still rank first.
    assert {t.id for t in terms[:2]} == {"neural-network", "machine-learning"}


def test_japanese_label_and_id_give_the_same_answer(small):
    assert [t.to_dict() for t in related(small, "深層学習")] == [t.to_dict() for t in related(small, "deep-learning")]


def test_k_limits_the_answer(small):
    assert len(related(small, "Deep Learning", k=1)) == 1


@pytest.mark.parametrize("k", [0, -1, 101])
def test_k_out_of_range_is_a_bad_parameter(small, k):
    with pytest.raises(BadParameterError) as caught:
        related(small, "Deep Learning", k=k)
    assert caught.value.details["parameter"] == "k"
    assert caught.value.status == 422


def test_unknown_term_suggests_close_labels(small):
    with pytest.raises(NotFoundError) as caught:
        related(small, "Deep Lerning")
    assert caught.value.status == 404
    assert "deep-learning" in [s["id"] for s in caught.value.details["suggestions"]]


def test_more_references_make_a_stronger_link():
    concepts = [
        Concept(
            "hub",
            [Label("Hub", "en")],
            links=[
                Link("once", sentence="Hub uses Once."),
                Link("often", sentence="Hub uses Often."),
                Link("often", sentence="Often again."),
                Link("often", sentence="Often thrice."),
            ],
        ),
        Concept("once", [Label("Once", "en")]),
        Concept("often", [Label("Often", "en")]),
    ]
    glossary = Glossary(concepts, settings=Settings(semantic_index=False))
    terms = related(glossary, "hub")
    assert [t.id for t in terms] == ["often", "once"]
    (reason,) = terms[0].reasons
    assert reason.count == 3 and reason.evidence == "Hub uses Often."


def test_results_are_json(small):
    data = [t.to_dict() for t in related(small, "Deep Learning")]
    json.dumps(data, ensure_ascii=False)
    assert {"id", "name", "labels", "score", "reasons"} == set(data[0])
    assert data[0]["labels"]["ja"] and data[0]["labels"]["en"]


def test_a_stored_glossary_reads_its_saved_index(tmp_path):
    from kg.store.versions import update_store

    settings = Settings(store=tmp_path / "store")
    update_store([FIXTURES / "glossary"], settings)
    glossary = Glossary.open(settings)
    terms = related(glossary, "Loss Function", k=10)
    assert_well_formed(terms, "loss-function")
    assert any(r.kind == "similar_meaning" for t in terms for r in t.reasons)
    assert {"gradient-descent", "cross-entropy", "regularization"} <= {t.id for t in terms}


# -- the real linked corpus ----------------------------------------------------------------------


def test_deep_learning_in_the_linked_corpus(linked_glossary):
    terms = related(linked_glossary, "Deep Learning", k=20)
    assert_well_formed(terms, "deep-learning")
    found = by_id(terms)
    assert {"neural-network", "machine-learning"} <= set(found)
    (links_to,) = reasons_of(found["neural-network"], "links_to")
    assert "ニューラルネットワーク" in links_to.evidence
    assert any(r.kind == "links_to" for r in found["machine-learning"].reasons)
    assert any(r.kind == "similar_meaning" for t in terms for r in t.reasons)
    assert any(r.kind == "shared_neighbours" for t in terms for r in t.reasons)


def test_every_concept_of_the_linked_corpus_answers(linked_glossary):
    for concept_id in linked_glossary.concepts:
        assert_well_formed(related(linked_glossary, concept_id, k=5), concept_id)


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def kg_cli():
    """The ``kg`` command group (graph commands included)."""
    from api.cli import cli

    return cli


def test_cli_related(kg_cli, tmp_path):
    settings = Settings(store=tmp_path / "store")
    runner = CliRunner()
    store = ["--store", str(settings.store)]
    assert runner.invoke(kg_cli, ["ingest", str(FIXTURES / "glossary"), *store], obj=settings).exit_code in (0, 1)

    result = runner.invoke(kg_cli, ["related", "Deep Learning", "--k", "3", *store], obj=settings)
    assert result.exit_code == 0, result.output
    assert "Neural Network" in result.stdout and "links_to:" in result.stdout
    assert "多層のニューラルネットワークを用いる機械学習の一分野。" in result.stdout

    result = runner.invoke(kg_cli, ["related", "深層学習", "--json", *store], obj=settings)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == "deep-learning" and data["results"][0]["reasons"]

    result = runner.invoke(kg_cli, ["related", "Deep Lerning", *store], obj=settings)
    assert result.exit_code == 1
    assert "did you mean" in result.stderr and "Deep Learning" in result.stderr

    result = runner.invoke(kg_cli, ["related", "Deep Learning", "--k", "0", *store], obj=settings)
    assert result.exit_code == 2


@pytest.mark.parametrize("seed", range(4))
def test_ranking_equals_scoring_every_concept(seed):
    """Only the concepts that may reach the k-th best are scored exactly (next to a hub the
    others are thousands): the answer must equal scoring every concept, ties included."""
    import math
    import random

    from kg.prereqs.related import link_strength

    rng = random.Random(seed)
    n = 150
    hubs = [f"c{i:03d}" for i in range(4)]
    links: dict[str, list[Link]] = {f"c{i:03d}": [] for i in range(n)}
    for i in range(n):
        cid = f"c{i:03d}"
        targets = rng.sample(hubs, rng.randint(0, 2)) + rng.sample(sorted(links), rng.randint(0, 3))
        for target in targets:
            if target != cid:
                links[cid] += [Link(target)] * rng.choice((1, 1, 2))  # repeats: stronger links
    concepts = [Concept(cid, [Label(f"T{rng.randint(0, 30)}", "en")], links=ls) for cid, ls in links.items()]
    glossary = Glossary(concepts, settings=Settings(semantic_index=False))
    graph = glossary.graph
    neighbours = {c: (set(graph.succ[c]) | set(graph.pred[c])) - {c} for c in graph}
    total_weight = W_LINKS_TO + W_LINKED_FROM + W_SHARED + W_SIMILAR

    def expected(cid: str, k: int) -> list[tuple[str, float]]:
        weights = {z: 1 / math.log(len(neighbours[z])) for z in neighbours[cid] if len(neighbours[z]) >= 2}
        scale = W_SHARED / math.fsum(weights.values()) / total_weight if weights else 0.0
        totals = {}
        for other in graph:
            if other == cid:
                continue
            score = 0.0
            if graph.has_edge(cid, other):
                score += W_LINKS_TO * link_strength(graph.edges[cid, other]["count"]) / total_weight
            if graph.has_edge(other, cid):
                score += W_LINKED_FROM * link_strength(graph.edges[other, cid]["count"]) / total_weight
            via = [z for z in weights if other in neighbours[z]]
            if via:
                score += math.fsum(weights[z] for z in via) * scale
            if score > 0:
                totals[other] = score
        ranked = sorted(totals, key=lambda o: (-totals[o], glossary.concepts[o].name.casefold(), o))[:k]
        return [(o, totals[o]) for o in ranked]

    for cid in [*hubs, *rng.sample(sorted(links), 25)]:
        for k in (1, 3, 10, 40):
            got = [(term.id, term.score) for term in related(glossary, cid, k=k)]
            want = expected(cid, k)
            assert [o for o, _ in got] == [o for o, _ in want], (cid, k)
            assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-12), (cid, k)
