"""Deploy-time checks on a diagram's XML and compiled specs: posts named by lanes and candidate groups, forms
named by formKey, conditions and scripts that must compile, processes called from other files. They read the
lxml tree and the specs the engine already built; the engine itself knows no posts."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from ..engine import sandbox_checks
from ..engine.sandbox import check_source as sandbox_check_source
from ..extensions import db
from ..forms.models import Form

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_TASKS = ("userTask", "manualTask")


@dataclass(frozen=True)
class PostRef:
    post: str
    element: str
    line: int | None
    via: str  # lane | candidateGroups


def post_references(tree: etree._ElementTree) -> list[PostRef]:
    """Every post a diagram routes to: lane names and `camunda:candidateGroups` entries (expressions skipped)."""
    refs = []
    root = tree.getroot()
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        name = (lane.get("name") or "").strip()
        if name:
            refs.append(PostRef(name, lane.get("id") or "", lane.sourceline, "lane"))
    for local in _TASKS:
        for task in root.iter(f"{{{BPMN_NS}}}{local}"):
            groups = task.get(f"{{{CAMUNDA_NS}}}candidateGroups") or ""
            for group in (g.strip() for g in groups.split(",")):
                if group and "${" not in group and "#{" not in group:  # an expression is resolved per case
                    refs.append(PostRef(group, task.get("id") or "", task.sourceline, "candidateGroups"))
    return refs


def missing_forms(processes, filename: str, also_known: set[str] = frozenset()) -> list[dict]:
    """A `camunda:formKey` (or SpiffWorkflow form) naming no deployed form and none in the same upload.

    A task names a form on purpose; without the form it would take any data, so the diagram is refused.
    The keys come from the compiled specs, which know every way a diagram can name a form.
    """
    found = [(task.form_key, task) for process in processes for task in process.user_tasks.values()
             if task.form_key and "${" not in task.form_key]
    if not found:
        return []
    known = set(db.session.scalars(db.select(Form.key).where(Form.key.in_({k for k, _ in found})).distinct()))
    problems = [{"code": "invalid_definition", "file": filename, "element": task.element_id, "form_key": key,
                 "message": f"用户任务 {task.name} 的表单 {key} 不存在 (formKey names no deployed form)"}
                for key, task in found if key not in known and key not in also_known]
    for key, task in found:  # camunda:formRefBinding="version": that very version must exist
        if task.form_binding == "version" and task.form_version is not None and key in known | set(also_known):
            exists = db.session.scalar(db.select(Form.id).where(Form.key == key, Form.version == task.form_version)
                                       .limit(1))
            if exists is None:
                problems.append({"code": "invalid_definition", "file": filename, "element": task.element_id,
                                 "form_key": key, "form_version": task.form_version,
                                 "message": f"用户任务 {task.name} 的表单 {key} 没有第 {task.form_version} 版 "
                                            f"(camunda:formRefVersion names no deployed version)"})
    return problems


def embedded_forms(processes, filename: str) -> list[dict]:
    """A task whose form is an embedded HTML form: deployed, with a warning that the server neither shows nor
    checks it (the task then takes any data, and says so)."""
    return [{"code": "embedded_form", "file": filename, "element": task.element_id, "form": task.form_ref,
             "message": f"{filename}: 用户任务 {task.name} 使用嵌入式 HTML 表单 {task.form_ref}，服务器不显示也不校验"
                        f"其提交的数据 (embedded form: runs without server validation)"}
            for process in processes for task in process.user_tasks.values() if task.form_kind == "embedded"]


# ------------------------------------------------------------------------ conditions, scripts and called processes

# Conditions, scripts and expressions compile in the sandbox's restricted language, as they will run.
check_source = sandbox_check_source


def _line_of(tree: etree._ElementTree | None, element: str | None) -> int | None:
    if tree is None or not element:
        return None
    node = tree.getroot().find(f".//*[@id='{element}']")
    return node.sourceline if node is not None else None


def _flow_between(tree: etree._ElementTree | None, source: str, target: str) -> str | None:
    if tree is None:
        return None
    for flow in tree.getroot().iter(f"{{{BPMN_NS}}}sequenceFlow"):
        if flow.get("sourceRef") == source and flow.get("targetRef") == target:
            return flow.get("id")
    return None


def expression_problems(processes, tree: etree._ElementTree | None, filename: str,
                        max_instances: int | None = None) -> list[dict]:
    """Everything the processes will evaluate (`engine.sandbox_checks.evaluated`: scripts, conditions, loop and
    multi-instance expressions, timer and message expressions, `camunda:in`/`camunda:out`) must compile in the
    sandbox, and a literal multi-instance cardinality must be within `max_instances`: the file is refused,
    naming the element. Gateway conditions are named by their sequence flow (the element that holds them).
    """
    found, seen = [], set()
    for process in processes:
        specs = [process.spec, *(s for s in process.subprocess_specs.values() if s is not None)]
        for item in sandbox_checks.evaluated(specs):
            problem, verdict = check_source(item.text, item.mode), ("无法编译", "does not compile")
            if problem is None and item.kind == "loop cardinality":
                problem, verdict = _cardinality_problem(item.text, max_instances), ("无效", "is refused")
            if problem is None:
                continue
            holder = _flow_between(tree, item.element, item.target) if item.target else None
            where = holder or item.element
            if (where, item.kind, item.text) in seen:
                continue
            seen.add((where, item.kind, item.text))
            what = sandbox_checks.KIND_NAMES.get(item.kind, item.kind)
            label = f"网关 {item.element} 到 {item.target} 的顺序流 {holder or '?'}" if item.kind == "condition" \
                else f"元素 {item.element}"
            found.append({"code": "invalid_expression", "file": filename, "line": _line_of(tree, where),
                          "element": where, "kind": item.kind, "expression": item.text[:500],
                          "message": f"{filename}: {label} 的{what}{verdict[0]}：{problem} ({item.kind} {verdict[1]})"})
    return found


def _cardinality_problem(text: str, max_instances: int | None) -> str | None:
    try:
        value = int(text.strip())
    except ValueError:
        return None  # an expression: bounded when it is evaluated (engine.budget)
    if value < 0:
        return f"多实例数量不能为负数：{value}"
    if max_instances is not None and value > max_instances:
        return f"多实例数量 {value} 超过上限 {max_instances} (TONGBAN_ENGINE_MAX_INSTANCES)"
    return None


def call_references(processes, tree: etree._ElementTree | None) -> list[dict]:
    """Every process a call activity names outside its own file: (key, element, line)."""
    from ..engine.specs import ResolvedCallActivity

    refs = []
    for process in processes:
        for spec in [process.spec, *(s for s in process.subprocess_specs.values() if s is not None)]:
            for task_spec in spec.task_specs.values():
                if isinstance(task_spec, ResolvedCallActivity) and task_spec.spec not in process.subprocess_specs:
                    key = task_spec.called_element
                    if key and "${" not in key and "#{" not in key:  # an expression is resolved per case
                        refs.append({"key": key, "element": task_spec.bpmn_id,
                                     "line": _line_of(tree, task_spec.bpmn_id)})
    return refs


def unresolved_calls(refs: list[dict], filename: str, also_known: set[str] = frozenset()) -> list[dict]:
    """A called process that is not deployed (nor in the same upload): a warning, never a refusal — the
    engine resolves a call activity when a case reaches it, so the called process may be deployed later."""
    if not refs:
        return []
    from .models import ProcessDefinition

    keys = {r["key"] for r in refs}
    known = set(db.session.scalars(db.select(ProcessDefinition.key).where(
        ProcessDefinition.key.in_(keys), ProcessDefinition.kind == "bpmn", ProcessDefinition.state != "withdrawn")))
    return [{"code": "resolved_at_call_time", "file": filename, "line": r["line"], "element": r["element"],
             "called_element": r["key"],
             "message": f"{filename}: 调用活动 {r['element']} 调用的流程 {r['key']} 尚未部署，"
                        f"将在办件到达该步骤时解析 (resolved at call time)"}
            for r in refs if r["key"] not in known and r["key"] not in also_known]


def unresolved_decisions(processes, tree: etree._ElementTree | None, filename: str) -> list[dict]:
    """A business-rule task whose decision is not deployed (nor in the same upload): a warning, like a called
    process — the task looks its decision up when a case reaches it, and refuses that step while it is missing."""
    from ..engine.specs import DecisionTask

    found, seen = [], set()
    for process in processes:
        for spec in [process.spec, *(s for s in process.subprocess_specs.values() if s is not None)]:
            for task_spec in spec.task_specs.values():
                if isinstance(task_spec, DecisionTask) and task_spec.dmnEngine is None \
                        and task_spec.bpmn_id not in seen:
                    seen.add(task_spec.bpmn_id)
                    found.append({"code": "resolved_at_call_time", "file": filename,
                                  "line": _line_of(tree, task_spec.bpmn_id), "element": task_spec.bpmn_id,
                                  "decision": task_spec.decision_ref,
                                  "message": f"{filename}: 业务规则任务 {task_spec.bpmn_id} 的决策 "
                                             f"{task_spec.decision_ref} 尚未部署，将在办件到达该步骤时解析 "
                                             f"(resolved at call time)"})
    return found


def line_of(tree: etree._ElementTree | None, element: str | None) -> int | None:
    """The source line of an element of the diagram, for a problem's report."""
    return _line_of(tree, element)


def calendar_problems(processes, tree: etree._ElementTree | None, filename: str) -> list[dict]:
    """A timer's `tongban.calendar` names the calendar its days count on: only `working_days` is known (a typo
    would silently put the timer back on calendar days)."""
    from ..engine.timers import WORKING_DAYS

    found = []
    for process in processes:
        for element, properties in process.properties.items():
            value = properties.get("tongban.calendar")
            if value is not None and value != WORKING_DAYS:
                found.append({"code": "invalid_calendar", "file": filename, "line": _line_of(tree, element),
                              "element": element, "property": "tongban.calendar", "value": value,
                              "message": f"{filename}: 元素 {element} 的 tongban.calendar={value!r} 无效，"
                                         f"应为 {WORKING_DAYS}（按工作日计） (unknown calendar)"})
    return found
