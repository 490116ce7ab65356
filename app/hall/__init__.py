"""The hall (行政服务中心) as a plugin: its vocabulary (what diagrams declare) and the hooks that give it meaning."""

from __future__ import annotations


def init_app(app) -> None:
    from . import checks
    from .hooks import register

    register()
    checks.register()  # deploy refuses a hall property it does not know
