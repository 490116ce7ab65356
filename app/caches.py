"""Where in-memory caches live: in the application (`app.extensions`), never in a module.

Each cache is owned by the module that fills it, which also invalidates it (`forget_...`); this module only
keeps them per app, so a new app — a test, a restarted worker, a second app in one process — starts clean and
never serves another app's (another database's) entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app

T = TypeVar("T")
EXTENSION = "tongban_caches"


def app_cache(name: str, factory: Callable[[], T]) -> T:
    """This app's cache `name`, made by `factory` on first use."""
    caches = current_app.extensions.setdefault(EXTENSION, {})
    cache = caches.get(name)
    if cache is None:
        cache = caches.setdefault(name, factory())  # two threads racing here keep one cache
    return cache


def forget_all() -> None:
    """Drop every cache of this app (tests that empty the database under a living app)."""
    current_app.extensions.pop(EXTENSION, None)
