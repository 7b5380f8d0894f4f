"""The versioned store: round trips, no-op re-ingest, partial ingests, crashes, GC and locking."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kg.errors import StoreError
from kg.glossary import Glossary
from kg.settings import Settings
from kg.store.versions import SCHEMA_VERSION, Store, new_version_id, update_store

GOOD = """\
# 基礎

## 深層学習 | Deep Learning
- 多層のニューラルネットワーク | Neural Network を使う機械学習の手法。

## ニューラルネットワーク | Neural Network
- 脳の神経回路を模した計算モデル。

## 過学習 | Overfitting
- 訓練データに適合しすぎること。ドロップアウト | Dropout で防ぐ。

## ドロップアウト | Dropout
- ニューラルネットワークの一部のユニットを訓練中にランダムに無効にする手法。
"""

# A subprocess that runs update_store with a slow progress callback, so that a test
# can see (and kill, or compete with) an ingest in progress. Argument "-" means none.
WORKER = """\
import json, os, sys, time
from pathlib import Path
from kg.settings import Settings
from kg.store.versions import update_store

corpus, store, log, ready, wait_for, delay = sys.argv[1:7]
state = {}

def progress(done, total, name):
    if "start" not in state:
        state["start"] = time.time()
        deadline = time.time() + 30
        while wait_for != "-" and not os.path.exists(wait_for) and time.time() < deadline:
            time.sleep(0.01)
    time.sleep(float(delay))

if ready != "-":
    Path(ready).touch()
outcome = update_store([corpus], Settings(store=store), progress=progress)
state.update(end=time.time(), version=outcome.version, exit_code=outcome.exit_code)
Path(log).write_text(json.dumps(state))
"""


def write_glossary(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def generated_corpus(folder: Path, n_files: int, terms_per_file: int = 5) -> Path:
    """``n_files`` Markdown glossaries whose definitions mention terms of other files."""
    files = {}
    for f in range(n_files):
        sections = []
        for t in range(terms_per_file):
            other = (f + 1) % n_files
            sections.append(f"## 用語{f}-{t} | Term {f} {t}\n- Term {other} {t} を使って説明する概念。\n")
        files[f"g{f:04d}.md"] = "\n".join(sections)
    return write_glossary(folder, files)


def tmp_dirs(store: Store) -> list[Path]:
    return sorted(store.versions_dir.glob(".tmp-*"))


def wait_for(predicate, timeout: float, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if process is not None and process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"worker exited ({process.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.002)


def start_worker(tmp_path: Path, corpus: Path, settings: Settings, name: str, *, ready: str = "-",
                 wait: str = "-", delay: float = 0.005) -> tuple[subprocess.Popen, Path]:
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    log = tmp_path / f"{name}.json"
    args = [sys.executable, str(script), str(corpus), str(settings.store), str(log), ready, wait, str(delay)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, log


# -- reading and writing ------------------------------------------------------------------


def test_empty_store_says_what_to_do(settings):
    store = Store(settings.store)
    assert store.is_empty() and store.current_version() is None and store.versions() == []
    with pytest.raises(StoreError, match="kg ingest PATH"):
        store.load()
    with pytest.raises(StoreError, match="empty"):
        Glossary.open(settings)


def test_write_then_load_round_trips(tmp_path, settings):
    from ingest import ingest_paths

    corpus = write_glossary(tmp_path / "corpus", {"dl.md": GOOD, "more.md": "## 学習率 | Learning Rate\n- 更新幅。\n"})
    result = ingest_paths([corpus], settings)
    store = Store(settings.store)
    version = store.write(result, settings, {"model": "fake"}, inputs=[corpus])

    assert store.current_version() == version and store.versions() == [version]
    glossary = store.load(settings)
    assert glossary.version == version
    assert sorted(glossary.concepts.values(), key=lambda c: c.id) == sorted(result.concepts, key=lambda c: c.id)
    assert list(glossary.collections.values()) == result.collections
    assert glossary.issues == result.issues
    assert glossary.get("Dropout").links  # mentions survived as links

    manifest = store.manifest()
    assert manifest == glossary.manifest
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["sources"] == result.sources and set(manifest["sources"]) == {"dl.md", "more.md"}
    assert manifest["inputs"] == [str(corpus.absolute())]
    assert manifest["settings"]["base_uri"] == settings.base_uri
    assert manifest["counts"]["concepts"] == len(result.concepts) == 5
    assert set(manifest["counts"]["issues"]) == {"error", "warning", "info"}
    assert manifest["extra"] == {"model": "fake"}
    assert manifest["created"].endswith("Z") and manifest["kg_version"]
    assert Glossary.open(settings).version == version


def test_version_ids_are_unique_and_well_formed():
    ids = [new_version_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 29 and i[8] == "T" and i[21:23] == "Z-" for i in ids)
    stamps = [i[:22] for i in ids]
    assert stamps == sorted(stamps)  # the time prefix never goes backwards


def test_linked_corpus_loads_fast(linked_corpus, settings):
    outcome = update_store([linked_corpus], settings)
    assert outcome.changed and outcome.exit_code == 0
    store = Store(settings.store)
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        glossary = store.load(settings)
        timings.append(time.perf_counter() - start)
    assert len(glossary) == len(outcome.result.concepts) > 200
    assert min(timings) < 0.1, timings


# -- update_store -------------------------------------------------------------------------


def test_unchanged_sources_do_no_work(tmp_path, settings):
    corpus = write_glossary(tmp_path / "corpus", {"dl.md": GOOD})
    calls: list[str] = []
    first = update_store([corpus], settings, progress=lambda done, total, name: calls.append(name))
    assert first.changed and first.exit_code == 0 and calls[0] == "dl.md" and set(calls[1:]) <= {"embedding"}
    store = Store(settings.store)
    current = (settings.store / "CURRENT").read_bytes()

    # Same bytes, new mtime: the content hash decides, not the timestamp.
    (corpus / "dl.md").write_bytes((corpus / "dl.md").read_bytes())
    os.utime(corpus / "dl.md", (time.time() + 60, time.time() + 60))
    calls.clear()
    second = update_store([corpus], settings, progress=lambda done, total, name: calls.append(name))

    assert calls == []  # ingest calls progress for every file it parses and every text it embeds
    assert not second.changed and second.result is None and second.issues == []
    assert second.version == first.version and second.exit_code == 0
    assert store.versions() == [first.version]
    assert (settings.store / "CURRENT").read_bytes() == current


def test_a_dag_saved_by_another_reading_is_inferred_again(tmp_path, settings, monkeypatch):
    from kg.prereqs import saved

    corpus = write_glossary(tmp_path / "corpus", {"dl.md": GOOD})
    update_store([corpus], settings)
    directory = Glossary.open(settings).directory
    assert saved.load_dag(directory) is not None  # the DAG saved with the version is what is served
    monkeypatch.setattr(saved, "READING_VERSION", saved.READING_VERSION + 1)  # a later kg reads otherwise
    assert saved.load_dag(directory) is None
    inferred = Glossary.open(settings).prerequisites  # inferred again, not served stale
    monkeypatch.undo()
    assert sorted(inferred.edges) == sorted(saved.load_dag(directory).edges)


def test_changed_file_creates_new_version(tmp_path, settings):
    corpus = write_glossary(tmp_path / "corpus", {"dl.md": GOOD})
    first = update_store([corpus], settings)
    with open(corpus / "dl.md", "a", encoding="utf-8") as handle:
        handle.write("\n## 勾配降下法 | Gradient Descent\n- 損失を減らす方向に進む。\n")
    second = update_store([corpus], settings)

    store = Store(settings.store)
    assert second.changed and second.version != first.version
    assert store.current_version() == second.version
    assert store.versions() == [first.version, second.version]
    assert "Gradient Descent" in store.load()
    assert "Gradient Descent" not in store.load(version=first.version)  # the old version is still readable


def test_settings_change_or_force_reingests(tmp_path, settings):
    corpus = write_glossary(tmp_path / "corpus", {"dl.md": GOOD})
    first = update_store([corpus], settings)
    forced = update_store([corpus], settings, force=True)
    assert forced.changed and forced.version != first.version
    other = settings.model_copy(update={"max_heading_chars": 100})
    assert update_store([corpus], other).changed
    assert not update_store([corpus], other).changed


@pytest.mark.parametrize("bad", ["binary", "too_large"])
def test_partial_ingest_is_written_with_exit_code_1(tmp_path, settings, bad):
    corpus = write_glossary(tmp_path / "corpus", {"dl.md": GOOD})
    if bad == "binary":
        (corpus / "broken.md").write_bytes(b"## X\n\x00\x01\x02" * 10)
    else:
        (corpus / "huge.md").write_text("## 巨大 | Huge\n- " + "x" * 5000 + "\n", encoding="utf-8")
        settings = settings.model_copy(update={"max_file_bytes": 2000})

    outcome = update_store([corpus], settings)
    assert outcome.changed and outcome.exit_code == 1
    kinds = {i.kind for i in outcome.issues if i.severity == "error"}
    assert kinds == {"binary_file" if bad == "binary" else "file_too_large"}
    glossary = Store(settings.store).load(settings)
    assert glossary.version == outcome.version
    assert {"Deep Learning", "Dropout"} <= {c.name for c in glossary.concepts.values()}
    assert Store(settings.store).manifest()["counts"]["issues"]["error"] == 1

    # Lost input is not "unchanged": running again reports it again.
    again = update_store([corpus], settings)
    assert again.changed and again.exit_code == 1


def test_nothing_ingestible_keeps_previous_version(tmp_path, settings):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.md").write_bytes(b"\x00binary")
    store = Store(settings.store)

    into_empty = update_store([bad], settings)
    assert into_empty.exit_code == 2 and into_empty.version is None and store.is_empty()

    corpus = write_glossary(tmp_path / "corpus", {"dl.md": GOOD})
    good = update_store([corpus], settings)
    outcome = update_store([bad, tmp_path / "missing"], settings)
    assert outcome.exit_code == 2 and not outcome.changed
    assert outcome.version == good.version == store.current_version()
    assert {"binary_file", "missing_input", "nothing_ingested"} <= {i.kind for i in outcome.issues}
    assert store.versions() == [good.version] and tmp_dirs(store) == []
    assert len(store.load()) == 4


# -- refusing bad stores ------------------------------------------------------------------


def test_schema_mismatch_is_refused_and_reingested(tmp_path, settings):
    corpus = write_glossary(tmp_path / "corpus", {"dl.md": GOOD})
    first = update_store([corpus], settings)
    store = Store(settings.store)
    path = store.version_dir() / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["schema_version"] = 999
    path.write_text(json.dumps(manifest), encoding="utf-8")

    with pytest.raises(StoreError) as caught:
        store.load()
    assert f"written by schema 999, this version of kg reads schema {SCHEMA_VERSION}" in caught.value.message
    assert "re-run `kg ingest" in caught.value.message
    assert caught.value.status == 503

    again = update_store([corpus], settings)  # same sources, but the old layout cannot be served
    assert again.changed and again.version != first.version
    assert len(store.load()) == 4


@pytest.mark.parametrize("damage", ["truncated", "missing", "wrong_shape"])
def test_corrupt_files_are_named(tmp_path, settings, damage):
    corpus = write_glossary(tmp_path / "corpus", {"dl.md": GOOD})
    update_store([corpus], settings)
    store = Store(settings.store)
    concepts = store.version_dir() / "concepts.json"
    if damage == "truncated":
        concepts.write_bytes(concepts.read_bytes()[:50])
    elif damage == "missing":
        concepts.unlink()
    else:
        concepts.write_text('[{"labels": []}]', encoding="utf-8")
    with pytest.raises(StoreError, match="concepts.json"):
        store.load()


@pytest.mark.parametrize("name", ["concepts.json", "vectors.faiss"])
def test_a_file_changed_in_place_is_refused_by_its_hash(tmp_path, name):
    """Same size, one byte different: only the manifest's hash can tell; nothing half-changed is served."""
    settings = Settings(store=tmp_path / "store", model="fake")
    corpus = write_glossary(tmp_path / "corpus", {"dl.md": GOOD})
    update_store([corpus], settings)
    store = Store(settings.store)
    manifest = store.manifest()
    assert {"concepts.json", "collections.json", "issues.json", "vectors.faiss"} <= set(manifest["files"])
    path = store.version_dir() / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="hash the manifest recorded"):
        store.load(settings)


def test_bad_version_names_are_refused(tmp_path, settings):
    corpus = write_glossary(tmp_path / "corpus", {"dl.md": GOOD})
    update_store([corpus], settings)
    store = Store(settings.store)
    for name in ("../versions", "nope", ".tmp-x"):
        with pytest.raises(StoreError, match="no version"):
            store.load(version=name)
    (settings.store / "CURRENT").write_text("20200101T000000000000Z-abcdef\n")
    with pytest.raises(StoreError, match="re-run `kg ingest"):
        store.load()


# -- garbage collection, crashes and locking ----------------------------------------------


def test_garbage_collection_keeps_newest_versions(tmp_path, settings):
    corpus = write_glossary(tmp_path / "corpus", {"dl.md": GOOD})
    store = Store(settings.store)
    written = []
    for n in range(5):
        (corpus / "extra.md").write_text(f"## 用語{n} | Term {n}\n- 定義{n}。\n", encoding="utf-8")
        written.append(update_store([corpus], settings).version)
    assert written == sorted(written)  # ids sort in the order they were written
    assert store.versions() == written[-3:] and store.current_version() == written[-1]

    # Point CURRENT at the oldest survivor: a smaller keep never deletes it.
    (settings.store / "CURRENT").write_text(written[2] + "\n")
    (store.versions_dir / ".tmp-leftover").mkdir()
    (settings.store / ".CURRENT-dead").write_text("x")
    Store(settings.store, keep=1).collect_garbage()
    assert store.versions() == [written[2], written[4]]
    assert tmp_dirs(store) == [] and not (settings.store / ".CURRENT-dead").exists()
    assert len(store.load()) == 5


def test_ingest_killed_halfway_leaves_previous_version(tmp_path, settings):
    small = write_glossary(tmp_path / "small", {"dl.md": GOOD})
    before = update_store([small], settings)
    store = Store(settings.store)
    big = generated_corpus(tmp_path / "big", 300)

    process, _log = start_worker(tmp_path, big, settings, "killed")
    try:
        wait_for(lambda: tmp_dirs(store), 60, "the worker's .tmp- build directory", process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL

    leftovers = tmp_dirs(store)
    assert leftovers  # the build was interrupted, not finished
    assert store.current_version() == before.version and store.versions() == [before.version]
    assert len(store.load()) == 4

    # The kernel released the dead writer's lock; the next update cleans up even when it has nothing to do.
    after = update_store([small], settings)
    assert not after.changed and after.version == before.version
    assert tmp_dirs(store) == []


def test_concurrent_writers_take_turns(tmp_path, settings):
    first_corpus = generated_corpus(tmp_path / "first", 40)
    second_corpus = write_glossary(tmp_path / "second", {"dl.md": GOOD})
    store = Store(settings.store)
    second_ready = tmp_path / "second.ready"

    # The first writer, once inside ingest (holding the lock), waits until the second is
    # about to call update_store, then keeps working for a while.
    first, first_log = start_worker(tmp_path, first_corpus, settings, "first", wait=str(second_ready), delay=0.02)
    second = None
    try:
        wait_for(lambda: tmp_dirs(store), 60, "the first writer's build", first)
        second, second_log = start_worker(tmp_path, second_corpus, settings, "second", ready=str(second_ready))
        for process in (first, second):
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()

    a = json.loads(first_log.read_text())
    b = json.loads(second_log.read_text())
    assert b["start"] >= a["end"]  # the second ingest began only after the first finished
    assert a["exit_code"] == b["exit_code"] == 0
    assert store.versions() == [a["version"], b["version"]]
    assert store.current_version() == b["version"] and len(store.load()) == 4


def test_concept_to_dict_is_asdict_with_every_field_set():
    """The hand-written ``Concept.to_dict`` (``asdict`` is slow at scale) must stay what
    ``asdict`` gives, and must round-trip, with every field holding something."""
    import dataclasses

    from kg.model import Concept, Definition, Label, Link, Source

    where = Source("a.md", 3, "https://example.org/a")
    concept = Concept(
        id="x", labels=[Label("X", "en"), Label("エックス", "ja")],
        definitions=[Definition("text", where, "en"), Definition("other")],
        sources=[where, Source("b.md")], links=[Link("y", "mention", "Y", "uses Y.", where), Link("z")],
        collections=["c"], broader=["b"], uri="https://example.org/x", hidden_labels=[Label("ex", "en")],
        schemes=["https://example.org/s"], prerequisites=["p"], rejected_prerequisites=["r"],
        inferred_prerequisites=["i"],
    )
    for field in dataclasses.fields(Concept):
        assert getattr(concept, field.name), f"{field.name} left empty: the test would not cover it"
    assert concept.to_dict() == dataclasses.asdict(concept)
    assert list(concept.to_dict()) == [field.name for field in dataclasses.fields(Concept)]
    assert Concept.from_dict(json.loads(json.dumps(concept.to_dict()))) == concept
