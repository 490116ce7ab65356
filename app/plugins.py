"""The plugins of an app: a pluggy plugin manager in `app.extensions`, filled once by `create_app` from its
declared list, and the way the runtime raises a hook (`hooks().step_before_flush(step=...)`).

pluggy calls the implementations of a hook last-registered first; `install` registers the list backwards, so a
hook's implementations run in the order the list declares. `order()` says that order (a test checks it).
"""

from __future__ import annotations

from typing import Any

import pluggy
from flask import Flask, current_app

from . import hookspecs

EXTENSION = "tongban.plugins"


def install(app: Flask, plugins: list[tuple[str, Any]]) -> pluggy.PluginManager:
    """Register (name, plugin object or module) in the declared order of their calls."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for name, plugin in reversed(plugins):
        manager.register(plugin, name=name)
    manager.check_pending()  # an implementation of a hook nobody declares is a typo
    app.extensions[EXTENSION] = manager
    return manager


def manager(app: Flask | None = None) -> pluggy.PluginManager:
    return (app or current_app).extensions[EXTENSION]


def hooks(app: Flask | None = None) -> Any:
    """The hook caller of this app: `hooks().case_starting(start=...)`."""
    return manager(app).hook


def order(hook_name: str, app: Flask | None = None) -> list[str]:
    """The plugins implementing a hook, in the order they are called."""
    caller = getattr(manager(app).hook, hook_name)
    return [impl.plugin_name for impl in reversed(caller.get_hookimpls())]
