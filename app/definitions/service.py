"""Deploying BPMN/DMN files as versioned definitions, and the per-version compiled-spec cache."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from lxml import etree
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..clock import now
from ..engine.compiler import CompiledProcess, compile_bpmn, compile_document, dmn_decisions, document_kind
from ..engine.errors import DefinitionError
from ..engine.xml import parse_xml
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..models_base import paged
from .models import EventStart, ProcessDefinition

_compiled: dict[int, CompiledProcess] = {}
_compile_lock = threading.Lock()
_PENDING = "tongban.compiled_pending"


@event.listens_for(Session, "after_commit")
def _keep_compiled(session) -> None:
    _compiled.update(session.info.pop(_PENDING, {}))


@event.listens_for(Session, "after_rollback")
def _drop_compiled(session) -> None:
    session.info.pop(_PENDING, None)


def _invalid(exc: DefinitionError) -> Invalid:
    return Invalid(exc.message, exc.details(), code="invalid_definition")


def _checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def latest(key: str) -> ProcessDefinition | None:
    return db.session.scalar(db.select(ProcessDefinition).where(ProcessDefinition.key == key)
                             .order_by(ProcessDefinition.version.desc()).limit(1))


def get_latest_or_404(key: str) -> ProcessDefinition:
    definition = latest(key)
    if definition is None:
        raise NotFound(f"流程定义 {key} 不存在", {"key": key})
    return definition


def get_version_or_404(key: str, version: int) -> ProcessDefinition:
    definition = db.session.scalar(db.select(ProcessDefinition).filter_by(key=key, version=version))
    if definition is None:
        raise NotFound(f"流程定义 {key} 第 {version} 版不存在", {"key": key, "version": version})
    return definition


def versions(key: str) -> list[ProcessDefinition]:
    return list(db.session.scalars(db.select(ProcessDefinition).where(ProcessDefinition.key == key)
                                   .order_by(ProcessDefinition.version.desc())))


def list_latest(kind: str | None = None, search: str | None = None, limit: int = 50, offset: int = 0):
    """The latest version of each key, with the total count."""
    newest = (db.select(ProcessDefinition.key, db.func.max(ProcessDefinition.version).label("version"))
              .group_by(ProcessDefinition.key).subquery())
    query = db.select(ProcessDefinition).join(
        newest, (ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.version))
    if kind:
        query = query.where(ProcessDefinition.kind == kind)
    if search:
        query = query.where(ProcessDefinition.key.icontains(search, autoescape=True)
                            | ProcessDefinition.name.icontains(search, autoescape=True))
    return paged(query, ProcessDefinition.key, limit=limit, offset=offset)


def _latest_dmn() -> list[ProcessDefinition]:
    items, _ = list_latest(kind="dmn", limit=10_000)
    return items


def deploy(filename: str, content: bytes, actor: str | None,
           forms_in_upload: frozenset[str] = frozenset()) -> list[tuple[ProcessDefinition, bool]]:
    """Validate and store one file; returns each (definition, created). Same content again is not a new version.

    A user task's form key must name a deployed form or one in the same upload (`forms_in_upload`).
    """
    try:
        tree = parse_xml(content, filename)  # once: kind, validation, compilation and stored text all use it
        kind = document_kind(tree, filename)
        if kind == "dmn":
            decisions, processes, dmn = dmn_decisions(tree, filename), [], []
        else:
            dmn = _latest_dmn()
            processes = compile_document(tree, filename, [(d.filename, d.content.encode()) for d in dmn])
    except DefinitionError as exc:
        raise _invalid(exc) from None
    _check_forms(processes, filename, forms_in_upload)
    text, checksum = _as_text(content, tree), _checksum(content)
    if kind == "dmn":
        return [_store(key, name, "dmn", filename, text, checksum, actor) for key, name in decisions]
    results = []
    for process in processes:
        definition, created = _store(process.key, process.name, "bpmn", filename, text, checksum, actor,
                                     depends_on=[d.id for d in dmn], timer_start=process.timer_start)
        if created:  # cached once the upload commits: a rolled-back id may be reused by another definition
            db.session.info.setdefault(_PENDING, {})[definition.id] = process
            db.session.add_all([EventStart(definition_id=definition.id, process_key=process.key, kind=kind, name=name)
                                for kind, names in (("message", process.start_messages),
                                                    ("signal", process.start_signals)) for name in sorted(names)])
        results.append((definition, created))
    return results


def _check_forms(processes: list[CompiledProcess], filename: str, forms_in_upload: frozenset[str]) -> None:
    """A task names a form only on purpose: a form key without a form is a mistake in the diagram."""
    from ..forms import service as forms

    for process in processes:
        for task in process.user_tasks.values():
            key = task.form_key
            if key and key not in forms_in_upload and forms.latest(key) is None:
                raise Invalid(f"用户任务 {task.name} 的表单 {key} 不存在 (formKey names no deployed form)",
                              {"file": filename, "element": task.element_id, "form_key": key},
                              code="invalid_definition")


def _store(key, name, kind, filename, text: str, checksum, actor, depends_on=(), timer_start=False):
    current = latest(key)
    if current is not None and current.kind != kind:
        raise Conflict(f"标识 {key} 已被 {current.kind.upper()} 定义使用", {"key": key})
    if current is not None and current.checksum == checksum:
        return current, False
    definition = ProcessDefinition(
        key=key, version=(current.version + 1) if current else 1, kind=kind, name=name, filename=filename,
        content=text, checksum=checksum, depends_on=list(depends_on),
        timer_start=timer_start, deployed_at=now(), deployed_by=actor)
    db.session.add(definition)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"流程定义 {key} 正在被同时部署，请重试", {"key": key}) from None
    return definition, True


def _as_text(content: bytes, tree) -> str:
    """The file as text; a document in another encoding (GBK, say) is stored re-serialized, without its declaration."""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return etree.tostring(tree.getroot(), encoding="unicode")


class CallResolver:
    """Finds the process a call activity names when a case reaches it (Camunda's calledElementBinding)."""

    def __init__(self, caller_definition_id: int | None) -> None:
        self.caller_definition_id = caller_definition_id

    def resolve(self, key: str, binding: str, version: int | None) -> tuple[int, CompiledProcess]:
        query = db.select(ProcessDefinition).where(ProcessDefinition.key == key, ProcessDefinition.kind == "bpmn")
        if binding == "version":
            query = query.where(ProcessDefinition.version == version)
        elif binding == "deployment" and self.caller_definition_id is not None:
            # the version that was current when the caller's version was deployed
            caller = db.session.get(ProcessDefinition, self.caller_definition_id)
            query = query.where(ProcessDefinition.deployed_at <= caller.deployed_at)
        definition = db.session.scalar(query.order_by(ProcessDefinition.version.desc()).limit(1))
        if definition is None:
            raise LookupError(f"{key} ({binding}{f' v{version}' if version else ''}) is not deployed")
        return definition.id, compiled(definition)

    def by_ref(self, ref) -> CompiledProcess | None:
        definition = db.session.get(ProcessDefinition, int(ref))
        return compiled(definition) if definition is not None else None


def compiled_by_id(definition_id: int) -> CompiledProcess:
    """Like `compiled`, without touching the database when the version is already in memory."""
    process = _compiled.get(definition_id)
    return process if process is not None else compiled(db.session.get(ProcessDefinition, definition_id))


def compiled(definition: ProcessDefinition) -> CompiledProcess:
    """The parsed spec of one version: built once per process, then served from memory."""
    process = _compiled.get(definition.id)
    if process is None:
        with _compile_lock:
            process = _compiled.get(definition.id)
            if process is None:
                dmn = [db.session.get(ProcessDefinition, i) for i in definition.depends_on or []]
                found = compile_bpmn(definition.content.encode(), definition.filename,
                                     [(d.filename, d.content.encode()) for d in dmn if d is not None])
                process = next(p for p in found if p.key == definition.key)
                _compiled[definition.id] = process
    return process


def deploy_directory(directory: str | Path, actor: str | None = "system") -> list[tuple[ProcessDefinition, bool]]:
    """Deploy every DMN then every BPMN file under a folder (DMN first so diagrams can use them)."""
    root = Path(directory)
    results = []
    for pattern in ("*.dmn", "*.bpmn"):
        for path in sorted(root.rglob(pattern)):
            results.extend(deploy(path.relative_to(root).as_posix(), path.read_bytes(), actor))
    return results
