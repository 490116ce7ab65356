"""Helpers of the guards' tests: the server must answer /healthz within a second while hostile work runs."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest
import requests


class HealthWatch:
    """Polls /healthz from a thread while a block runs; `slowest` is the longest answer (or wait) seen."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.slowest = 0.0
        self.answers = 0
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                ok = requests.get(f"{self.base}/healthz", timeout=5).status_code == 200
            except requests.RequestException:
                ok = False
            took = time.monotonic() - began
            self.slowest = max(self.slowest, took if ok else 99.0)
            self.answers += 1
            self._stop.wait(0.05)

    @contextmanager
    def during(self):
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=10)
        assert self.answers > 0
        assert self.slowest < 1.0, f"/healthz took {self.slowest:.2f} s"


@pytest.fixture()
def health(live_server):
    return lambda: HealthWatch(live_server).during()
