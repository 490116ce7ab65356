"""Deploying BPMN/DMN files as versioned definitions, and the per-version compiled-spec cache."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..caches import app_cache
from ..clock import now
from ..engine.compiler import (
    CompiledProcess,
    compile_bpmn,
    compile_document,
    decision_engine,
    dmn_decisions,
    document_kind,
)
from ..engine.errors import DefinitionError
from ..engine.xml import parse_xml
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..models_base import paged
from .models import EventStart, ProcessDefinition

_compile_lock = threading.Lock()
_PENDING = "tongban.compiled_pending"


def compiled_cache() -> dict[int, CompiledProcess]:
    """This app's compiled specs by definition id."""
    return app_cache("definitions.compiled", dict)


@event.listens_for(Session, "after_commit")
def _keep_compiled(session) -> None:
    if session.in_nested_transaction():  # a savepoint released (flows.deploy): not committed yet
        return
    pending = session.info.pop(_PENDING, None)
    if pending:
        compiled_cache().update(pending)


@event.listens_for(Session, "after_rollback")
def _drop_compiled(session) -> None:
    if session.in_nested_transaction():  # a refused file's savepoint: the upload as a whole is rolled back too
        return
    session.info.pop(_PENDING, None)


def _invalid(exc: DefinitionError) -> Invalid:
    return Invalid(exc.message, exc.details(), code="invalid_definition")


def _checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def latest(key: str) -> ProcessDefinition | None:
    """The newest version by number, whatever its state (new versions are numbered after it)."""
    return db.session.scalar(db.select(ProcessDefinition).where(ProcessDefinition.key == key)
                             .order_by(ProcessDefinition.version.desc()).limit(1))


def current(key: str) -> ProcessDefinition | None:
    """The version new cases of a key use: the newest one not withdrawn (it may be suspended)."""
    return db.session.scalar(db.select(ProcessDefinition).where(ProcessDefinition.key == key,
                                                                ProcessDefinition.state != "withdrawn")
                             .order_by(ProcessDefinition.version.desc()).limit(1))


def get_latest_or_404(key: str) -> ProcessDefinition:
    """The current version, or the newest one when every version is withdrawn (it can still be read)."""
    definition = current(key) or latest(key)
    if definition is None:
        raise NotFound(f"流程定义 {key} 不存在", {"key": key})
    return definition


def get_version_or_404(key: str, version: int) -> ProcessDefinition:
    definition = db.session.scalar(db.select(ProcessDefinition).filter_by(key=key, version=version))
    if definition is None:
        raise NotFound(f"流程定义 {key} 第 {version} 版不存在", {"key": key, "version": version})
    return definition


def startable(key: str, version: int | None = None) -> ProcessDefinition:
    """The version a new case of `key` starts on (the current one unless `version` is given), or 409 why not."""
    if version is not None:
        definition = get_version_or_404(key, version)
    else:
        definition = current(key)
        if definition is None:
            get_latest_or_404(key)  # 404 when the key is unknown
            raise Conflict(f"流程定义 {key} 的所有版本均已撤回，不能新建办件 (every version is withdrawn)",
                           {"key": key, "reason": "withdrawn"}, code="definition_withdrawn")
    ensure_startable(definition)
    return definition


def ensure_startable(definition: ProcessDefinition) -> None:
    if definition.state == "suspended":
        why = f"：{definition.state_reason}" if definition.state_reason else ""
        raise Conflict(f"流程定义 {definition.key} 第 {definition.version} 版已挂起，暂停受理新办件{why}"
                       f" (definition suspended)",
                       {"key": definition.key, "version": definition.version, "state": "suspended",
                        "reason": definition.state_reason}, code="definition_suspended")
    if definition.state == "withdrawn":
        why = f"：{definition.state_reason}" if definition.state_reason else ""
        raise Conflict(f"流程定义 {definition.key} 第 {definition.version} 版已撤回，不能新建办件{why}"
                       f" (version withdrawn)",
                       {"key": definition.key, "version": definition.version, "state": "withdrawn",
                        "reason": definition.state_reason}, code="definition_withdrawn")


def versions(key: str) -> list[ProcessDefinition]:
    return list(db.session.scalars(db.select(ProcessDefinition).where(ProcessDefinition.key == key)
                                   .order_by(ProcessDefinition.version.desc())))


def list_latest(kind: str | None = None, search: str | None = None, limit: int = 50, offset: int = 0):
    """The current version (newest not withdrawn) of each key, with the total count."""
    newest = (db.select(ProcessDefinition.key, db.func.max(ProcessDefinition.version).label("version"))
              .where(ProcessDefinition.state != "withdrawn").group_by(ProcessDefinition.key).subquery())
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


@dataclass
class Prepared:
    """One uploaded file, parsed, validated and compiled, not yet stored (dry runs stop here)."""

    filename: str
    kind: str  # bpmn | dmn
    tree: etree._ElementTree
    text: str
    checksum: str
    decisions: list[tuple[str, str]] = field(default_factory=list)
    processes: list[CompiledProcess] = field(default_factory=list)
    dmn: list[ProcessDefinition] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [key for key, _ in self.decisions] if self.kind == "dmn" else [p.key for p in self.processes]


def prepare(filename: str, content: bytes) -> Prepared:
    """Parse, validate and compile one BPMN/DMN file; 422 naming file, line and element."""
    try:
        tree = parse_xml(content, filename)  # once: kind, validation, compilation and stored text all use it
        kind = document_kind(tree, filename)
        from .checks import check_source  # timer expressions and DMN cells compile where conditions do

        if kind == "dmn":
            decisions = dmn_decisions(tree, filename, expression_check=lambda text: check_source(text, "eval"))
            processes, dmn = [], []
        else:
            decisions, dmn = [], _latest_dmn()
            processes = compile_document(tree, filename, [(d.filename, d.content.encode()) for d in dmn],
                                         expression_check=lambda text: check_source(text, "eval"))
    except DefinitionError as exc:
        raise _invalid(exc) from None
    return Prepared(filename, kind, tree, _as_text(content, tree), _checksum(content), decisions, processes, dmn)


def store(prepared: Prepared, actor: str | None, *, changelog: str | None = None,
          source: str | None = None) -> list[tuple[ProcessDefinition, bool]]:
    """Store a prepared file; returns each (definition, created). Same content as the current version: not new."""
    p = prepared
    extra = {"changelog": changelog, "source": source}
    if p.kind == "dmn":
        return [_store(key, name, "dmn", p.filename, p.text, p.checksum, actor, **extra) for key, name in p.decisions]
    results = []
    for process in p.processes:
        definition, created = _store(process.key, process.name, "bpmn", p.filename, p.text, p.checksum, actor,
                                     depends_on=[d.id for d in p.dmn], timer_start=process.timer_start, **extra)
        if created:  # cached once the upload commits: a rolled-back id may be reused by another definition
            db.session.info.setdefault(_PENDING, {})[definition.id] = process
            db.session.add_all([EventStart(definition_id=definition.id, process_key=process.key, kind=kind, name=name)
                                for kind, names in (("message", process.start_messages),
                                                    ("signal", process.start_signals)) for name in sorted(names)])
        results.append((definition, created))
    return results


def deploy(filename: str, content: bytes, actor: str | None, **options) -> list[tuple[ProcessDefinition, bool]]:
    """Validate and store one file, without the deploy flow's checks (see flows.py for the API/CLI/bootstrap)."""
    return store(prepare(filename, content), actor, **options)


def _store(key, name, kind, filename, text: str, checksum, actor, depends_on=(), timer_start=False,
           changelog=None, source=None):
    newest = latest(key)
    if newest is not None and newest.kind != kind:
        raise Conflict(f"标识 {key} 已被 {newest.kind.upper()} 定义使用", {"key": key})
    in_use = current(key)  # a withdrawn version's content deployed again is a new version
    if in_use is not None and in_use.checksum == checksum:
        return in_use, False
    definition = ProcessDefinition(
        key=key, version=(newest.version + 1) if newest else 1, kind=kind, name=name, filename=filename,
        content=text, checksum=checksum, depends_on=list(depends_on),
        timer_start=timer_start, deployed_at=now(), deployed_by=actor, state="active", changelog=changelog,
        source=source)
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
        if binding != "version":  # latest and deployment mean versions in use: a withdrawn one is skipped
            query = query.where(ProcessDefinition.state != "withdrawn")
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

    def decision(self, decision_id: str):
        """A decision the caller's deploy did not have: its current version, compiled once per version."""
        definition = current(decision_id)
        if definition is None or definition.kind != "dmn":
            raise LookupError(f"{decision_id} is not deployed")
        engines = app_cache("definitions.decisions", dict)
        engine = engines.get(definition.id)
        if engine is None:
            engine = engines[definition.id] = decision_engine(definition.content.encode(), definition.filename,
                                                              decision_id)
        return engine


def compiled_by_id(definition_id: int) -> CompiledProcess:
    """Like `compiled`, without touching the database when the version is already in memory."""
    process = compiled_cache().get(definition_id)
    return process if process is not None else compiled(db.session.get(ProcessDefinition, definition_id))


def compiled(definition: ProcessDefinition) -> CompiledProcess:
    """The parsed spec of one version: built once per process, then served from memory."""
    cache = compiled_cache()
    process = cache.get(definition.id)
    if process is None:
        with _compile_lock:
            process = cache.get(definition.id)
            if process is None:
                dmn = [db.session.get(ProcessDefinition, i) for i in definition.depends_on or []]
                found = compile_bpmn(definition.content.encode(), definition.filename,
                                     [(d.filename, d.content.encode()) for d in dmn if d is not None])
                process = next(p for p in found if p.key == definition.key)
                cache[definition.id] = process
    return process


def deploy_directory(directory: str | Path, actor: str | None = "system") -> list[tuple[ProcessDefinition, bool]]:
    """Deploy every DMN then every BPMN file under a folder (DMN first so diagrams can use them)."""
    root = Path(directory)
    results = []
    for pattern in ("*.dmn", "*.bpmn"):
        for path in sorted(root.rglob(pattern)):
            results.extend(deploy(path.relative_to(root).as_posix(), path.read_bytes(), actor))
    return results
