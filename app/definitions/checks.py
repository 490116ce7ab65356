"""Deploy-time checks on a diagram's XML that need the database: posts named by lanes and candidate groups,
forms named by formKey. They read the lxml tree the engine already parsed; the engine itself knows no posts."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from ..extensions import db
from ..forms.models import Form
from ..people.models import Post

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


def unknown_posts(tree: etree._ElementTree, filename: str) -> list[dict]:
    """One finding per reference to a post that does not exist (file, line, element, post)."""
    refs = post_references(tree)
    if not refs:
        return []
    names = {r.post for r in refs}
    known = set(db.session.scalars(db.select(Post.name).where(Post.name.in_(names))))
    where = {"lane": "泳道", "candidateGroups": "候选组 camunda:candidateGroups"}
    return [{"code": "unknown_post", "file": filename, "line": r.line, "element": r.element, "post": r.post,
             "message": f"{filename}: {where[r.via]} {r.element} 指向的岗位 {r.post} 不存在 (unknown post)"}
            for r in refs if r.post not in known]


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
    return [{"code": "invalid_definition", "file": filename, "element": task.element_id, "form_key": key,
             "message": f"用户任务 {task.name} 的表单 {key} 不存在 (formKey names no deployed form)"}
            for key, task in found if key not in known and key not in also_known]
