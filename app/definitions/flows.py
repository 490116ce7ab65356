"""One deploy flow for three doors: the API, the CLI and the bootstrap all deploy through `deploy` here —
same parsing and compilation, same post checks, same history and audit, the same dry run.

A file is checked inside its own savepoint so that every problem of every file is reported at once; if any
file is refused, nothing is stored (and a dry run stores nothing in any case).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from ..audit import service as audit
from ..clock import now
from ..errors import ApiError, Conflict, Invalid
from ..extensions import db
from ..plugins import hooks
from . import call_cycles, checks, service
from .models import DefinitionEvent, ProcessDefinition, SeedFile

log = logging.getLogger(__name__)
UNKNOWN_POSTS = ("refuse", "allow")


@dataclass
class Upload:
    filename: str
    content: bytes
    seed_path: str | None = None  # bootstrap: remember this shipped file's checksum once deployed
    skip_known: bool = False  # bootstrap: content equal to any stored version of its keys is not deployed again

    @property
    def kind(self) -> str:
        """form, dmn or bpmn — or the kind a plugin claims the file as (the catalog: `matter` records)."""
        name = self.filename.lower()
        if name.endswith((".json", ".form")):
            return "form"
        if name.endswith(".dmn"):
            return "dmn"
        if name.endswith((".html", ".htm")):
            return "html"  # an embedded HTML form: not run by the server, never stored
        if name.endswith(".bpmn") or name.endswith(".xml"):
            return "bpmn"
        return hooks().deploy_file_kind(filename=self.filename) or "bpmn"


@dataclass
class FileReport:
    file: str
    kind: str
    definitions: list[dict] = field(default_factory=list)
    record: dict | None = None  # a file a plugin stored (a matter record): what it says of it
    form: dict | None = None
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Outcome:
    files: list[FileReport]
    deployed: list[tuple[ProcessDefinition, bool]] = field(default_factory=list)
    dry_run: bool = False

    @property
    def errors(self) -> list[dict]:
        return [e for f in self.files for e in f.errors]

    @property
    def warnings(self) -> list[dict]:
        return [w for f in self.files for w in f.warnings]

    @property
    def created(self) -> bool:
        return any(f.record and f.record["created"] for f in self.files) or any(
            f.form and f.form["created"] for f in self.files) or any(
            d["created"] for f in self.files for d in f.definitions)


def checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _order(upload: Upload) -> int:
    # Forms and DMN first, so diagrams of the same upload can name them; a plugin's records (matters) last.
    return {"form": 0, "html": 0, "dmn": 1, "bpmn": 2}.get(upload.kind, 3)


def _error(exc: ApiError) -> dict:
    details = exc.details if isinstance(exc.details, dict) else {"details": exc.details}
    return {"code": exc.code, "message": exc.message, **details}


def deploy(uploads: list[Upload], actor: str | None, *, source: str, changelog: str | None = None,
           dry_run: bool = False, unknown_posts: str = "refuse",
           progress: Callable[[Upload], None] | None = None) -> Outcome:
    """Check and store uploads; 422 with every problem (file, line, element) unless `dry_run`, which reports.

    Commits when something was stored and arms the timer start events of new versions.
    """
    outcome = Outcome(files=[], dry_run=dry_run)
    forms_in_upload: set[str] = set()
    ui_schemas = {u.filename.rsplit("/", 1)[-1][: -len("-uischema.json")]: u for u in uploads
                  if u.filename.lower().endswith("-uischema.json")}
    calls: list[tuple] = []  # (report, calls to other files, processes, tree): checked once every file is read
    for upload in sorted(uploads, key=_order):
        report = FileReport(upload.filename, upload.kind)
        outcome.files.append(report)
        savepoint = db.session.begin_nested()
        try:
            if upload.kind == "form":
                _deploy_form(upload, report, actor, uploads, ui_schemas, forms_in_upload)
            elif upload.kind == "html":
                report.warnings.append({
                    "code": "embedded_form", "file": upload.filename,
                    "message": f"{upload.filename}: 嵌入式 HTML 表单不由服务器渲染，也不校验其提交的数据；"
                               f"文件未保存 (embedded HTML forms run without server validation)"})
            elif upload.kind in ("dmn", "bpmn"):
                _deploy_diagram(upload, report, outcome, actor, source=source, changelog=changelog,
                                unknown_posts=unknown_posts, forms=forms_in_upload, calls=calls)
            else:  # a file a plugin claimed
                report.record = hooks().deploy_file(kind=upload.kind, filename=upload.filename,
                                                    content=upload.content, actor=actor, changelog=changelog)
            if report.errors:
                savepoint.rollback()
            else:
                savepoint.commit()
        except Conflict:
            db.session.rollback()  # a concurrent deploy of the same key: the caller retries the whole upload
            raise
        except ApiError as exc:
            if savepoint.is_active:
                savepoint.rollback()
            report.errors.append(_error(exc))
        if progress is not None:
            progress(upload)
    uploaded = {d["key"] for f in outcome.files for d in f.definitions}
    for report, refs, _, _ in calls:
        report.warnings.extend(checks.unresolved_calls(refs, report.file, uploaded))
    for report, problem in call_cycles.problems([(r, procs, tree) for r, _, procs, tree in calls if r.ok]):
        report.errors.append(problem)
    errors = outcome.errors
    if dry_run or errors:
        db.session.rollback()  # compiled specs waiting for the commit are dropped with it
        if errors and not dry_run:
            raise refused(outcome)
        return outcome
    _record(outcome, actor, source, changelog, uploads)
    db.session.commit()
    hooks().definitions_deployed(deployed=outcome.deployed)  # app/instances arms new timer start events
    return outcome


def refused(outcome: Outcome) -> Invalid:
    """The 422 of a refused upload: the first problem as message and details (as a single-file error always
    was), and every problem of every file in `details.problems`."""
    errors = outcome.errors
    first = errors[0]
    more = f"（另有 {len(errors) - 1} 处问题）" if len(errors) > 1 else ""
    details = {k: v for k, v in first.items() if k not in ("message", "code")}
    details["problems"] = errors
    return Invalid(f"{first['message']}{more}", details, code=first.get("code") or "invalid_definition")


def _deploy_form(upload: Upload, report: FileReport, actor, uploads: list[Upload], ui_schemas: dict,
                 known: set[str]) -> None:
    """A form file; SpiffWorkflow's `-uischema.json` goes with its `-schema.json` of the same upload."""
    from ..forms import service as forms

    base = upload.filename.rsplit("/", 1)[-1]
    if base.lower().endswith("-uischema.json"):
        stem = base[: -len("-uischema.json")]
        if not any(u.filename.rsplit("/", 1)[-1] == f"{stem}-schema.json" for u in uploads):
            raise Invalid(f"{upload.filename}: 界面定义缺少同次上传的 {stem}-schema.json",
                          {"file": upload.filename}, code="invalid_form")
        report.form = {"key": stem, "ui_schema": True, "created": False}
        return
    ui = ui_schemas.get(base[: -len("-schema.json")]) if base.endswith("-schema.json") else None
    deployed = forms.deploy_upload(upload.filename, upload.content, actor, ui.content if ui else None)
    known.update(form.key for form, _ in deployed)
    first, created = deployed[0]
    report.form = {"key": first.key, "version": first.version, "created": any(c for _, c in deployed),
                   "keys": [form.key for form, _ in deployed]}


def _deploy_diagram(upload: Upload, report: FileReport, outcome: Outcome, actor, *, source, changelog,
                    unknown_posts: str, forms: set[str], calls: list) -> None:
    prepared = service.prepare(upload.filename, upload.content)
    if prepared.kind == "bpmn":
        report.errors.extend(checks.expression_problems(prepared.processes, prepared.tree, upload.filename,
                                                        current_app.config["ENGINE_MAX_INSTANCES"]))
        calls.append((report, checks.call_references(prepared.processes, prepared.tree), prepared.processes,
                      prepared.tree))
        report.warnings.extend(checks.unresolved_decisions(prepared.processes, prepared.tree, upload.filename))
        report.errors.extend(checks.missing_forms(prepared.processes, upload.filename, forms))
        report.warnings.extend(checks.embedded_forms(prepared.processes, upload.filename))
        report.errors.extend(checks.calendar_problems(prepared.processes, prepared.tree, upload.filename))
        for found in hooks().deploy_checks(processes=prepared.processes, tree=prepared.tree,
                                           filename=upload.filename, options={"unknown_posts": unknown_posts}):
            for problem in found:  # posts that do not exist (app/people), hall properties (app/hall)
                (report.warnings if problem.pop("severity", "error") == "warning" else report.errors).append(problem)
        if report.errors:
            return
    if upload.skip_known and _all_known(prepared):
        report.definitions = [{"key": key, "version": None, "created": False, "known": True}
                              for key in prepared.keys]
        return
    for definition, created in service.store(prepared, actor, changelog=changelog, source=source):
        outcome.deployed.append((definition, created))
        report.definitions.append({"key": definition.key, "version": definition.version, "created": created,
                                   "state": definition.state, "id": definition.id})


def _all_known(prepared: service.Prepared) -> bool:
    """Every key of the file already has a version with this content (a seed recorded before seeds were)."""
    keys = prepared.keys
    found = set(db.session.scalars(db.select(ProcessDefinition.key).where(
        ProcessDefinition.key.in_(keys), ProcessDefinition.checksum == prepared.checksum)))
    return bool(keys) and found == set(keys)


def _record(outcome: Outcome, actor, source: str, changelog: str | None, uploads: list[Upload]) -> None:
    at = now()
    for definition, created in outcome.deployed:
        if not created:
            continue
        details = {"file": definition.filename, "checksum": definition.checksum, "changelog": changelog,
                   "source": source}
        db.session.add(DefinitionEvent(key=definition.key, version=definition.version, action="deployed",
                                       actor=actor, at=at, details=details))
        audit.record("definition.deployed", actor=actor, element_id=definition.key,
                     details={**details, "version": definition.version})
        log.info("deployed %s v%s", definition.key, definition.version,
                 extra={"definition": definition.key, "version": definition.version, "source": source})
    by_file = {f.file: f for f in outcome.files}
    for upload in uploads:
        if upload.seed_path and by_file[upload.filename].ok:
            report = by_file[upload.filename]
            refs = ([d["id"] for d in report.definitions if d.get("id")] if report.record is None
                    else [report.record["code"]] if report.record.get("code") else [])
            remember_seed(upload.seed_path, upload.kind if report.record is not None else "definition",
                          checksum(upload.content), refs)


def seeds() -> dict[str, SeedFile]:
    """The shipped files bootstrap deployed, by path, with their checksums (app/bootstrap.py)."""
    return {s.path: s for s in db.session.scalars(db.select(SeedFile))}


def remember_seed(path: str, kind: str, digest: str, refs: list) -> None:
    row = db.session.get(SeedFile, path) or SeedFile(path=path, kind=kind)
    row.checksum, row.deployed_at, row.refs = digest, now(), list(refs)
    db.session.add(row)
