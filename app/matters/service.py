"""The matter catalog: validating and loading processes/<dept>/<code>.yaml, and the public guide's queries.

A matter's yaml is its public record (九公开). It is loaded on deploy (bootstrap, `flask deploy`, and the
deploy API beside the diagrams); a file whose content did not change is not rewritten.

Versions (`matter_version`): every change of a record — a deploy or seed whose yaml differs from the record, or an
update through the API (`change`, with a reason and the date it takes effect) — is a new version holding the whole
record, its promised and statutory limits, its effective date (Asia/Shanghai), who changed it, why and when. A version
effective today or earlier is the matter row's record at once; one effective later is pending until its date
(`apply_due`, the hall's periodic job), and a case received on or after that date runs under it all the same (the
case clock reads the pending versions). Effective dates never go back: a change takes effect today or later, and
not before the latest version's.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa
import yaml

from ..caches import bump_generation
from ..clock import SHANGHAI, now
from ..errors import Invalid, NotFound
from ..extensions import db
from ..people.models import Department
from . import declared, yaml_safe
from .laws import REFERENCE_YEAR, citation_year
from .models import KIND_NAMES, KINDS, TYPES, Matter, MatterVersion

GENERATION = "matters"  # the shared generation of the catalog: a record changed on any server process

REGION = "32021300"
CODE_RE = re.compile(r"^(\d{8})([A-Z]{2})-([A-Z]{2})-(\d{4})$")
YAML_SUFFIXES = (".yaml", ".yml")
NOT_MATTERS = {"hall.yaml", "hall.yml"}  # the hall lives beside the department folders

# field -> (type, required); the types a yaml value may have
_STR, _INT, _BOOL, _LIST, _DICT = str, int, bool, list, dict
FIELDS: dict[str, tuple[type, bool]] = {
    "code": (_STR, True), "name": (_STR, True), "type": (_STR, True), "department": (_STR, True),
    "kind": (_STR, True), "co_departments": (_LIST, False), "higher_authority": (_STR, False),
    "statutory_days": (_INT, True), "promised_days": (_INT, True), "statutory_basis": (_STR, True),
    "effective_from": (_STR, True), "cancelled_on": (_STR, False), "acceptance_conditions": (_STR, True),
    "materials": (_LIST, True), "fee_charged": (_BOOL, False), "fee_basis": (_STR, True),
    "fee_standard": (_STR, True), "result": (_DICT, True), "legal_basis": (_LIST, True),
    "procedure": (_LIST, True), "special_procedures": (_LIST, False), "place": (_STR, False),
    "hours": (_STR, False), "visits": (_INT, False), "consultation": (_STR, False),
    "complaint": (_STR, False), "online": (_BOOL, False), "green_channel": (_BOOL, False),
    # 上报件: the district's clock at forwarding (end | pause) when the diagram's forward step does not say
    "forward_clock": (_STR, False),
    # the applicant's supplement deadline in working days: what the generator writes into the diagram's timer
    "supplement_days": (_INT, False),
}
_TYPE_NAMES = {_STR: "文本", _INT: "整数", _BOOL: "布尔值 (true/false)", _LIST: "列表", _DICT: "对象"}


def safe_link(url) -> bool:
    """A link the public guide may print: http(s) or a path of this site; never `javascript:`, `data:`, `//host`
    or anything with spaces or control characters."""
    if not isinstance(url, str) or not url or len(url) > 2000 or any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        return False
    lowered = url.lower()
    if lowered.startswith(("https://", "http://")):
        return True
    return url.startswith("/") and not url.startswith(("//", "/\\"))


def is_matter_file(filename: str | None) -> bool:
    name = PurePosixPath((filename or "").replace("\\", "/")).name.lower()
    return name.endswith(YAML_SUFFIXES) and name not in NOT_MATTERS


def process_key_for(code: str) -> str:
    """The BPMN process id of a matter: `matter_` + code with `-` turned into `_`."""
    return "matter_" + code.replace("-", "_")


# ------------------------------------------------------------------------------------------- validation

class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.items.append({"field": field, "message": message})


def _plain(value: Any) -> Any:
    """YAML may hold dates; the record is stored as JSON."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _is(value: Any, kind: type) -> bool:
    if kind is _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def parse(filename: str, content: bytes) -> dict[str, Any]:
    """The yaml's mapping, or 422 naming the file (and the line for syntax errors)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _invalid(filename, None, f"事项文件 {filename} 不是 UTF-8 编码") from None
    try:
        record = yaml_safe.load(text)  # plain data only: no aliases, no custom tags, bounded (yaml_safe.py)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        details = {"line": mark.line + 1, "column": mark.column + 1} if mark is not None else {}
        problem = getattr(exc, "problem", None) or str(exc)
        raise _invalid(filename, None, f"事项文件 {filename} 不是有效的 YAML: {problem}", **details) from None
    if not isinstance(record, dict):
        raise _invalid(filename, None, f"事项文件 {filename} 的内容必须是键值对象 (a YAML mapping)")
    return _plain(record)


def _invalid(filename: str, field: str | None, message: str, errors: list | None = None, **extra) -> Invalid:
    details = {"file": filename, "field": field, **extra}
    if errors is not None:
        details["errors"] = errors
    return Invalid(message, details, code="invalid_matter")


def validate(filename: str, record: dict[str, Any]) -> None:
    """Check a matter's record; 422 with every problem, the first one named in message and `field`."""
    problems = _Problems()
    for field, (kind, required) in FIELDS.items():
        value = record.get(field)
        if value is None:
            if required:
                problems.add(field, f"缺少必填字段 {field}")
            continue
        if not _is(value, kind):
            problems.add(field, f"字段 {field} 应为{_TYPE_NAMES[kind]}")
        elif kind is _STR and required and not value.strip():
            problems.add(field, f"字段 {field} 不能为空")
        elif kind is _INT and value < 0:
            problems.add(field, f"字段 {field} 不能为负数")
    valid = {f for f in FIELDS if f in record and record[f] is not None
             and not any(p["field"] == f for p in problems.items)}
    _check_identity(filename, record, valid, problems)
    _check_kind(record, valid, problems)
    _check_lists(record, valid, problems)
    _check_year(record, valid, problems)
    declared.check(record, set(FIELDS), problems.add)
    if problems.items:
        first = problems.items[0]
        more = f"（另有 {len(problems.items) - 1} 处问题）" if len(problems.items) > 1 else ""
        raise _invalid(filename, first["field"], f"事项文件 {filename}: {first['message']}{more}", problems.items)


def _departments() -> dict[str, Department]:
    return {d.code: d for d in db.session.scalars(db.select(Department))}


def _check_identity(filename: str, record: dict, valid: set[str], problems: _Problems) -> None:
    if "type" in valid and record["type"] not in TYPES:
        problems.add("type", f"事项类型 {record['type']} 无效，应为 {'、'.join(TYPES)} 之一")
    if "kind" in valid and record["kind"] not in KINDS:
        problems.add("kind", f"办件类型 {record['kind']} 无效，应为 {'/'.join(KINDS)} 之一"
                             f"（{'、'.join(KIND_NAMES.values())}）")
    departments = _departments()  # checked against the hall only once it is seeded
    if "department" in valid and departments and record["department"] not in departments:
        problems.add("department", f"实施部门 {record['department']} 不在大厅部门之列 (hall.yaml)")
    path = PurePosixPath(filename.replace("\\", "/"))
    if "code" in valid:
        code = record["code"]
        match = CODE_RE.match(code)
        if match is None:
            problems.add("code", f"事项编码 {code} 格式应为 {REGION}XX-类型-四位序号，如 {REGION}FG-BA-0001")
        else:
            region, letters, type_letters, _ = match.groups()
            if region != REGION:
                problems.add("code", f"事项编码 {code} 的区划代码应为 {REGION}")
            if "type" in valid and TYPES.get(record["type"]) not in (None, type_letters):
                problems.add("code", f"事项编码 {code} 的类型字母 {type_letters} 与事项类型 {record['type']}"
                                     f"（{TYPES[record['type']]}）不符")
            department = departments.get(record["department"]) if "department" in valid else None
            if department is not None and department.letters and department.letters != letters:
                problems.add("code", f"事项编码 {code} 的部门字母 {letters} 与实施部门 {department.name}"
                                     f"（{department.letters}）不符")
        if path.stem != code:
            problems.add("code", f"文件名 {path.name} 与事项编码 {code} 不一致（应为 {code}{path.suffix}）")
    if "department" in valid and len(path.parts) > 1 and path.parent.name != record["department"]:
        problems.add("department", f"文件位于 {path.parent.name}/ 目录，但实施部门为 {record['department']}")
    if "statutory_days" in valid and record["statutory_days"] == 0:
        problems.add("statutory_days", "法定办结时限不能为 0：没有法律规定 0 日办结，即办件也有法定时限"
                                       "（无专门规定时为《中华人民共和国行政许可法》第四十二条的 20 个工作日）")
    if {"statutory_days", "promised_days"} <= valid and record["promised_days"] > record["statutory_days"]:
        problems.add("promised_days", f"承诺时限 {record['promised_days']} 天不能超过法定时限 "
                                      f"{record['statutory_days']} 天")
    if "promised_days" in valid and record["promised_days"] == 0 and record.get("kind") in KINDS \
            and record["kind"] != "immediate":
        problems.add("promised_days", "只有即办件 (immediate) 的承诺时限可为 0（当场办结）")


def _check_kind(record: dict, valid: set[str], problems: _Problems) -> None:
    kind = record.get("kind")
    co = record.get("co_departments") if "co_departments" in valid else []
    if kind == "joint" and not co:
        problems.add("co_departments", "联办件 (joint) 须列出协办部门 co_departments")
    if co:
        departments = _departments()
        for i, code in enumerate(co):
            field = f"co_departments[{i}]"
            if not _text(code):
                problems.add(field, f"{field} 应为部门编码")
            elif code == record.get("department"):
                problems.add(field, f"协办部门 {code} 不能是实施部门本身")
            elif departments and code not in departments:
                problems.add(field, f"协办部门 {code} 不在大厅部门之列 (hall.yaml)")
        if len(set(map(str, co))) != len(co):
            problems.add("co_departments", "协办部门重复")
        if kind in KINDS and kind != "joint":
            problems.add("co_departments", f"只有联办件 (joint) 才有协办部门，本事项为 {kind}")
    if kind == "reported" and not _text(record.get("higher_authority")):
        problems.add("higher_authority", "上报件 (reported) 须写明上级机关 higher_authority")


def _check_lists(record: dict, valid: set[str], problems: _Problems) -> None:
    if "materials" in valid:
        if not record["materials"]:
            problems.add("materials", "申报材料 materials 至少一项")
        for i, item in enumerate(record["materials"]):
            field = f"materials[{i}]"
            if not isinstance(item, dict):
                problems.add(field, f"{field} 应为对象 (name, originals, copies, required, source, note)")
                continue
            if not _text(item.get("name")):
                problems.add(f"{field}.name", f"{field} 缺少材料名称 name")
            if item.get("form_url") is not None and not safe_link(item["form_url"]):
                problems.add(f"{field}.form_url", f"{field}.form_url 应为 https:// 或 http:// 开头的网址，"
                                                  f"或本站路径（以 / 开头）")
            for count in ("originals", "copies"):
                if item.get(count) is not None and (not _is(item[count], _INT) or item[count] < 0):
                    problems.add(f"{field}.{count}", f"{field}.{count} 应为非负整数")
            if item.get("required") is not None and not isinstance(item["required"], bool | str):
                problems.add(f"{field}.required", f"{field}.required 应为 true/false")
    if "result" in valid and not _text(record["result"].get("name")):
        problems.add("result.name", "办理结果 result 须有名称 name")
    for field in ("legal_basis", "procedure"):
        if field in valid:
            if not record[field]:
                problems.add(field, f"{field} 至少一项")
            for i, item in enumerate(record[field]):
                if not _text(item):
                    problems.add(f"{field}[{i}]", f"{field}[{i}] 应为非空文本")
    if "forward_clock" in valid and record["forward_clock"] not in ("end", "pause"):
        problems.add("forward_clock", f"forward_clock 应为 end（上报后区级计时结束）或 pause（暂停至上级答复），"
                                      f"而不是 {record['forward_clock']}")
    if "supplement_days" in valid and not 1 <= record["supplement_days"] <= 365:
        problems.add("supplement_days", f"supplement_days 应为 1 至 365 的工作日数，而不是 {record['supplement_days']}")
    if "special_procedures" in valid:
        for i, item in enumerate(record["special_procedures"]):
            field = f"special_procedures[{i}]"
            if not isinstance(item, dict) or not _text(item.get("name")):
                problems.add(field, f"{field} 应为带名称 name 的对象，如 {{name: 现场勘察, max_days: 5}}")
            elif item.get("max_days") is not None and (not _is(item["max_days"], _INT) or item["max_days"] < 0):
                problems.add(f"{field}.max_days", f"{field}.max_days 应为非负整数")
            elif item.get("basis") is not None and not _text(item.get("basis")):
                problems.add(f"{field}.basis", f"{field}.basis 应为规定该特别程序的地方性法规或规章的名称及条款（文本）")


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _check_year(record: dict, valid: set[str], problems: _Problems) -> None:
    """The catalog describes REFERENCE_YEAR: its laws, its matters' dates."""
    latest = None  # the latest year among the cited laws
    citations = [(f"legal_basis[{i}]", text) for i, text in enumerate(record["legal_basis"])
                 if _text(text)] if "legal_basis" in valid else []
    if "statutory_basis" in valid and record["statutory_basis"].strip():
        citations.append(("statutory_basis", record["statutory_basis"]))
    for field, text in citations:
        year = citation_year(text)
        if year is None:
            problems.add(field, f"{field}「{text}」看不出年份：写明版本（如 （2007年修正））或在 "
                                f"app/matters/laws.py 的法规年份表中登记")
        elif year > REFERENCE_YEAR:
            problems.add(field, f"{field}「{text}」为 {year} 年的法规，晚于目录年度 {REFERENCE_YEAR} 年")
        else:
            latest = max(latest or year, year)
    if "fee_basis" in valid:  # fee bases: refused only when datably later (many are local price documents)
        year = citation_year(record["fee_basis"])
        if year is not None and year > REFERENCE_YEAR:
            problems.add("fee_basis", f"收费依据为 {year} 年的文件，晚于目录年度 {REFERENCE_YEAR} 年")
    starts = ends = None
    if "effective_from" in valid:
        starts = _date(record["effective_from"])
        if starts is None:
            problems.add("effective_from", f"生效日期 effective_from 应为日期 YYYY-MM-DD，而不是 {record['effective_from']}")
        elif starts.year > REFERENCE_YEAR:
            problems.add("effective_from", f"生效日期 {starts} 晚于目录年度 {REFERENCE_YEAR} 年")
        elif latest is not None and starts.year < latest:
            problems.add("effective_from", f"生效日期 {starts} 早于所引法规的年份 {latest} 年")
    if "cancelled_on" in valid:
        ends = _date(record["cancelled_on"])
        if ends is None:
            problems.add("cancelled_on", f"取消日期 cancelled_on 应为日期 YYYY-MM-DD 或 null，而不是 {record['cancelled_on']}")
        elif starts is not None and ends < starts:
            problems.add("cancelled_on", f"取消日期 {ends} 早于生效日期 {starts}")


def state_of(matter, today: date | None = None) -> str:
    """`active`, `cancelled` (cancelled_on reached: kept in the catalog, not offered for new cases) or
    `pending` (effective_from not reached yet)."""
    today = today or now().astimezone(SHANGHAI).date()
    if matter.cancelled_on is not None and matter.cancelled_on <= today:
        return "cancelled"
    if matter.effective_from is not None and matter.effective_from > today:
        return "pending"
    return "active"


def is_offered(matter, today: date | None = None) -> bool:
    """Whether new cases of the matter may be received (for the runtime's start check)."""
    return state_of(matter, today) == "active"


# ------------------------------------------------------------------------------------------------ loading

def _checksum(record: dict) -> str:
    canonical = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def deploy(filename: str, content: bytes, actor: str | None,
           reason: str | None = None) -> tuple[Matter, bool]:
    """Validate and store one matter yaml; returns (matter, created_or_changed). Same content: not rewritten.

    A new or changed record is a new version, in force today (`reason`: the deploy's changelog, else what happened).
    A record with a version still pending (a change through the API that takes effect later) is not overwritten:
    422, since the yaml would undo that change on its date.
    """
    record = parse(filename, content)
    validate(filename, record)
    checksum = _checksum(record)
    matter = db.session.get(Matter, record["code"])
    if matter is not None and matter.checksum == checksum:
        return matter, False
    at = now()
    if matter is None:
        matter = Matter(code=record["code"], created_at=at)
        db.session.add(matter)
        why = reason or f"事项记录首次载入（{filename}）"
    else:
        pending = _pending(matter.code)
        if pending is not None:
            raise _invalid(filename, None, f"事项 {matter.code} 有 {pending.effective_from} 起生效的待生效版本 "
                                           f"v{pending.version}（{pending.reason}）：请在其生效后再部署该事项文件",
                           version=pending.version, effective_from=pending.effective_from.isoformat())
        _ensure_first_version(matter)
        why = reason or f"事项文件 {filename} 重新部署"
    _store(matter, record, filename, actor, at)
    # the first version is in force since the matter is (its record's effective_from); a change from today
    first = matter.version is None and _latest(matter.code) is None
    since = (matter.effective_from or today_local()) if first else today_local()
    _new_version(matter, record, actor, why, min(since, today_local()), at, applied=True)
    db.session.flush()
    bump_generation(GENERATION)  # every server process's memory of matters (the case clock's) is stale now
    return matter, True


def _store(matter: Matter, record: dict, filename: str, actor: str | None, at: datetime) -> None:
    """The record becomes the matter row's (its columns from the record's fields)."""
    for field in FIELDS:
        if field in ("code", "department", "statutory_basis"):
            continue
        if field in ("effective_from", "cancelled_on"):
            setattr(matter, field, _date(record.get(field)))
            continue
        setattr(matter, field, record.get(field))
    matter.department_code = record["department"]
    for field, default in (("co_departments", []), ("special_procedures", []), ("fee_charged", False),
                           ("online", False), ("green_channel", False)):
        if getattr(matter, field) is None:
            setattr(matter, field, default)
    matter.process_key = process_key_for(record["code"])
    matter.record = record
    matter.filename = filename
    matter.checksum = _checksum(record)
    matter.updated_at = at
    matter.updated_by = actor


def deploy_directory(directory: str | Path, actor: str | None = "system") -> list[tuple[Matter, bool]]:
    """Load every matter yaml under a folder (processes/<dept>/<code>.yaml; hall.yaml is skipped)."""
    root = Path(directory)
    paths = sorted(p for suffix in YAML_SUFFIXES for p in root.rglob(f"*{suffix}"))
    return [deploy(p.relative_to(root).as_posix(), p.read_bytes(), actor)
            for p in paths if is_matter_file(p.name)]


# ------------------------------------------------------------------------------------------------- versions

REASON_MAX = 1000
BACKFILL_REASON = "初始版本（版本记录启用前已载入的事项记录）"
FIXED_FIELDS = ("code", "department")  # a record's identity: a change of these is a new matter, not a version


def today_local() -> date:
    return now().astimezone(SHANGHAI).date()


def _latest(code: str) -> MatterVersion | None:
    return db.session.scalar(sa.select(MatterVersion).where(MatterVersion.matter_code == code)
                             .order_by(MatterVersion.version.desc()).limit(1))


def _pending(code: str) -> MatterVersion | None:
    """The newest version not yet in force (taking effect later), if any."""
    return db.session.scalar(sa.select(MatterVersion).where(MatterVersion.matter_code == code,
                                                            MatterVersion.applied_at.is_(None))
                             .order_by(MatterVersion.version.desc()).limit(1))


def _new_version(matter: Matter, record: dict, actor: str | None, reason: str, effective_from: date,
                 at: datetime, *, applied: bool) -> MatterVersion:
    latest = _latest(matter.code)
    number = (latest.version if latest is not None else 0) + 1
    row = MatterVersion(matter_code=matter.code, version=number, record=record,
                        promised_days=int(record.get("promised_days") or 0),
                        statutory_days=int(record.get("statutory_days") or 0), effective_from=effective_from,
                        changed_by=actor, reason=reason[:REASON_MAX], changed_at=at, applied_at=at if applied else None)
    db.session.add(row)
    if applied:
        matter.version = number
    db.session.flush()
    return row


def _ensure_first_version(matter: Matter) -> None:
    """A record stored without a version (before versions were kept): its current record is version 1."""
    if matter.version is None and _latest(matter.code) is None:
        at = now()
        record = matter.record or {}
        if not record.get("promised_days") and matter.promised_days is not None:
            record = {**record, "promised_days": matter.promised_days, "statutory_days": matter.statutory_days}
        db.session.add(MatterVersion(
            matter_code=matter.code, version=1, record=record, promised_days=matter.promised_days or 0,
            statutory_days=matter.statutory_days or 0,
            effective_from=matter.effective_from or (matter.updated_at or at).astimezone(SHANGHAI).date(),
            changed_by=matter.updated_by,
            reason=BACKFILL_REASON, changed_at=matter.updated_at or at, applied_at=at))
        matter.version = 1
        db.session.flush()


def change(code: str, changes: dict[str, Any], reason: str, effective_from: date | None,
           actor: str | None) -> MatterVersion:
    """Change fields of a matter's record (a new version): validated as a whole record, with a reason, taking effect
    on `effective_from` (default today, Asia/Shanghai; never in the past, never before the latest version's date).

    The change applies to the newest version (a pending one included). In force today: the matter row's record at
    once; later: pending until its date. The caller commits.
    """
    matter = get_or_404(code)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("请填写变更理由 reason（事项记录的每次变更都须说明理由）", {"field": "reason"})
    unknown = [f for f in FIXED_FIELDS if f in changes]
    if unknown:
        raise Invalid(f"事项编码 code 和实施部门 department 不能修改（另立新事项）：{'、'.join(unknown)}",
                      {"field": unknown[0]})
    if not changes:
        raise Invalid("changes 不能为空：请给出要修改的字段", {"field": "changes"})
    today = today_local()
    effective_from = effective_from or today
    if effective_from < today:
        raise Invalid(f"生效日期 {effective_from} 早于今天 {today}：变更不能追溯生效",
                      {"field": "effective_from", "today": today.isoformat()})
    _ensure_first_version(matter)
    latest = _latest(matter.code)
    if latest is not None and effective_from < latest.effective_from:
        raise Invalid(f"生效日期 {effective_from} 早于最新版本 v{latest.version} 的生效日期 {latest.effective_from}",
                      {"field": "effective_from", "version": latest.version,
                       "latest_effective_from": latest.effective_from.isoformat()})
    base = dict(latest.record if latest is not None and latest.record else matter.record or {})
    record = _plain({**base, **changes})
    validate(matter.filename, record)
    if _checksum(record) == _checksum(_plain(base)):
        raise Invalid("变更后的记录与当前版本相同，没有可记录的变更", {"field": "changes"})
    at = now()
    in_force = effective_from <= today
    row = _new_version(matter, record, actor, reason, effective_from, at, applied=in_force)
    if in_force:
        _store(matter, record, matter.filename, actor, at)
        db.session.flush()
    bump_generation(GENERATION)
    return row


def apply_due(today: date | None = None) -> int:
    """Pending versions whose date has come become their matter's record (the newest one due per matter); returns
    how many versions took effect. The caller commits."""
    today = today or today_local()
    due = list(db.session.scalars(sa.select(MatterVersion).where(
        MatterVersion.applied_at.is_(None), MatterVersion.effective_from <= today)
        .order_by(MatterVersion.matter_code, MatterVersion.version)))
    if not due:
        return 0
    at = now()
    newest: dict[str, MatterVersion] = {}
    for row in due:
        row.applied_at = at
        newest[row.matter_code] = row
    for code, row in newest.items():
        matter = db.session.get(Matter, code)
        if matter is not None and (matter.version or 0) < row.version:
            _store(matter, row.record, matter.filename, row.changed_by, at)
            matter.version = row.version
    db.session.flush()
    bump_generation(GENERATION)
    return len(due)


def version_in_force(code: str, on: date) -> MatterVersion | None:
    """The version a case received on that date runs under: the newest one effective by then."""
    return db.session.scalar(sa.select(MatterVersion).where(
        MatterVersion.matter_code == code, MatterVersion.effective_from <= on)
        .order_by(MatterVersion.version.desc()).limit(1))


def _field_order(name: str) -> tuple[int, str]:
    order = list(FIELDS)
    return (order.index(name), name) if name in order else (len(order), name)


def diff(before: dict | None, after: dict) -> list[dict[str, Any]]:
    """The fields that differ between two records: [{field, before, after}], in the catalog's order."""
    before = before or {}
    names = sorted(set(before) | set(after), key=_field_order)
    return [{"field": name, "before": before.get(name), "after": after.get(name)}
            for name in names if before.get(name) != after.get(name)]


def version_state(row: MatterVersion, current: int | None) -> str:
    """in_force (the matter row's record), pending (takes effect later) or superseded."""
    if row.applied_at is None:
        return "pending"
    return "in_force" if row.version == current else "superseded"


def history(code: str) -> tuple[Matter, list[dict[str, Any]]]:
    """A matter's versions, newest first, each with what changed from the version before it."""
    matter = get_or_404(code)
    rows = list(db.session.scalars(sa.select(MatterVersion).where(MatterVersion.matter_code == code)
                                   .order_by(MatterVersion.version)))
    items, previous = [], None
    for row in rows:
        items.append({"version": row.version, "effective_from": row.effective_from, "promised_days": row.promised_days,
                      "statutory_days": row.statutory_days, "changed_by": row.changed_by, "reason": row.reason,
                      "changed_at": row.changed_at, "applied_at": row.applied_at,
                      "state": version_state(row, matter.version),
                      "changes": diff(previous.record if previous is not None else None, row.record or {})
                      if previous is not None else []})
        previous = row
    items.reverse()
    return matter, items


# ----------------------------------------------------------------------------------------- public guide

def get_or_404(code: str) -> Matter:
    matter = db.session.get(Matter, code)
    if matter is None:
        raise NotFound(f"事项 {code} 不存在", {"code": code})
    return matter


def search(*, department: str | None = None, kind: str | None = None, keyword: str | None = None,
           type_: str | None = None, state: str = "active", limit: int = 50,
           offset: int = 0) -> tuple[list[Matter], int]:
    """`state`: `active` (the default: what is offered today), `cancelled`, `pending`, or `all`."""
    query = db.select(Matter)
    today = now().astimezone(SHANGHAI).date()
    cancelled = Matter.cancelled_on.is_not(None) & (Matter.cancelled_on <= today)
    pending = Matter.effective_from.is_not(None) & (Matter.effective_from > today)
    if state == "active":
        query = query.where(~cancelled, ~pending)
    elif state == "cancelled":
        query = query.where(cancelled)
    elif state == "pending":
        query = query.where(~cancelled, pending)
    if department:
        query = query.where(Matter.department_code == department)
    if kind:
        query = query.where(Matter.kind == kind)
    if type_:
        query = query.where(Matter.type == type_)
    if keyword and keyword.strip():
        word = keyword.strip()
        query = query.where(Matter.name.icontains(word, autoescape=True)
                            | Matter.code.icontains(word, autoescape=True))
    total = db.session.scalar(db.select(db.func.count()).select_from(query.subquery()))
    items = list(db.session.scalars(query.order_by(Matter.code).limit(limit).offset(offset)))
    return items, total


def department_names() -> dict[str, str]:
    return {d.code: d.name for d in db.session.scalars(db.select(Department))}


def handling_body(matter: Matter, names: dict[str, str]) -> dict[str, Any]:
    """办事主体: the implementing department; co-departments of a joint matter; a reported matter's decider."""
    lead = names.get(matter.department_code, matter.department_code)
    co = [{"code": c, "name": names.get(c, c)} for c in matter.co_departments or []]
    if matter.kind == "joint" and co:
        text = f"{lead}（牵头）会同{'、'.join(c['name'] for c in co)}联合办理"
    elif matter.kind == "reported" and matter.higher_authority:
        text = f"{lead}受理并初审，报{matter.higher_authority}决定"
    else:
        text = lead
    return {"department": matter.department_code, "department_name": lead, "co_departments": co,
            "higher_authority": matter.higher_authority, "text": text}
