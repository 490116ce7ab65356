"""Processes: each definition and version drawn with bpmn-js, a running case drawn with its current tasks, the
path taken and its waiting timers; the lifecycle actions (dry run, suspend, activate, withdraw, diff); and the
analysts' modeler (bpmn-js modeler, properties panel with the Camunda moddle, bpmnlint, deploy)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for

from ..api.definitions import Activate, Definitions, Suspend, Withdraw, outcome_body
from ..audit import service as audit
from ..config import ROOT
from ..definitions import diff as diffs
from ..definitions import flows
from ..definitions import service as definitions
from ..errors import BadRequest
from ..extensions import db
from ..hall import summary
from ..instances import lifecycle
from ..instances import service as instances
from ..matters.models import Matter
from ..people import access
from .blueprint import bp
from .pages import may, node_modules, page

LINT_SCRIPT = Path(__file__).with_name("lint.cjs")
LINT_TIMEOUT = 20


def _version(key: str):
    raw = request.args.get("version")
    if raw:
        try:
            return definitions.get_version_or_404(key, int(raw))
        except ValueError:
            raise BadRequest("version 应为整数", {"version": raw}) from None
    return definitions.get_latest_or_404(key)


@bp.get("/processes")
@page()
def processes():
    q = request.args.get("q") or None
    items, total = definitions.list_latest(search=q, limit=200)
    matter_of = {m.process_key: m for m in db.session.scalars(db.select(Matter))}
    return render_template("processes.html", active="processes", items=items, total=total, q=q,
                           matter_of=matter_of, may_model=may(like=Definitions.post))


def case_marks(instance_id: str) -> dict:
    """A running case on its diagram: its open tasks, the path taken (engine steps) and waiting timers."""
    case = access.visible_case(g.user, instance_id)
    path: list[str] = []
    for entry in audit.for_instance(case.id, limit=5000):
        element = entry.element_id or (entry.details or {}).get("element")
        if entry.action in ("engine.step", "task.completed") and element and element not in path:
            path.append(element)
    return {"case": summary.view(case), "current": [t.element_id for t in instances.open_tasks(case.id)],
            "path": path, "timers": [{"element_id": t.element_id, "due_at": t.due_at.isoformat() if t.due_at else None,
                                      "name": t.name} for t in instances.waiting_timers(case.id)]}


@bp.get("/processes/<key>")
@page()
def process(key: str):
    definition = _version(key)
    history = lifecycle.history(key)
    marks = case_marks(request.args["case"]) if request.args.get("case") else None
    changes = None
    if request.args.get("from") and request.args.get("to"):
        try:
            old = definitions.get_version_or_404(key, int(request.args["from"]))
            new = definitions.get_version_or_404(key, int(request.args["to"]))
        except ValueError:
            raise BadRequest("from/to 应为版本号", {}) from None
        changes = {"from": old.version, "to": new.version,
                   **diffs.diff(old.content, new.content, old_name=old.filename, new_name=new.filename)}
    user_tasks = []
    if definition.kind == "bpmn":
        compiled = definitions.compiled(definition)
        user_tasks = [{"element_id": t.element_id, "name": t.name, "post": t.post, "form_key": t.form_key}
                      for t in compiled.user_tasks.values()]
    matter = db.session.scalar(db.select(Matter).filter_by(process_key=key))
    view_marks = None
    if marks:
        view_marks = {k: v for k, v in marks.items() if k != "case"}
    return render_template("process.html", active="processes", definition=definition, history=history,
                           marks=marks, view_marks=view_marks, changes=changes, user_tasks=user_tasks, matter=matter,
                           may_ops=may(like=Suspend.post), may_deploy=may(like=Definitions.post))


@bp.get("/processes/<key>/xml")
@page()
def process_xml(key: str):
    return _version(key).content, 200, {"Content-Type": "application/xml; charset=utf-8"}


LIFECYCLE = {"suspend": Suspend.post, "activate": Activate.post, "withdraw": Withdraw.post}


@bp.post("/processes/<key>/lifecycle")
@page()
def process_lifecycle(key: str):
    action = request.form.get("action")
    if action not in LIFECYCLE:
        raise BadRequest(f"未知操作：{action}", {"allowed": sorted(LIFECYCLE)})
    page(like=LIFECYCLE[action])(lambda: None)()  # the API operation's own roles
    raw = (request.form.get("version") or "").strip()
    if raw and not (raw.isdigit() and 0 < int(raw) <= 1_000_000):
        raise BadRequest(f"版本号应为正整数，而不是「{raw[:20]}」", {"field": "version", "version": raw[:20]})
    version = int(raw) if raw else None  # none: the action applies to every version (suspend / activate all)
    reason = (request.form.get("reason") or "").strip() or None
    everything = request.form.get("include_instances") == "on"
    if action == "withdraw":
        if version is None:
            raise BadRequest("撤回须指定版本", {"field": "version"})
        result = lifecycle.withdraw(key, version, g.user.username, reason)
        flash(f"已撤回 v{version}；新办件使用 v{result.get('current')}")
    elif action == "suspend":
        result = lifecycle.suspend(key, version, g.user.username, reason, everything)
        flash(f"已挂起 {', '.join(f'v{v}' for v in result['versions']) or '（无变化）'}")
    else:
        result = lifecycle.activate(key, version, g.user.username, reason, everything)
        flash(f"已激活 {', '.join(f'v{v}' for v in result['versions']) or '（无变化）'}")
    return redirect(url_for("web.process", key=key))


@bp.post("/processes/<key>/validate")
@page(like=Definitions.post)
def process_validate(key: str):
    """The server's dry run on a stored version (what deploying it again would find)."""
    definition = _version(key)
    outcome = flows.deploy([flows.Upload(definition.filename, definition.content.encode())], g.user.username,
                           source="web", dry_run=True)
    body = outcome_body(outcome)
    problems = sum(len(f.get("errors") or []) for f in body["files"])
    flash(f"v{definition.version} 校验{'通过' if not problems else f'发现 {problems} 个问题'}："
          + "；".join(w.get("message", "") for w in body.get("warnings") or [])[:500], "ok" if not problems else "error")
    return redirect(url_for("web.process", key=key, version=definition.version))


# -- the modeler ---------------------------------------------------------------------------------------------------
@bp.get("/modeler")
@page(like=Definitions.post)
def modeler_index():
    return redirect(url_for("web.processes"))


@bp.get("/modeler/<key>")
@page(like=Definitions.post)
def modeler(key: str):
    definition = _version(key)
    return render_template("modeler.html", active="modeler", definition=definition)


def lint(xml: str) -> dict:
    """bpmnlint's recommended rules, run by Node.js on the server (no browser bundle needed)."""
    node = shutil.which("node")
    if node is None or not (node_modules() / "bpmnlint").exists():
        return {"available": False, "issues": [], "note": "bpmnlint 不可用（需要 Node.js 与 npm ci）"}
    try:
        done = subprocess.run([node, str(LINT_SCRIPT)], input=xml.encode(), capture_output=True,
                              timeout=LINT_TIMEOUT, cwd=str(ROOT), check=False,
                              env={"PATH": "/usr/bin:/bin", "NODE_PATH": str(node_modules())})
    except subprocess.TimeoutExpired:
        return {"available": False, "issues": [], "note": "bpmnlint 超时"}
    if done.returncode != 0:
        return {"available": False, "issues": [], "note": done.stderr.decode(errors="replace")[-500:]}
    return {"available": True, **json.loads(done.stdout or b"{}")}


def _posted_xml(key: str) -> tuple[str, str]:
    body = request.get_json(silent=True) or {}
    xml = body.get("xml")
    if not isinstance(xml, str) or not xml.strip():
        abort(400)
    return xml, body.get("changelog") or None


@bp.post("/modeler/<key>/check")
@page(like=Definitions.post)
def modeler_check(key: str):
    xml, _ = _posted_xml(key)
    definition = definitions.get_latest_or_404(key)
    outcome = flows.deploy([flows.Upload(definition.filename, xml.encode())], g.user.username, source="web",
                           dry_run=True)
    return jsonify({"dry_run": outcome_body(outcome), "lint": lint(xml)})


@bp.post("/modeler/<key>/deploy")
@page(like=Definitions.post)
def modeler_deploy(key: str):
    xml, changelog = _posted_xml(key)
    definition = definitions.get_latest_or_404(key)
    outcome = flows.deploy([flows.Upload(definition.filename, xml.encode())], g.user.username, source="web",
                           changelog=changelog)
    body = outcome_body(outcome)
    versions = [d for d in body["items"] if d.get("key") == key]
    return jsonify({**body, "version": versions[0]["version"] if versions else None,
                    "created": outcome.created}), 201 if outcome.created else 200
