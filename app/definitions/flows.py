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
from pathlib import Path

from ..audit import service as audit
from ..clock import now
from ..errors import ApiError, Conflict, Invalid
from ..extensions import db
from ..matters import service as matters
from . import checks, service
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
        name = self.filename.lower()
        if name.endswith((".json", ".form")):
            return "form"
        if name.endswith((".html", ".htm")):
            return "html"  # an embedded HTML form: not run by the server (see _deploy_html)
        return "matter" if matters.is_matter_file(self.filename) else "dmn" if name.endswith(".dmn") else "bpmn"


@dataclass
class FileReport:
    file: str
    kind: str
    definitions: list[dict] = field(default_factory=list)
    matter: dict | None = None
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
    matters: list[tuple[object, bool]] = field(default_factory=list)
    dry_run: bool = False

    @property
    def errors(self) -> list[dict]:
        return [e for f in self.files for e in f.errors]

    @property
    def warnings(self) -> list[dict]:
        return [w for f in self.files for w in f.warnings]

    @property
    def created(self) -> bool:
        return any(f.matter and f.matter["created"] for f in self.files) or any(
            f.form and f.form["created"] for f in self.files) or any(
            d["created"] for f in self.files for d in f.definitions)


def checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _order(upload: Upload) -> int:
    # Forms and DMN first, so diagrams of the same upload can name them; matter records last.
    return {"form": 0, "html": 0, "dmn": 1, "bpmn": 2, "matter": 3}[upload.kind]


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
    calls: list[tuple[FileReport, list[dict]]] = []  # processes called from other files, checked once all are read
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
            elif upload.kind == "matter":
                matter, created = matters.deploy(upload.filename, upload.content, actor)
                report.matter = {"code": matter.code, "name": matter.name, "process_key": matter.process_key,
                                 "created": created}
                outcome.matters.append((matter, created))
            else:
                _deploy_diagram(upload, report, outcome, actor, source=source, changelog=changelog,
                                unknown_posts=unknown_posts, forms=forms_in_upload, calls=calls)
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
    for report, refs in calls:
        report.warnings.extend(checks.unresolved_calls(refs, report.file, uploaded))
    errors = outcome.errors
    if dry_run or errors:
        db.session.rollback()  # compiled specs waiting for the commit are dropped with it
        if errors and not dry_run:
            raise refused(outcome)
        return outcome
    _record(outcome, actor, source, changelog, uploads)
    db.session.commit()
    from ..instances import service as instances  # instances import definitions: imported when used

    instances.arm_timer_starts(outcome.deployed)
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
        report.errors.extend(checks.expression_problems(prepared.processes, prepared.tree, upload.filename))
        calls.append((report, checks.call_references(prepared.processes, prepared.tree)))
        report.warnings.extend(checks.unresolved_decisions(prepared.processes, prepared.tree, upload.filename))
        unknown = checks.unknown_posts(prepared.tree, upload.filename)
        if unknown_posts == "allow":
            report.warnings.extend(unknown)
        else:
            for finding in unknown:
                finding["message"] += "；如确需部署，请加 unknown_posts=allow"
            report.errors.extend(unknown)
        report.errors.extend(checks.missing_forms(prepared.processes, upload.filename, forms))
        report.warnings.extend(checks.embedded_forms(prepared.processes, upload.filename))
        report.errors.extend(checks.calendar_problems(prepared.processes, prepared.tree, upload.filename))
        report.errors.extend(checks.plugin_problems(prepared.processes, prepared.tree, upload.filename))
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
            refs = ([d["id"] for d in report.definitions if d.get("id")] if upload.kind != "matter"
                    else [report.matter["code"]] if report.matter else [])
            remember_seed(upload.seed_path, "matter" if upload.kind == "matter" else "definition",
                          checksum(upload.content), refs)


# -------------------------------------------------------------------------------------------- bootstrap seeds

def seeds() -> dict[str, SeedFile]:
    return {s.path: s for s in db.session.scalars(db.select(SeedFile))}


def remember_seed(path: str, kind: str, digest: str, refs: list) -> None:
    row = db.session.get(SeedFile, path) or SeedFile(path=path, kind=kind)
    row.checksum, row.deployed_at, row.refs = digest, now(), list(refs)
    db.session.add(row)


def shipped_files(root: Path) -> list[Path]:
    """The diagrams and matter records of a processes/ folder (hall.yaml is seeded on its own)."""
    paths = [p for pattern in ("*.dmn", "*.bpmn", "*.yaml", "*.yml") for p in root.rglob(pattern)]
    return sorted(p for p in paths if p.suffix in (".dmn", ".bpmn") or matters.is_matter_file(p.name))


def seed_processes(root: Path, actor: str = "system") -> Outcome:
    """Deploy the shipped files that are new or changed since bootstrap last deployed them; nothing else.

    A version deployed later through the API or CLI stays the latest until someone deploys again; a matter
    record changed through the API is not overwritten by an unchanged shipped file.
    """
    known = seeds()
    uploads = []
    for path in shipped_files(root):
        relative = path.relative_to(root).as_posix()
        content = path.read_bytes()
        seed_path = f"processes/{relative}"
        seen = known.get(seed_path)
        if seen is not None and seen.checksum == checksum(content):
            continue
        upload = Upload(relative, content, seed_path=seed_path, skip_known=seen is None)
        if upload.kind == "matter" and seen is None and _matter_kept(relative, content):
            remember_seed(seed_path, "matter", checksum(content), [])
            continue
        uploads.append(upload)
    if not uploads:
        db.session.commit()
        return Outcome(files=[])
    return deploy(uploads, actor, source="bootstrap")


def _matter_kept(filename: str, content: bytes) -> bool:
    """A database from before seeds were remembered: a matter record someone changed stays as it is."""
    from ..matters.models import Matter

    try:
        code = matters.parse(filename, content).get("code")
    except ApiError:
        return False
    matter = db.session.get(Matter, code) if isinstance(code, str) else None
    return matter is not None and matter.updated_by not in (None, "system")


def seed_forms(root: Path, actor: str = "system") -> int:
    """Deploy the shipped forms that are new or changed since bootstrap last deployed them; returns how many."""
    import json

    from ..forms import service as forms

    known = seeds()
    created = 0
    for path in sorted(root.rglob("*.json")):
        relative = path.relative_to(root).as_posix()
        content = path.read_bytes()
        seed_path, digest = f"forms/{relative}", checksum(content)
        seen = known.get(seed_path)
        if seen is not None and seen.checksum == digest:
            continue
        try:
            schema = json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Invalid(f"表单文件不是有效 JSON: {exc}", {"file": str(path)}) from None
        key = path.relative_to(root).with_suffix("").as_posix()
        if seen is None and _form_known(key, schema):
            remember_seed(seed_path, "form", digest, [])
            continue
        form, was_new = forms.deploy(key, schema, actor, filename=str(path))
        created += was_new
        remember_seed(seed_path, "form", digest, [form.id])
    db.session.commit()
    return created


def _form_known(key: str, schema: dict) -> bool:
    from ..forms import service as forms
    from ..forms.models import Form

    digest = forms._checksum(schema)
    return db.session.scalar(db.select(Form.id).where(Form.key == key, Form.checksum == digest).limit(1)) is not None


def seed_hall(path: Path) -> dict | None:
    """Create the hall once and add what is missing when hall.yaml changes; never reset what the API changed."""
    from ..people import service as people

    content = path.read_bytes()
    digest = checksum(content)
    seen = db.session.get(SeedFile, "hall.yaml")
    if seen is not None and seen.checksum == digest:
        return None
    added = people.seed_hall(path)
    remember_seed("hall.yaml", "hall", digest, [])
    db.session.flush()
    return added
