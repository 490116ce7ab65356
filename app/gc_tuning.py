"""Python's garbage collector, tuned for a long-lived process serving requests.

A request allocates thousands of short-lived objects (SQLAlchemy's statements and rows, the engine's task
records), and by default the collector runs after every 700 of them, walking the young objects each time: over a
whole replay that was about 7% of its CPU (`farm-bench`, docs/benchmarks.md). Run after 50,000 instead, it runs
far less often for the same garbage. What the process has built by the time it serves (mappers, catalogs, parsed
diagrams) lives as long as the process: frozen, it is left out of the collector's full walks, which would
otherwise stall a request for tens of milliseconds now and then.
"""

from __future__ import annotations

import gc

YOUNG = 50_000  # new objects between two collections of the youngest generation (Python's default: 700)


def tune(*, freeze: bool = False) -> None:
    gc.set_threshold(YOUNG, 20, 20)
    if freeze:
        gc.freeze()
