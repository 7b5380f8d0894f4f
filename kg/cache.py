"""A small thread-safe LRU cache (the server answers from several threads), bounded in
entries and, optionally, in bytes."""
from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")

_MISSING = object()  # a key not held (a value may be None)

#: Bytes counted for each entry beyond its value: the key, the dict slot, the tuple (a rough mean).
ENTRY_OVERHEAD = 256


def approximate_size(value: Any) -> int:
    """A cheap estimate of the bytes ``value`` holds: the length of bytes and text, the sum over
    the items of a tuple or list (one level deep, no recursion into objects), else
    ``sys.getsizeof``.

    >>> approximate_size(b"abcd"), approximate_size((b"ab", "cd"))
    (4, 4)
    """
    if isinstance(value, bytes | bytearray | str):
        return len(value)
    if isinstance(value, tuple | list):
        return sum(len(v) if isinstance(v, bytes | bytearray | str) else sys.getsizeof(v) for v in value)
    return sys.getsizeof(value)


class LRUCache(Generic[V]):
    """At most ``size`` values and (with ``max_bytes``) at most that many bytes of them, least
    recently used dropped first.

    Args:
        size: most entries.
        max_bytes: most bytes, each entry counted as ``sizer(value) + ENTRY_OVERHEAD``; None: no
            byte bound. A value larger than the whole budget is returned but not kept.
        sizer: the size of one value (default ``approximate_size``: right for bytes and text,
            a floor for other objects, so give a sizer when the values are not bytes).

    >>> cache = LRUCache(2)
    >>> cache.get("a", lambda: 1), cache.get("a", lambda: 2)
    (1, 1)
    >>> small = LRUCache(100, max_bytes=2 * ENTRY_OVERHEAD + 10)
    >>> [len(small.get(k, lambda: b"x" * 5)) for k in "abc"], len(small), small.bytes
    ([5, 5, 5], 2, 522)
    """

    def __init__(self, size: int, max_bytes: int | None = None,
                 sizer: Callable[[V], int] | None = None) -> None:
        self._data: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size
        self._max_bytes = max_bytes
        self._sizer = sizer or approximate_size
        self.bytes = 0  # what the entries held now are counted as

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The cached value for ``key``, computing (outside the lock) and storing it on a miss."""
        found = self._lookup(key)
        if found is not _MISSING:
            return found
        value = compute()
        cost = (self._sizer(value) + ENTRY_OVERHEAD) if self._max_bytes is not None else 0
        if self._max_bytes is not None and cost > self._max_bytes:
            return value  # would push out everything else
        with self._lock:
            old = self._data.pop(key, None)  # another thread computed it meanwhile
            if old is not None:
                self.bytes -= old[1]
            self._data[key] = (value, cost)
            self.bytes += cost
            while len(self._data) > self._size or (self._max_bytes is not None and self.bytes > self._max_bytes):
                self.bytes -= self._data.popitem(last=False)[1][1]
        return value

    def peek(self, key: Hashable) -> V | None:
        """The cached value for ``key`` (marked as recently used), or None."""
        found = self._lookup(key)
        return None if found is _MISSING else found

    def _lookup(self, key: Hashable) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key][0]
        return _MISSING

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._data)
