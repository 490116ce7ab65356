"""How many third-party BPMN files Tongban deploys and runs, driven through its HTTP API as an analyst would.

    python tools/third_party_check.py DIR [DIR...] [--json out.json] [-v]

Every `.bpmn` under the folders is deployed with `unknown_posts=allow`, together with the resources its project
holds (DMN, form-js `.form`, SpiffWorkflow `*-schema.json` forms: those in its folder and below, and in the
folder above `src/` for a Maven project); files that fail alone are tried again once everything else is
deployed (a called process, a decision from another file). Then a case of each process it deployed is started
(of the version that file deployed: test files often share process ids) and driven: open tasks completed with no data, waiting messages delivered by case id, signals broadcast, the clock
moved to the case's next timer when nothing else can move; then every case still running is cancelled (those a
deploy armed on a start timer too), so that no other case's timers fire meanwhile. Between any two steps every live case is forgotten, so each step
restores its case from the database.

A file *runs* when it deploys, a case of each of its processes starts, and driving it never meets a 5xx, a case in
error or a refusal other than a form's or a script's or a condition's want of data (the driver submits none). The tool
uses a throwaway SQLite database and an in-process client of the real app; it is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESOURCE_PATTERNS = ("*.dmn", "*.form", "*-schema.json", "*-uischema.json")
MAX_ROUNDS = 40
DRIVE_SECONDS = 120


class DriveTimeout(Exception):
    pass

# A refusal that only says the driver gave no data (a condition or script reading a missing variable, a form).
WANTS_DATA = ("is not defined", "没有定义", "未定义", "NameError", "not defined", "KeyError", "has no attribute",
              "required", "必填", "表单数据不符合要求", "could not be set", "Missing data input",
              "missing a required Data Input", "NoneType")


class Clock:
    def __init__(self) -> None:
        self.current = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current


def project_resources(bpmn: Path) -> list[Path]:
    """The resources an analyst would upload with the diagram: beside it and below, and its project's."""
    roots = [bpmn.parent]
    for parent in bpmn.parents:
        if parent.name == "src":
            roots.append(parent.parent)
            break
    found: dict[Path, None] = {}
    for root in roots:
        for pattern in RESOURCE_PATTERNS:
            for path in sorted(root.rglob(pattern)):
                found[path] = None
    return list(found)


class Run:
    def __init__(self, verbose: bool) -> None:
        from app import create_app
        from app.extensions import db

        self.verbose = verbose
        self.tmp = tempfile.TemporaryDirectory()
        self.clock = Clock()
        empty = Path(self.tmp.name) / "empty"
        empty.mkdir()
        self.app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{self.tmp.name}/t.db",
                               "SCHEDULER_ENABLED": False, "PROCESSES_DIR": str(empty), "FORMS_DIR": str(empty)})
        self.app.config["CLOCK"] = self.clock
        with self.app.app_context():
            from flask_migrate import upgrade

            from app.people import service
            from app.people.auth import issue_token

            upgrade(directory=str(ROOT / "migrations"))
            user = service.upsert_user("measure", "测量", ["admin"], [])
            self.token = issue_token(user)
            db.session.commit()
        self.client = self.app.test_client()
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def forget(self) -> None:
        """Every live case is dropped: the next step reads its case from the database (compiled specs stay)."""
        from app.instances.runtime import _cache

        with self.app.app_context():
            _cache().clear()

    def request(self, method: str, path: str, **kwargs):
        self.forget()
        return self.client.open(f"/api/v1{path}", method=method, headers=self.headers, **kwargs)

    def deploy(self, files: list[Path]) -> tuple[int, dict]:
        handles = [(path.open("rb"), path.name) for path in files]
        try:
            response = self.request("POST", "/process-definitions?unknown_posts=allow", data={"file": handles},
                                    content_type="multipart/form-data")
        finally:
            for handle, _ in handles:
                handle.close()
        return response.status_code, response.get_json(silent=True) or {}

    def drive(self, key: str, version: int | None) -> tuple[str, str]:
        """Start a case of `key` and drive it; (outcome, detail). A drive that takes more than DRIVE_SECONDS (a
        request that never returns: a process calling itself forever) is stopped and counted as a hang."""
        def stop(signum, frame):
            raise DriveTimeout

        previous = signal.signal(signal.SIGALRM, stop)
        signal.alarm(DRIVE_SECONDS)
        try:
            return self._start_and_drive(key, version)
        except DriveTimeout:
            with self.app.app_context():
                from app.extensions import db

                db.session.rollback()
            return "hang", f"no answer within {DRIVE_SECONDS} s"
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)

    def _start_and_drive(self, key: str, version: int | None) -> tuple[str, str]:
        """The version this file deployed (several files may share a process id)."""
        body = {"data": {}, **({"version": version} if version else {})}
        response = self.request("POST", f"/process-definitions/{key}/instances", json=body)
        if response.status_code >= 500:
            return "5xx", f"start: {response.status_code}"
        if response.status_code != 201:
            message = (response.get_json(silent=True) or {}).get("message", str(response.status_code))
            return ("wants data" if _wants_data(message) else "start refused"), message
        case_id = response.get_json()["id"]
        try:
            return self._drive(case_id)
        finally:
            self.cancel_running()

    def _drive(self, case_id: str) -> tuple[str, str]:
        for _ in range(MAX_ROUNDS):
            response = self.request("GET", f"/instances/{case_id}")
            if response.status_code >= 500:
                return "5xx", "read"
            case = response.get_json()
            if case["state"] in ("completed", "cancelled"):
                return "completed", ""
            if case["state"] == "error":
                return "error", case.get("error") or ""
            moved = False
            for task in case.get("tasks") or []:
                answer = self.request("POST", f"/tasks/{task['id']}/complete", json={"data": {}})
                if answer.status_code >= 500:
                    return "5xx", f"complete {task.get('element_id')}"
                if answer.status_code == 200:
                    moved = True
                    break
                message = (answer.get_json(silent=True) or {}).get("message", "")
                if answer.status_code == 422 and _wants_data(message):
                    return "wants data", message[:160]
                return "step refused", f"{answer.status_code} {message[:160]}"
            if moved:
                continue
            for wait in case.get("messages") or []:
                answer = self.request("POST", "/messages", json={"name": wait["name"], "instance_id": case_id,
                                                                 "data": {}})
                if answer.status_code >= 500:
                    return "5xx", f"message {wait['name']}"
                if answer.status_code == 200 and answer.get_json().get("delivered_to"):
                    moved = True
                    break
                answer = self.request("POST", "/signals", json={"name": wait["name"], "data": {}})
                if answer.status_code >= 500:
                    return "5xx", f"signal {wait['name']}"
                if answer.status_code == 200 and case_id in answer.get_json().get("delivered_to", []):
                    moved = True
                    break
            if moved:
                continue
            due = [datetime.fromisoformat(t["due_at"]) for t in case.get("timers") or [] if t.get("due_at")]
            if due:  # to this case's next timer, and fire what is due
                self.clock.current = max(self.clock.current, min(due).astimezone(UTC) + timedelta(seconds=1))
                answer = self.request("POST", "/timers/fire-due")
                if answer.status_code >= 500:
                    return "5xx", "timers"
                continue
            return "waiting", ", ".join(m["name"] for m in case.get("messages") or []) or "nothing to do"
        return "waiting", "still running after the driver's rounds"

    def cancel(self, case_id: str) -> None:
        """A driven case ends here, so its timers (a cycle) do not fire while other files are driven."""
        self.request("POST", f"/instances/{case_id}/cancel", json={"reason": "measured"})

    def cancel_running(self) -> None:
        """Every case still running (the one driven, those its messages started, those a deploy armed on a start
        timer) ends, so that no timer of theirs fires while the next file is driven."""
        answer = self.request("GET", "/instances", query_string={"state": "running", "limit": 200})
        for case in (answer.get_json() or {}).get("items", []):
            self.cancel(case["id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, help="write every file's outcome here")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    run = Run(args.verbose)
    diagrams = sorted(p for folder in args.folders for p in folder.rglob("*.bpmn"))
    results: dict[str, dict] = {}
    pending = []
    for n, bpmn in enumerate(diagrams, 1):
        print(f"[{n}/{len(diagrams)}] {bpmn}", file=sys.stderr, flush=True)
        status, body = run.deploy([bpmn, *project_resources(bpmn)])
        if status >= 500:
            results[str(bpmn)] = {"deploy": "5xx"}
        elif status in (200, 201):
            results[str(bpmn)] = {"deploy": "ok", "keys": _keys(body, bpmn.name), "warnings": len(body["warnings"])}
        else:
            pending.append((bpmn, body))
    for bpmn, _ in list(pending):  # once the others are in: processes and decisions named across files
        status, body = run.deploy([bpmn, *project_resources(bpmn)])
        if status in (200, 201):
            results[str(bpmn)] = {"deploy": "ok", "keys": _keys(body, bpmn.name), "warnings": len(body["warnings"])}
        else:
            results[str(bpmn)] = {"deploy": "5xx" if status >= 500 else "refused",
                                  "reason": (body.get("message") or str(status))[:200]}
    run.cancel_running()
    for n, (name, result) in enumerate(results.items(), 1):
        if result["deploy"] != "ok":
            continue
        print(f"[run {n}/{len(results)}] {name}", file=sys.stderr, flush=True)
        outcomes = [run.drive(key, version) for key, version in result["keys"]]
        worst = next((o for o in outcomes if o[0] in ("hang", "5xx", "error", "step refused", "start refused")),
                     None)
        result["run"] = (worst or next((o for o in outcomes if o[0] != "completed"), None) or ("completed", ""))
    counts = Counter()
    for name, result in results.items():
        outcome = result.get("run", (result["deploy"], result.get("reason", "")))
        counts[outcome[0]] += 1
        runs = outcome[0] in ("completed", "waiting", "wants data")
        counts["runs"] += runs
        if args.verbose or not runs:
            print(f"{outcome[0]:14} {name}: {outcome[1]}")
    total = len(results)
    print(f"\n{total} diagrams: {counts['runs']} deploy and run ({counts['completed']} to their end, "
          f"{counts['waiting']} waiting for what the driver cannot give, {counts['wants data']} wanting data); "
          f"{counts['refused']} refused at deploy, {counts['start refused']} refused at start, "
          f"{counts['step refused']} refused a step, {counts['error']} in error, {counts['5xx']} answered 5xx, "
          f"{counts['hang']} never answered")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def _keys(body: dict, filename: str) -> list[tuple[str, int | None]]:
    return [(d["key"], d.get("version")) for f in body.get("files", []) if f["file"] == filename
            and f["kind"] == "bpmn" for d in f["definitions"]]


def _wants_data(message: str) -> bool:
    return any(w in message for w in WANTS_DATA)


if __name__ == "__main__":
    raise SystemExit(main())
