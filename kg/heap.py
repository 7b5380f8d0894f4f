"""Keeping a loaded store out of the garbage collector's way.

A store of 100,000 concepts is tens of millions of Python objects (concepts, labels, graph
adjacency dicts), alive as long as it is served. Python's cyclic collector still walks
them all in each full collection: a pause of about three seconds at 100,000 concepts, which
lands on whichever request happens to allocate at that moment (it was the p99 of related
terms). ``gc.freeze`` moves every object alive into a permanent generation the collector
skips; reference counting still frees what a request makes and drops.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Call once a store is loaded and warmed up, and again after each swap: what an
    earlier call froze becomes collectable again (a replaced store's cycles), is collected,
    and what is alive now is frozen."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
