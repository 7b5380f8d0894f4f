"""SPARQL queries run in worker processes that can be stopped.

rdflib evaluates SPARQL in pure Python, and nothing in the serving process could bound
a query: a backtracking ``regex`` holds the GIL (every other request stalls with it), a
sorted cartesian product grows memory without bound, a thread cannot be killed (a timed-out
query runs on, holding its slot), and the parser (pyparsing) is not thread-safe, so a burst
of concurrent queries could leave it broken until restart.

So the serving process never parses or evaluates a query. It hands the text to one of a
few single-threaded worker processes and waits on a pipe without holding the GIL:

- past the query's wall time the worker is killed (SIGKILL) and replaced;
- each worker's address space is limited (``RLIMIT_AS``) to the graphs it holds plus a
  budget: a query that needs more gets a ``MemoryError`` there, or the worker dies, and the
  caller a 503 ``query_limit``;
- at most ``workers`` queries run at once; more wait for a free worker as long as their
  own time allows, then get a 503.

A worker loads the SKOS graph of a glossary version once, from a pickle the serving process
writes to a temporary file (``GraphSnapshot``), and keeps the last two versions it was asked
about, so that a reload does not make every worker read the graph again at once.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import pickle
import signal
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kg import errors
from kg.errors import KGError, QueryLimitError
from kg.rdf.sparql import DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT, SparqlAnswer, check_text, evaluate

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 2
DEFAULT_MEMORY_MB = 512
#: Seconds a worker may take to start and read a graph: not the query's time, which starts after.
LOAD_TIMEOUT = 120.0
_GRAPHS_KEPT = 2


@dataclass(frozen=True)
class GraphSnapshot:
    """A glossary version's SKOS graph, pickled to ``path`` once for the workers to load.
    ``remove()`` deletes the file (once; it is also deleted when its owner is collected, or at
    exit)."""

    key: str
    path: str
    remove: Callable[[], None] = field(default=lambda: None, compare=False, repr=False)

    @classmethod
    def write(cls, graph, owner: object) -> GraphSnapshot:
        """Pickle ``graph`` to a temporary file that is removed when ``owner`` is collected."""
        snapshot = cls._new(owner)
        _pickle_graph(graph, snapshot.path)
        return snapshot

    @classmethod
    def write_apart(cls, directory: str, settings_json: str, owner: object) -> GraphSnapshot:
        """``write`` for the store version in ``directory``, its graph built in a process of its
        own. Building the SKOS graph of 100,000 concepts is a minute of pure Python: in the
        serving process it held the GIL, and searches and paths right after start-up took
        seconds instead of milliseconds. Here the serving process only waits on a pipe."""
        snapshot = cls._new(owner)
        context = multiprocessing.get_context("spawn")  # no fork of a threaded server
        with context.Pool(1) as pool:
            pool.apply(_write_stored_graph, (directory, settings_json, snapshot.path))
        return snapshot

    @classmethod
    def _new(cls, owner: object) -> GraphSnapshot:
        handle, path = tempfile.mkstemp(prefix="kg-sparql-", suffix=".pickle")
        os.close(handle)
        return cls(key=os.path.basename(path), path=path, remove=weakref.finalize(owner, _remove, path))


def _pickle_graph(graph, path: str) -> None:
    from rdflib import Graph
    from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

    # Pickle loads 6x faster than N-Triples parse (3,700 triples: 9 against 56 ms).
    default = Graph(identifier=DATASET_DEFAULT_GRAPH_ID)
    for prefix, namespace in graph.namespaces():
        default.bind(prefix, namespace, override=True)
    default += graph
    with open(path, "wb") as out:
        pickle.dump(default, out, protocol=pickle.HIGHEST_PROTOCOL)


def _write_stored_graph(directory: str, settings_json: str, path: str) -> None:
    """In a process of its own: open the store version in ``directory`` and pickle its graph."""
    from pathlib import Path

    from kg.settings import Settings
    from kg.store.versions import Store

    version = Path(directory)
    glossary = Store(version.parent.parent).load(Settings.model_validate_json(settings_json), version.name)
    _pickle_graph(glossary.to_rdf(), path)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# -- the worker process ---------------------------------------------------------------------

def _limit_memory(budget: int | None) -> None:
    """Cap this process's address space at what it maps now plus ``budget`` bytes (None: lift
    the cap, to load a graph). Only the soft limit moves, so that it can be lifted again; the
    process runs nothing but rdflib on the queries it is sent, so nothing else could lift it."""
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if budget is None:
            resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
            return
        with open("/proc/self/status", encoding="ascii") as status:
            mapped = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
        soft = mapped + budget if hard == resource.RLIM_INFINITY else min(mapped + budget, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    except (ImportError, OSError, StopIteration, ValueError):  # not Linux: time limits still hold
        log.warning("cannot limit the memory of SPARQL workers on this system")


def _serve(conn, memory_budget: int) -> None:
    """A worker's loop: load graphs and answer queries until the pipe closes."""
    from rdflib import Dataset

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    # Below the server in the CPU's queue: a query burning its time slice should not slow the
    # requests that the server answers itself.
    os.nice(5)
    _limit_memory(memory_budget)  # a query's budget is counted beyond the graphs loaded
    graphs: OrderedDict[str, Any] = OrderedDict()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if message[0] == "load":
                _, key, path = message
                if key not in graphs:
                    _limit_memory(None)
                    with open(path, "rb") as data:
                        # The graph as a dataset's default graph: GRAPH patterns then match
                        # nothing (there are no named graphs) instead of failing.
                        graphs[key] = Dataset(store=pickle.load(data).store)
                    while len(graphs) > _GRAPHS_KEPT:
                        graphs.popitem(last=False)
                    _limit_memory(memory_budget)
                reply: tuple = ("ok", None)
            else:
                _, key, text, accept, fmt, timeout, max_rows, max_bytes = message
                if key not in graphs:
                    reply = ("missing",)
                else:
                    graphs.move_to_end(key)
                    reply = ("ok", evaluate(graphs[key], text, accept, fmt, timeout, max_rows, max_bytes))
        except KGError as error:
            reply = ("error", type(error).__name__, error.message, error.details)
        except MemoryError:
            # The heap may be half-torn: answer, then leave so that a fresh worker takes over.
            graphs.clear()
            conn.send(("error", "QueryLimitError", f"query needed more than the {memory_budget >> 20} MiB a "
                       "query may use", {"limit": "memory", "max_mb": memory_budget >> 20}))
            return
        except RecursionError:  # pyparsing recurses once per nested bracket
            reply = ("error", "QueryError", "the query is nested too deeply", {"parameter": "query"})
        except Exception as error:  # whatever the engine trips on is the query's fault, not a 500
            reply = ("error", "QueryError", f"cannot evaluate this query: {type(error).__name__}: {error}"[:500],
                     {"parameter": "query"})
        conn.send(reply)


# -- the serving side -----------------------------------------------------------------------

class _Died(Exception):
    pass


class _Worker:
    def __init__(self, context, memory_budget: int) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, memory_budget), name="kg-sparql", daemon=True)
        self.process.start()
        child.close()

    def call(self, message: tuple, timeout: float) -> tuple:
        """Send ``message`` and wait for the reply at most ``timeout`` seconds (None when none came)."""
        try:
            self.conn.send(message)
            if not self.conn.poll(max(timeout, 0.0)):
                return None
            return self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            raise _Died from None

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()

    @property
    def alive(self) -> bool:
        return self.process.is_alive() and not self.conn.closed


class QueryPool:
    """At most ``workers`` SPARQL queries at once, each in a process killed when its time is up.

    Thread-safe: the server's request threads share one pool.
    """

    def __init__(self, workers: int = DEFAULT_WORKERS, memory_mb: int = DEFAULT_MEMORY_MB) -> None:
        self.size = workers
        self.memory_budget = memory_mb * 1024 * 1024
        # forkserver: the server has threads, which fork would copy mid-flight; the fork server
        # imports the SPARQL engine once (not the caller's __main__), so a worker starts in
        # milliseconds after one is killed.
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["kg.rdf.sparql"])
        self._idle: list[_Worker] = []
        self._running = 0  # workers started and not idle
        self._cond = threading.Condition()
        self._closed = False

    def answer(self, snapshot: GraphSnapshot, text: str, accept: str | None = None, fmt: str | None = None,
               timeout: float = DEFAULT_TIMEOUT, max_rows: int = DEFAULT_MAX_ROWS,
               max_bytes: int = DEFAULT_MAX_BYTES) -> SparqlAnswer:
        """Answer ``text`` over the snapshot's graph (see ``kg.rdf.sparql.evaluate`` for the errors).

        Raises:
            QueryLimitError: no worker free within ``timeout``; the query ran longer than
                ``timeout`` (its worker is killed) or needed more memory than a worker has.
        """
        check_text(text)
        worker = self._acquire(time.monotonic() + timeout)
        try:
            request = ("query", snapshot.key, text, accept, fmt, timeout, max_rows, max_bytes)
            reply = worker.call(request, timeout)
            if reply is not None and reply[0] == "missing":  # the first query of this version here
                if worker.call(("load", snapshot.key, snapshot.path), LOAD_TIMEOUT) is None:
                    worker.kill()
                    raise QueryLimitError("the SPARQL graph took too long to load; try again", limit="time")
                reply = worker.call(request, timeout)
            if reply is None:
                worker.kill()  # the only way to stop it: it may not even hold the GIL between bytecodes
                raise QueryLimitError(f"query ran longer than {timeout:g} s", limit="time", timeout=timeout)
            if reply[0] == "error" and reply[3].get("limit") == "memory":
                worker.kill()  # it leaves after a MemoryError: not to be handed out again meanwhile
        except _Died:
            worker.kill()
            raise QueryLimitError(f"the query's worker stopped (more than the {self.memory_budget >> 20} MiB a "
                                  "query may use?)", limit="memory", max_mb=self.memory_budget >> 20) from None
        finally:
            self._release(worker)
        if reply[0] == "ok":
            return reply[1]
        _, name, message, details = reply
        error_type = getattr(errors, name, None)
        if not (isinstance(error_type, type) and issubclass(error_type, KGError)):
            error_type = errors.QueryError
        raise error_type(message, **details)

    def prepare(self, snapshot: GraphSnapshot) -> None:
        """Start the workers and have the idle ones load ``snapshot`` now, so that the first
        queries after a start or a reload do not wait for it. Never waits for a busy worker
        (nor holds one while waiting: two versions warming at once must not deadlock); errors
        are logged, not raised."""
        workers = []
        try:
            while len(workers) < self.size and (worker := self._acquire(None)) is not None:
                workers.append(worker)
            for worker in workers:
                if worker.call(("load", snapshot.key, snapshot.path), LOAD_TIMEOUT) is None:
                    worker.kill()
        except _Died as error:
            log.warning("SPARQL workers not ready: %s", error)
        finally:
            for worker in workers:
                self._release(worker)

    def close(self) -> None:
        """Kill every worker (idle ones now; busy ones as they come back)."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()

    def _acquire(self, deadline: float | None) -> _Worker | None:
        """An idle worker, else a new one if fewer than ``size`` run, else wait for one until
        ``deadline`` (None: do not wait, answer None)."""
        with self._cond:
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive:
                        self._running += 1
                        return worker
                if self._running < self.size:
                    self._running += 1
                    break
                if deadline is None:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise QueryLimitError(f"{self.size} queries are already running; try again", limit="running")
                self._cond.wait(remaining)
        try:
            return _Worker(self._context, self.memory_budget)
        except Exception:
            with self._cond:
                self._running -= 1
                self._cond.notify()
            raise

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            self._running -= 1
            if worker.alive and not self._closed:
                self._idle.append(worker)
            elif worker.alive:
                worker.kill()
            self._cond.notify()


_POOLS: dict[tuple[int, int], QueryPool] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(workers: int = DEFAULT_WORKERS, memory_mb: int = DEFAULT_MEMORY_MB) -> QueryPool:
    """The process-wide pool for these limits (every glossary version served shares it)."""
    with _POOLS_LOCK:
        pool = _POOLS.get((workers, memory_mb))
        if pool is None:
            pool = _POOLS[(workers, memory_mb)] = QueryPool(workers, memory_mb)
        return pool


@atexit.register
def _close_pools() -> None:
    for pool in list(_POOLS.values()):
        pool.close()
