"""Per-evaluation cost of the script sandbox against SpiffWorkflow's unrestricted environment.

Run: .venv/bin/python tools/bench_sandbox.py   (not part of the tests; figures depend on the machine's load)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment  # noqa: E402

from app.engine.sandbox import Sandbox, SandboxLimits, _Worker  # noqa: E402

SMALL = {"outcome": "accept", "applicant": "张三", "amount": 1200, "materials_complete": True}
FORM = {**SMALL, **{f"field_{i}": f"值{i}" * 5 for i in range(40)},
        "items": [{"name": f"材料{i}", "ok": True} for i in range(20)]}


def bench(label: str, action, count: int) -> None:
    action()
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(count):
            action()
        rounds.append((time.perf_counter() - started) / count * 1e6)
    print(f"  {label:48s} {statistics.median(rounds):8.1f} µs")


def main() -> None:
    box = Sandbox(SandboxLimits())
    plain = TaskDataEnvironment({})
    for name, data in (("4 keys", SMALL), ("~45 keys and a 20-item list", FORM)):
        print(f"data: {name}")
        bench("SpiffWorkflow eval   outcome == 'accept'", lambda d=data: plain.evaluate('outcome == "accept"', d), 2000)
        bench("sandbox, in-process  outcome == 'accept'", lambda d=data: box.evaluate('outcome == "accept"', d), 2000)
        bench("sandbox, worker      len(applicant) > 1", lambda d=data: box.evaluate("len(applicant) > 1", d), 1000)
        bench("SpiffWorkflow exec   total = amount * 2", lambda d=data: plain.execute("total = amount * 2", dict(d)),
              2000)
        bench("sandbox, worker exec total = amount * 2", lambda d=data: box.execute("total = amount * 2", dict(d)),
              1000)
    started = time.perf_counter()
    worker = _Worker(256)
    worker.wait_ready()
    print(f"a worker's start: {(time.perf_counter() - started) * 1000:.0f} ms")
    worker.close()


if __name__ == "__main__":
    main()
