"""A `flask` command that loads the served module is not a server: it must not start the timer scheduler, whose jobs
would hold row locks that the command's own work (a migration's DDL) waits on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
if sys.argv[1] == "cli":
    from flask.cli import main
    sys.argv = ["flask", "--app", "app.wsgi", "routes"]
    try:
        main()
    except SystemExit:
        pass
import app.wsgi as served
print("scheduler:", "tongban_scheduler" in served.application.extensions)
"""


def _scheduler_started(how: str, tmp_path: Path) -> bool:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/cli.db", "TONGBAN_SCHEDULER": "on",
           "TONGBAN_LOG_LEVEL": "ERROR"}
    env.pop("FLASK_RUN_FROM_CLI", None)
    done = subprocess.run([sys.executable, "-c", PROBE, how], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    line = [x for x in done.stdout.splitlines() if x.startswith("scheduler:")][-1]
    return line.endswith("True")


def test_a_flask_command_on_the_served_module_starts_no_scheduler_a_server_does(tmp_path):
    assert _scheduler_started("serve", tmp_path) is True
    assert _scheduler_started("cli", tmp_path) is False
