"""Generate the BPMN diagram of every matter in the catalog.

For each ``processes/<dept>/<code>.yaml`` this writes ``processes/<dept>/<code>.bpmn``: one executable
process inside a one-participant collaboration, lanes named after the hall's posts, a pattern chosen by
the matter's ``kind`` (immediate | promised | joint | reported), non-interrupting timer escalation to the
department's supervision post, and complete BPMN DI (swimlanes, shapes, orthogonal edges) laid out by a
longest-path layering of the flow graph.

Hand edits are never overwritten silently: ``processes/.generated.json`` maps every generated file
(path relative to ``processes/``) to the sha256 of the text the generator wrote. A file is regenerated
only when it is missing or still carries its recorded hash; otherwise it is skipped with a warning,
unless ``--force``.

Usage: ``python tools/generate_processes.py [--force] [--only CODE] [--processes DIR]``
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.hall.vocabulary import (  # noqa: E402  (the hall's vocabulary, shared with the service)
    CALENDAR,
    DEPARTMENT,
    FORWARD_CLOCK,
    MAX_DAYS,
    OUTCOME,
    PAUSE,
    SPECIAL,
    STEP,
    SUPPLEMENT_DAYS,
    WORKING_DAYS,
    ForwardClock,
    Outcome,
    Pause,
    Step,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROCESSES_DIR = REPO_ROOT / "processes"
SIDECAR_NAME = ".generated.json"

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS, "camunda": CAMUNDA_NS, "xsi": XSI_NS}

KINDS = ("immediate", "promised", "joint", "reported")
KIND_LABELS = {"immediate": "即办件", "promised": "承诺件", "joint": "联办件", "reported": "上报件"}
REPLY_MESSAGE = "higher_authority_reply"
# the comprehensive window (综合窗口) accepts for every department: its post is a candidate of every acceptance
COMPREHENSIVE_POST = "综合受理A岗"
COORDINATION_POST = "区政府协调岗"  # the district government decides a standing dissent of a 联办件

# special procedures (特别程序) -> form key, matched on a fragment of the procedure's name
SPECIAL_FORMS = (
    ("勘察", "site_survey"),
    ("踏勘", "site_survey"),
    ("勘验", "site_survey"),
    ("核查", "site_survey"),
    ("专家", "expert_review"),
    ("评审", "expert_review"),
    ("论证", "expert_review"),
    ("听证", "hearing"),
    ("检验", "inspection"),
    ("检测", "inspection"),
    ("检疫", "inspection"),
    ("鉴定", "inspection"),
    ("查验", "inspection"),
    ("评估", "expert_review"),
    ("实地", "site_survey"),
    ("现场", "site_survey"),
)
SPECIAL_FALLBACK_FORM = "special_procedure"

# ---------------------------------------------------------------- layout constants (pixels)
POOL_X, POOL_Y = 160, 80
POOL_LABEL = 30  # the participant's vertical label band
LANE_LABEL = 30  # each lane's vertical label band
LEFT_PAD = 30
COL_W = 150  # column pitch: a 100px slot plus a 50px routing gap
SLOT_W = 100
ROW_H = 150  # one row of a lane band
RIGHT_PAD = 50
TASK_W, TASK_H = 100, 80
EVENT_D = 36
GATEWAY_D = 50
X0 = POOL_X + POOL_LABEL + LANE_LABEL + LEFT_PAD


class GenerationError(Exception):
    """The catalog cannot be turned into a diagram (unknown kind, department or post)."""


# ---------------------------------------------------------------- the flow graph


@dataclass
class Node:
    """A flow node. type is the BPMN tag: startEvent, endEvent, userTask, exclusiveGateway,
    parallelGateway, intermediateCatchEvent or boundaryEvent; lane is a lane key; hint is the
    preferred row inside the lane's band; default is the id of a gateway's default flow."""

    id: str
    type: str
    name: str
    lane: str | None = None
    form: str | None = None
    hint: int = 0
    attached_to: str | None = None
    duration: str | None = None
    message: bool = False
    default: str | None = None
    properties: dict[str, str] = field(default_factory=dict)  # camunda:properties: the hall's meaning
    candidates: tuple[str, ...] = ()  # camunda:candidateGroups, the lane's post first
    interrupting: bool = False  # a boundary timer that ends its task (hall-rules: the supplement deadline)
    outputs: dict | None = None  # hall-rules: camunda:outputParameter name -> value (str | dict: camunda:map)


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str | None = None
    condition: str | None = None


@dataclass
class Lane:
    key: str
    id: str
    name: str  # the post's name


@dataclass
class Model:
    process_id: str
    name: str
    documentation: str
    lanes: list[Lane] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)
    flows: list[Flow] = field(default_factory=list)
    message: bool = False

    def add(self, node: Node) -> str:
        if node.id in self.nodes:
            raise GenerationError(f"duplicate element id {node.id}")
        self.nodes[node.id] = node
        return node.id

    def flow(
        self, source: str, target: str, name: str | None = None, condition: str | None = None, default: bool = False
    ) -> Flow:
        flow = Flow(f"Flow_{source}_to_{target}", source, target, name, condition)
        self.flows.append(flow)
        if default:
            self.nodes[source].default = flow.id
        return flow


def process_id_for(code: str) -> str:
    return "matter_" + code.replace("-", "_")


def duration_days(days: int) -> str:
    """A bare ISO 8601 duration as Camunda Modeler writes it, at least one day."""
    return f"P{max(1, int(days))}D"


def step_durations(matter: dict) -> dict[str, str]:
    """Escalation deadlines per step, derived from the promised limit (working days)."""
    promised = int(matter.get("promised_days") or 0)
    half = -(-promised // 2)  # ceil
    quarter = -(-promised // 4)
    return {
        "review": duration_days(half),
        "decide": duration_days(quarter),
        "first_review": duration_days(half),
        "immediate": duration_days(1),
    }


def special_form(name: str) -> str:
    for fragment, form in SPECIAL_FORMS:
        if fragment in name:
            return form
    return SPECIAL_FALLBACK_FORM


def post_names(hall: dict) -> set[str]:
    return {post["name"] for post in hall.get("posts") or []}


def department_index(hall: dict) -> dict[str, dict]:
    return {dept["code"]: dept for dept in hall.get("departments") or []}


class _Builder:
    """Builds the flow graph of one matter."""

    def __init__(self, matter: dict, hall: dict):
        self.matter = matter
        self.hall = hall
        code = matter["code"]
        kind = matter.get("kind")
        if kind not in KINDS:
            raise GenerationError(f"{code}: unknown kind {kind!r}")
        self.kind = kind
        depts = department_index(hall)
        dept = depts.get(matter.get("department"))
        if dept is None:
            raise GenerationError(f"{code}: unknown department {matter.get('department')!r}")
        self.dept = dept
        self.depts = depts
        self.posts = post_names(hall)
        self.durations = step_durations(matter)
        self.model = Model(process_id_for(code), matter.get("name") or code, self._documentation())
        self._lane_posts: dict[str, str] = {}

    # -- helpers
    def _documentation(self) -> str:
        m = self.matter
        parts = [f"事项编码 {m['code']}", f"办件类型 {KIND_LABELS.get(m.get('kind'), m.get('kind'))}"]
        if m.get("type"):
            parts.append(f"事项类型 {m['type']}")
        parts.append(f"法定办结时限 {m.get('statutory_days', 0)} 个工作日")
        parts.append(f"承诺办结时限 {m.get('promised_days', 0)} 个工作日")
        if m.get("higher_authority"):
            parts.append(f"上级机关 {m['higher_authority']}")
        parts.append("由 tools/generate_processes.py 生成")
        return "；".join(parts)

    def lane(self, key: str, post: str) -> str:
        if post not in self.posts:
            raise GenerationError(f"{self.matter['code']}: post {post} is not in hall.yaml")
        self._lane_posts[key] = post
        return key

    def window(self) -> str:
        return self.lane("window", f"{self.dept['short']}受理A岗")

    def review_lane(self) -> str:
        return self.lane("review", f"{self.dept['short']}审核岗")

    def approve(self) -> str:
        return self.lane("approve", f"{self.dept['short']}审批岗")

    def supervise(self) -> str:
        return self.lane("supervise", f"{self.dept['short']}督查岗")

    def task(self, id_: str, name: str, lane: str, form: str, hint: int = 0, step: Step | None = None,
             **properties: str) -> str:
        declared = {STEP: str(step)} if step else {}
        declared.update(properties)
        return self.model.add(Node(id_, "userTask", name, lane, form, hint, properties=declared))

    def event(self, type_: str, id_: str, name: str, lane: str, hint: int = 0, outcome: Outcome | None = None) -> str:
        return self.model.add(Node(id_, type_, name, lane, hint=hint,
                                   properties={OUTCOME: str(outcome)} if outcome else {}))

    def gateway(self, id_: str, name: str, lane: str, hint: int = 0, parallel: bool = False) -> str:
        type_ = "parallelGateway" if parallel else "exclusiveGateway"
        return self.model.add(Node(id_, type_, name, lane, hint=hint))

    def timer(self, host: str, duration: str, label: str) -> None:
        """Non-interrupting escalation: host overdue -> 超期督办 in the lead's supervision post."""
        host_node = self.model.nodes[host]
        timer_id = f"timer_{host}"
        self.model.add(
            Node(
                timer_id,
                "boundaryEvent",
                f"{label}超期 {duration}",
                host_node.lane,
                attached_to=host,
                duration=duration,
                properties={CALENDAR: WORKING_DAYS},  # step limits count working days, in office time
            )
        )
        lane = self.supervise()
        sup = self.task(f"supervise_{host}", f"超期督办（{label}）", lane, "supervise", step=Step.SUPERVISE)
        end = self.event("endEvent", f"end_supervise_{host}", "督办完成", lane)
        self.model.flow(timer_id, sup)
        self.model.flow(sup, end)

    # -- pattern pieces
    def acceptance(self, next_id: str) -> None:
        """start -> 受理 -> accept / supplement (one notice) / not accepted."""
        m = self.model
        w = self.window()
        start = self.event("startEvent", "start", "收到申请", w)
        accept = self.task("accept", "受理", w, "accept", step=Step.ACCEPT)
        if COMPREHENSIVE_POST in self.posts:  # the department's A post first: the task waits there
            self.model.nodes[accept].candidates = (self._lane_posts[w], COMPREHENSIVE_POST)
        gw = self.gateway("gw_accept", "受理结果", w)
        notice = self.task("supplement_notice", "补正告知", w, "supplement_notice", hint=1,
                           step=Step.SUPPLEMENT_NOTICE)
        check = self.task("supplement_check", "补正材料核验", w, "supplement_check", hint=1,
                          step=Step.SUPPLEMENT_CHECK, **{PAUSE: str(Pause.SUPPLEMENT)})
        gw_sup = self.gateway("gw_supplement", "补正结果", w, hint=1)
        refuse = self.task("not_accepted", "不予受理告知", w, "not_accepted", hint=2, step=Step.NOT_ACCEPTED)
        end = self.event("endEvent", "end_not_accepted", "不予受理", w, hint=2, outcome=Outcome.NOT_ACCEPTED)
        m.flow(start, accept)
        m.flow(accept, gw)
        m.flow(gw, next_id, "受理", 'outcome == "accept"')
        m.flow(gw, notice, "补正", 'outcome == "supplement"')
        m.flow(gw, refuse, "不予受理", 'outcome not in ("accept", "supplement")', default=True)
        m.flow(notice, check)
        m.flow(check, gw_sup)
        m.flow(gw_sup, next_id, "材料齐全", 'outcome == "complete"')
        m.flow(gw_sup, refuse, "不予受理", 'outcome != "complete"', default=True)
        m.flow(refuse, end)
        # -- hall-rules: the applicant's supplement deadline (Art. 32): past it the case closes as 补正超时
        days = int(self.matter.get("supplement_days") or SUPPLEMENT_DAYS)
        self.model.add(Node("timer_supplement_check", "boundaryEvent", f"补正期限 {duration_days(days)}", w,
                            hint=1, attached_to=check, duration=duration_days(days), interrupting=True,
                            properties={CALENDAR: WORKING_DAYS}))
        timeout = self.event("endEvent", "end_supplement_timeout", "补正超时", w, hint=2,
                             outcome=Outcome.SUPPLEMENT_TIMEOUT)
        m.flow("timer_supplement_check", timeout)
        # -- end hall-rules

    def specials(self, next_id: str) -> str:
        """Chain the matter's special procedures (not counted in the time limit) before next_id.

        Returns the id of the first step (next_id when there is none)."""
        procedures = [p for p in self.matter.get("special_procedures") or [] if p]
        if not procedures:
            return next_id
        lane = self.review_lane()
        ids = []
        used: set[str] = set()
        for n, proc in enumerate(procedures, start=1):
            name = proc.get("name") if isinstance(proc, dict) else str(proc)
            form = special_form(name)
            id_ = form if form not in used and form != SPECIAL_FALLBACK_FORM else f"special_{n}"
            used.add(form)
            declared = {PAUSE: str(Pause.SPECIAL), SPECIAL: name}
            if isinstance(proc, dict) and proc.get("max_days"):
                declared[MAX_DAYS] = str(proc["max_days"])
            ids.append(self.task(id_, name, lane, form, step=Step.SPECIAL_PROCEDURE, **declared))
            self.model.nodes[id_].properties["hall.notice.enter"] = "special_procedure"  # Art. 45: told in writing
        for a, b in itertools.pairwise(ids):
            self.model.flow(a, b)
        self.model.flow(ids[-1], next_id)
        return ids[0]

    def decision_and_delivery(self, decide_id: str) -> None:
        m = self.model
        w = self.window()
        gw = self.gateway("gw_decide", "审批结果", self.approve())
        deliver = self.task("deliver", "送达", w, "deliver", step=Step.DELIVER)
        granted = self.event("endEvent", "end_granted", "准予", w, outcome=Outcome.GRANTED)
        deliver_refusal = self.task("deliver_refusal", "送达不予许可决定", w, "deliver", hint=1, step=Step.DELIVER)
        refused = self.event("endEvent", "end_refused", "不予许可", w, hint=1, outcome=Outcome.REFUSED)
        m.flow(decide_id, gw)
        m.flow(gw, deliver, "准予", 'decision == "grant"')
        m.flow(gw, deliver_refusal, "不予许可", 'decision != "grant"', default=True)
        m.flow(deliver, granted)
        m.flow(deliver_refusal, refused)

    # -- the four kinds
    def build(self) -> Model:
        getattr(self, f"_build_{self.kind}")()
        order = ["window", "review"]
        order += sorted(k for k in self._lane_posts if k.startswith("co_"))
        order += ["approve", "supervise"]
        for key in order:
            if key in self._lane_posts:
                self.model.lanes.append(Lane(key, f"Lane_{key}", self._lane_posts[key]))
        return self.model

    def _build_immediate(self) -> None:
        m = self.model
        w = self.window()
        self.acceptance("decide")
        decide = self.task("decide", "当场决定", w, "decide", step=Step.DECIDE)
        gw = self.gateway("gw_decide", "决定结果", w)
        granted = self.event("endEvent", "end_granted", "准予", w, outcome=Outcome.GRANTED)
        refused = self.event("endEvent", "end_refused", "不予许可", w, hint=1, outcome=Outcome.REFUSED)
        m.flow(decide, gw)
        m.flow(gw, granted, "准予", 'decision == "grant"')
        m.flow(gw, refused, "不予许可", 'decision != "grant"', default=True)
        self.timer(decide, self.durations["immediate"], "当场决定")

    def _build_promised(self) -> None:
        self.acceptance("review")
        review = self.task("review", "审核", self.review_lane(), "review", step=Step.REVIEW)
        decide = self.task("decide", "审批决定", self.approve(), "decide", step=Step.DECIDE)
        first = self.specials(decide)
        self.model.flow(review, first)
        self.decision_and_delivery(decide)
        self.timer(review, self.durations["review"], "审核")
        self.timer(decide, self.durations["decide"], "审批")

    def _build_joint(self) -> None:
        m = self.model
        co_codes = [c for c in self.matter.get("co_departments") or [] if c != self.dept["code"]]
        if not co_codes:
            raise GenerationError(f"{self.matter['code']}: a joint matter needs co_departments")
        self.acceptance("fork_joint")
        fork = self.gateway("fork_joint", "会办分发", self.window(), parallel=True)
        review = self.task("review", "牵头审核", self.review_lane(), "review", step=Step.REVIEW)
        join = self.gateway("join_joint", "会办汇总", self.approve(), parallel=True)
        m.flow(fork, review)
        m.flow(review, join)
        for code in co_codes:
            co = self.depts.get(code)
            if co is None:
                raise GenerationError(f"{self.matter['code']}: unknown co-department {code!r}")
            lane = self.lane(f"co_{code}", f"{co['short']}审核岗")
            task = self.task(f"co_opinion_{code}", f"{co['short']}会办意见", lane, "co_opinion",
                             step=Step.CO_OPINION, **{DEPARTMENT: code})
            # hall-rules: the opinion stays the department's own (opinions.{code}); the rest stays local
            m.nodes[task].outputs = {"opinions": {code: {
                "department": code, "opinion": "${opinion}", "agree": "${agree}", "conditions": "${conditions}",
                "by": "${task.completed_by}", "at": "${task.completed_at}"}}}
            m.flow(fork, task)
            m.flow(task, join)
        decide = self.task("decide", "审批决定", self.approve(), "decide", step=Step.DECIDE)
        first = self.specials(decide)
        # -- hall-rules: a dissent goes to the lead department's coordination, never on to a grant by default
        opinions = self.gateway("gw_opinions", "会办意见是否一致", self.approve())
        coordinate = self.task("coordinate", "牵头协调", self.review_lane(), "coordinate", hint=1,
                               step=Step.COORDINATE)
        # a dissent stands until its department withdraws it (the co-department's post) or the district government's
        # coordinating post decides it (Art. 26): the lead alone cannot resolve it (app/hall/joint.py)
        m.nodes[coordinate].candidates = (f"{self.dept['short']}审核岗",
                                          *(f"{self.depts[c]['short']}审核岗" for c in co_codes), COORDINATION_POST)
        coordinated = self.gateway("gw_coordinate", "协调结果", self.review_lane(), hint=1)
        m.flow(join, opinions)
        m.flow(opinions, coordinate, "有不同意见", 'False in [o.get("agree") for o in opinions.values()]')
        m.flow(opinions, first, "意见一致", 'False not in [o.get("agree") for o in opinions.values()]', default=True)
        m.flow(coordinate, coordinated)
        m.flow(coordinated, first, "协调一致", 'coordination == "resolved"')
        self.decision_and_delivery(decide)
        m.flow(coordinated, "deliver_refusal", "协调不成，不予许可", 'coordination != "resolved"', default=True)
        self.timer(coordinate, self.durations["review"], "牵头协调")
        # -- end hall-rules
        self.timer(review, self.durations["review"], "牵头审核")
        for code in co_codes:
            self.timer(f"co_opinion_{code}", self.durations["review"], f"{self.depts[code]['short']}会办")
        self.timer(decide, self.durations["decide"], "审批")

    def _build_reported(self) -> None:
        m = self.model
        m.message = True
        w = self.window()
        self.acceptance("first_review")
        first_review = self.task("first_review", "初审", self.review_lane(), "review", step=Step.FIRST_REVIEW)
        forward = self.task("forward", "上报", self.review_lane(), "forward", step=Step.FORWARD,
                            **{FORWARD_CLOCK: str(self.matter.get("forward_clock") or ForwardClock.END)})
        first = self.specials(forward)
        m.flow(first_review, first)
        wait = self.model.add(Node("wait_reply", "intermediateCatchEvent", "等待上级答复", w, message=True))
        inform = self.task("inform", "告知申请人", w, "inform", step=Step.INFORM)
        gw = self.gateway("gw_higher", "上级决定", w)
        approved = self.event("endEvent", "end_higher_approved", "上级准予", w, outcome=Outcome.HIGHER_APPROVED)
        rejected = self.event("endEvent", "end_higher_rejected", "上级不予", w, hint=1,
                              outcome=Outcome.HIGHER_REJECTED)
        m.flow(forward, wait)
        m.flow(wait, inform)
        m.flow(inform, gw)
        m.flow(gw, approved, "上级准予", 'higher_decision == "approved"')
        m.flow(gw, rejected, "上级不予", 'higher_decision != "approved"', default=True)
        self.timer(first_review, self.durations["first_review"], "初审")


def _explicit_merges(model: Model) -> None:
    """Put an exclusive merge gateway before every task or event with several incoming flows, and
    before a parallel split with several: a parallel gateway with two incoming flows would wait for
    both, and modelers' linters flag implicit joins (bpmnlint fake-join)."""
    for node in list(model.nodes.values()):
        incoming = [f for f in model.flows if f.target == node.id]
        if len(incoming) < 2 or node.type == "exclusiveGateway":
            continue
        if node.type == "parallelGateway" and len([f for f in model.flows if f.source == node.id]) < 2:
            continue  # a parallel join: waiting for every branch is what it is for
        merge = model.add(Node(f"merge_{node.id}", "exclusiveGateway", "", node.lane, hint=node.hint))
        for flow in incoming:
            flow.target = merge
            flow.id = f"Flow_{flow.source}_to_{merge}"
            source = model.nodes[flow.source]
            if source.default == f"Flow_{flow.source}_to_{node.id}":
                source.default = flow.id
        model.flow(merge, node.id, default=True)


# -- intake and notices (文书): which step checks the materials and which issues which notice ------------------
# Names: app/hall/notices.py (hall.notice, hall.notice.enter) and app/hall/intake.py (hall.checklist).
def _intake_and_notices(model: Model, kind: str) -> None:
    def put(node_id: str, name: str, value: str) -> None:
        if node_id in model.nodes:
            model.nodes[node_id].properties[name] = value

    put("start", "hall.notice", "receipt")
    put("accept", "hall.checklist", "acceptance")
    put("supplement_notice", "hall.notice", "supplement")
    put("supplement_check", "hall.checklist", "supplement")
    put("not_accepted", "hall.notice", "not_accepted")
    put("end_supplement_timeout", "hall.notice", "termination")  # 补正超时: the case ends with a notice
    # accepted: the merge where 受理 and a complete supplement meet, before the first step after acceptance
    accepted = next(f.target for f in model.flows if f.source == "gw_accept" and f.name == "受理")
    put(accepted, "hall.notice", "acceptance")
    if kind == "immediate":
        put("end_granted", "hall.notice", "completion,delivery")
        put("end_refused", "hall.notice", "refusal,delivery")
    elif kind == "reported":  # the higher authority's decision, told with its remedy, and its 送达回证
        put("inform", "hall.notice", "higher_decision,delivery")
    else:
        put("deliver", "hall.notice", "delivery")
        put("end_granted", "hall.notice", "completion")
        put("deliver_refusal", "hall.notice.enter", "refusal")
        put("deliver_refusal", "hall.notice", "delivery")


def build_model(matter: dict, hall: dict) -> Model:
    """The flow graph (nodes, flows, lanes) of one matter."""
    model = _Builder(matter, hall).build()
    _explicit_merges(model)
    _intake_and_notices(model, matter.get("kind"))
    ids = set(model.nodes)
    for flow in model.flows:
        if flow.source not in ids or flow.target not in ids:
            raise GenerationError(f"{matter['code']}: dangling flow {flow.id}")
    return model


# ---------------------------------------------------------------- layout


@dataclass
class Layout:
    """Element id -> (x, y, width, height) for nodes, lanes and the pool; flow id -> waypoints."""

    bounds: dict[str, tuple[int, int, int, int]]
    waypoints: dict[str, list[tuple[int, int]]]
    columns: dict[str, int]


def _back_edges(model: Model) -> set[str]:
    """Flows closing a cycle, found by depth-first search from the start events."""
    out: dict[str, list[Flow]] = {n: [] for n in model.nodes}
    for f in model.flows:
        out[f.source].append(f)
    state: dict[str, int] = {}
    back: set[str] = set()
    roots = [n.id for n in model.nodes.values() if n.type == "startEvent"]
    roots += [n.id for n in model.nodes.values() if n.type == "boundaryEvent"]
    roots += list(model.nodes)
    for root in roots:
        if root in state:
            continue
        stack = [(root, iter(out[root]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                continue
            t = nxt.target
            if state.get(t) == 1:
                back.add(nxt.id)
            elif t not in state:
                state[t] = 1
                stack.append((t, iter(out[t])))
    return back


def _columns(model: Model, back: set[str]) -> dict[str, int]:
    """Longest-path layering; a boundary event shares its host's column."""
    edges: list[tuple[str, str, int]] = [(f.source, f.target, 1) for f in model.flows if f.id not in back]
    edges += [(n.attached_to, n.id, 0) for n in model.nodes.values() if n.attached_to]
    indeg = {n: 0 for n in model.nodes}
    succ: dict[str, list[tuple[str, int]]] = {n: [] for n in model.nodes}
    for s, t, w in edges:
        indeg[t] += 1
        succ[s].append((t, w))
    col = {n: 0 for n in model.nodes}
    queue = [n for n in model.nodes if indeg[n] == 0]
    seen = 0
    while queue:
        n = queue.pop(0)
        seen += 1
        for t, w in succ[n]:
            col[t] = max(col[t], col[n] + w)
            indeg[t] -= 1
            if indeg[t] == 0:
                queue.append(t)
    if seen != len(model.nodes):
        raise GenerationError(f"{model.process_id}: flow graph still cyclic after removing back edges")
    return col


def _node_size(node: Node) -> tuple[int, int]:
    if node.type == "userTask":
        return TASK_W, TASK_H
    if node.type.endswith("Gateway"):
        return GATEWAY_D, GATEWAY_D
    return EVENT_D, EVENT_D


def _seg_hits(p: tuple[int, int], q: tuple[int, int], rect: tuple[int, int, int, int], margin: int = 4) -> bool:
    x, y, w, h = rect
    x1, y1, x2, y2 = x - margin, y - margin, x + w + margin, y + h + margin
    if p[0] == q[0]:  # vertical
        lo, hi = sorted((p[1], q[1]))
        return x1 < p[0] < x2 and lo < y2 and hi > y1
    lo, hi = sorted((p[0], q[0]))  # horizontal
    return y1 < p[1] < y2 and lo < x2 and hi > x1


def _clean(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for p in points:
        if out and out[-1] == p:
            continue
        if len(out) >= 2 and (out[-2][0] == out[-1][0] == p[0] or out[-2][1] == out[-1][1] == p[1]):
            out[-1] = p
            continue
        out.append(p)
    return out


def _collinear_overlap(p, q, r, t) -> bool:
    """Do two axis-parallel segments run along each other for some length?"""
    if p[0] == q[0] == r[0] == t[0]:
        lo1, hi1 = sorted((p[1], q[1]))
        lo2, hi2 = sorted((r[1], t[1]))
        return min(hi1, hi2) - max(lo1, lo2) > 0
    if p[1] == q[1] == r[1] == t[1]:
        lo1, hi1 = sorted((p[0], q[0]))
        lo2, hi2 = sorted((r[0], t[0]))
        return min(hi1, hi2) - max(lo1, lo2) > 0
    return False


def _length(points: list[tuple[int, int]]) -> int:
    return sum(abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in itertools.pairwise(points))


def layout(model: Model) -> Layout:
    """Place lanes, nodes and edges: columns by longest path, rows inside each lane band."""
    back = _back_edges(model)
    col = _columns(model, back)

    # rows inside lanes: each (lane, row, column) cell holds one node; a node keeps its hinted track
    taken: set[tuple[str, int, int]] = set()
    row: dict[str, int] = {}
    for node in model.nodes.values():
        if node.attached_to:
            continue
        # follow the first placed predecessor in the same lane, so a branch stays on its track
        r = node.hint
        for f in model.flows:
            if f.target == node.id and f.source in row and model.nodes[f.source].lane == node.lane:
                r = max(r, row[f.source])
                break
        while (node.lane, r, col[node.id]) in taken:
            r += 1
        taken.add((node.lane, r, col[node.id]))
        row[node.id] = r
    lane_rows = {lane.key: 1 for lane in model.lanes}
    for node_id, r in row.items():
        key = model.nodes[node_id].lane
        lane_rows[key] = max(lane_rows[key], r + 1)
    ncols = max(col.values()) + 1

    bounds: dict[str, tuple[int, int, int, int]] = {}
    pool_w = (X0 + (ncols - 1) * COL_W + SLOT_W + RIGHT_PAD) - POOL_X
    lane_top: dict[str, int] = {}
    y = POOL_Y
    for lane in model.lanes:
        h = lane_rows[lane.key] * ROW_H
        lane_top[lane.key] = y
        bounds[lane.id] = (POOL_X + POOL_LABEL, y, pool_w - POOL_LABEL, h)
        y += h
    bounds["Participant_" + model.process_id] = (POOL_X, POOL_Y, pool_w, y - POOL_Y)

    def col_x(c: int) -> int:
        return X0 + c * COL_W

    def row_top(node_id: str) -> int:
        return lane_top[model.nodes[node_id].lane] + row[node_id] * ROW_H

    for node in model.nodes.values():
        if node.attached_to:
            continue
        w, h = _node_size(node)
        cx = col_x(col[node.id]) + SLOT_W // 2
        cy = row_top(node.id) + 65
        bounds[node.id] = (cx - w // 2, cy - h // 2, w, h)
    for node in model.nodes.values():
        if node.attached_to:
            hx, hy, _hw, hh = bounds[node.attached_to]
            bounds[node.id] = (hx + 70 - EVENT_D // 2, hy + hh - EVENT_D // 2, EVENT_D, EVENT_D)

    # horizontal routing channels: just inside the top and bottom of every row, never crossed by a node
    channels = sorted(
        lane_top[lane.key] + r * ROW_H + off
        for lane in model.lanes
        for r in range(lane_rows[lane.key])
        for off in (10, ROW_H - 13)
    )
    node_ids = list(model.nodes)

    def gap_x(c: int) -> int:
        return col_x(c) + SLOT_W + (COL_W - SLOT_W) // 2

    def collides(points: list[tuple[int, int]], skip: set[str]) -> bool:
        for a, b in itertools.pairwise(points):
            for nid in node_ids:
                if nid in skip:
                    continue
                if _seg_hits(a, b, bounds[nid]):
                    return True
        return False

    waypoints: dict[str, list[tuple[int, int]]] = {}
    routed: list[tuple[Flow, tuple[int, int], tuple[int, int]]] = []

    def overlaps(flow: Flow, points: list[tuple[int, int]]) -> bool:
        """True when a segment runs along an already routed edge of another source and target."""
        for p, q in itertools.pairwise(points):
            for other, r, t in routed:
                if other.source == flow.source or other.target == flow.target:
                    continue
                if _collinear_overlap(p, q, r, t):
                    return True
        return False

    def candidates(flow: Flow, offsets: tuple[int, ...]) -> list[list[tuple[int, int]]]:
        s, t = model.nodes[flow.source], model.nodes[flow.target]
        sx, sy, sw, sh = bounds[s.id]
        tx, ty, tw, th = bounds[t.id]
        scx, scy, tcx, tcy = sx + sw // 2, sy + sh // 2, tx + tw // 2, ty + th // 2
        a, b = col[s.id], col[t.id]
        right, left = (sx + sw, scy), (tx, tcy)
        cands: list[list[tuple[int, int]]] = []
        if s.type == "boundaryEvent":
            down = (scx, sy + sh)
            cands.append([down, (scx, tcy), left])
            for ch in channels:
                if ch > sy + sh:
                    for off in offsets:
                        gx = gap_x(b - 1) + off
                        cands.append([down, (scx, ch), (gx, ch), (gx, tcy), left])
            return cands
        if a < b and flow.id not in back:
            if scy == tcy:
                cands.append([right, left])
            if s.type.endswith("Gateway") and scy != tcy:
                exit_y = sy + sh if tcy > scy else sy
                cands.append([(scx, exit_y), (scx, tcy), left])
            if t.type.endswith("Gateway") and scy != tcy:
                entry_y = ty if scy < tcy else ty + th
                cands.append([right, (tcx, scy), (tcx, entry_y)])
            for c in range(a, b):
                for off in offsets:
                    cands.append([right, (gap_x(c) + off, scy), (gap_x(c) + off, tcy), left])
        for ch in channels:
            for off in offsets:
                g1, g2 = gap_x(a) + off, gap_x(b - 1) + off
                cands.append([right, (g1, scy), (g1, ch), (g2, ch), (g2, tcy), left])
        return cands

    for flow in model.flows:
        skip = {flow.source, flow.target}
        best = None
        # tiers: centred gap lines without shared runs; shifted gap lines; finally shared runs allowed
        for offsets, allow_overlap in (((0,), False), ((0, -8, 8, -16, 16), False), ((0,), True)):
            for cand in candidates(flow, offsets):
                pts = _clean(cand)
                if collides(pts, skip) or (not allow_overlap and overlaps(flow, pts)):
                    continue
                key = (len(pts), _length(pts))
                if best is None or key < best[0]:
                    best = (key, pts)
            if best is not None:
                break
        if best is None:
            # cannot happen while channels stay free; keep a valid (if crossing) route
            best = (None, _clean(candidates(flow, (0,))[-1]))
        waypoints[flow.id] = best[1]
        routed.extend((flow, p, q) for p, q in itertools.pairwise(best[1]))
    return Layout(bounds, waypoints, col)


# ---------------------------------------------------------------- XML


def _q(prefix: str, tag: str) -> str:
    return f"{{{NSMAP[prefix]}}}{tag}"


def _parameter(el, value) -> None:
    """hall-rules: a camunda:outputParameter's (or map entry's) value: a text, or a nested camunda:map."""
    if isinstance(value, dict):
        holder = etree.SubElement(el, _q("camunda", "map"))
        for key, item in value.items():
            _parameter(etree.SubElement(holder, _q("camunda", "entry"), key=key), item)
    else:
        el.text = value


def render_bpmn(matter: dict, hall: dict) -> str:
    """The complete BPMN 2.0 XML (semantic model and DI) of one matter, deterministic."""
    model = build_model(matter, hall)
    lay = layout(model)
    pid = model.process_id
    defs = etree.Element(_q("bpmn", "definitions"), nsmap=NSMAP)
    defs.set("id", f"Definitions_{pid}")
    defs.set("targetNamespace", "http://bpmn.io/schema/bpmn")
    defs.set("exporter", "tongban generate_processes")
    defs.set("exporterVersion", "1.0")
    if model.message:
        msg = etree.SubElement(defs, _q("bpmn", "message"))
        msg.set("id", f"Message_{REPLY_MESSAGE}")
        msg.set("name", REPLY_MESSAGE)
    collab = etree.SubElement(defs, _q("bpmn", "collaboration"), id=f"Collaboration_{pid}")
    part = etree.SubElement(collab, _q("bpmn", "participant"), id=f"Participant_{pid}")
    part.set("name", model.name)
    part.set("processRef", pid)

    proc = etree.SubElement(defs, _q("bpmn", "process"), id=pid)
    proc.set("name", model.name)
    proc.set("isExecutable", "true")
    etree.SubElement(proc, _q("bpmn", "documentation")).text = model.documentation
    lane_set = etree.SubElement(proc, _q("bpmn", "laneSet"), id=f"LaneSet_{pid}")
    for lane in model.lanes:
        el = etree.SubElement(lane_set, _q("bpmn", "lane"), id=lane.id)
        el.set("name", lane.name)
        for node in model.nodes.values():
            if node.lane == lane.key:
                etree.SubElement(el, _q("bpmn", "flowNodeRef")).text = node.id

    incoming: dict[str, list[str]] = {n: [] for n in model.nodes}
    outgoing: dict[str, list[str]] = {n: [] for n in model.nodes}
    for f in model.flows:
        outgoing[f.source].append(f.id)
        incoming[f.target].append(f.id)
    for node in model.nodes.values():
        el = etree.SubElement(proc, _q("bpmn", node.type), id=node.id)
        if node.name:
            el.set("name", node.name)
        if node.form:
            el.set(_q("camunda", "formKey"), node.form)
        if node.candidates:
            el.set(_q("camunda", "candidateGroups"), ",".join(node.candidates))
        if node.default:
            el.set("default", node.default)
        if node.attached_to:
            if not node.interrupting:
                el.set("cancelActivity", "false")
            el.set("attachedToRef", node.attached_to)
        if node.properties or node.outputs:
            extensions = etree.SubElement(el, _q("bpmn", "extensionElements"))
        if node.properties:
            holder = etree.SubElement(extensions, _q("camunda", "properties"))
            for name, value in node.properties.items():
                etree.SubElement(holder, _q("camunda", "property"), name=name, value=value)
        if node.outputs:  # hall-rules: only the declared outputs reach the case's shared data
            holder = etree.SubElement(extensions, _q("camunda", "inputOutput"))
            for name, value in node.outputs.items():
                _parameter(etree.SubElement(holder, _q("camunda", "outputParameter"), name=name), value)
        for fid in incoming[node.id]:
            etree.SubElement(el, _q("bpmn", "incoming")).text = fid
        for fid in outgoing[node.id]:
            etree.SubElement(el, _q("bpmn", "outgoing")).text = fid
        if node.duration:
            timer = etree.SubElement(el, _q("bpmn", "timerEventDefinition"), id=f"TimerEventDefinition_{node.id}")
            dur = etree.SubElement(timer, _q("bpmn", "timeDuration"), id=f"Duration_{node.id}")
            dur.set(_q("xsi", "type"), "bpmn:tFormalExpression")
            dur.text = node.duration
        if node.message:
            med = etree.SubElement(el, _q("bpmn", "messageEventDefinition"), id=f"MessageEventDefinition_{node.id}")
            med.set("messageRef", f"Message_{REPLY_MESSAGE}")
    for f in model.flows:
        el = etree.SubElement(proc, _q("bpmn", "sequenceFlow"), id=f.id)
        if f.name:
            el.set("name", f.name)
        el.set("sourceRef", f.source)
        el.set("targetRef", f.target)
        if f.condition:
            cond = etree.SubElement(el, _q("bpmn", "conditionExpression"))
            cond.set(_q("xsi", "type"), "bpmn:tFormalExpression")
            cond.text = f.condition

    diagram = etree.SubElement(defs, _q("bpmndi", "BPMNDiagram"), id=f"BPMNDiagram_{pid}")
    plane = etree.SubElement(diagram, _q("bpmndi", "BPMNPlane"), id=f"BPMNPlane_{pid}")
    plane.set("bpmnElement", f"Collaboration_{pid}")

    def shape(element_id: str, horizontal: bool = False) -> None:
        el = etree.SubElement(plane, _q("bpmndi", "BPMNShape"), id=f"{element_id}_di")
        el.set("bpmnElement", element_id)
        if horizontal:
            el.set("isHorizontal", "true")
        x, y, w, h = lay.bounds[element_id]
        etree.SubElement(el, _q("dc", "Bounds"), x=str(x), y=str(y), width=str(w), height=str(h))

    shape(f"Participant_{pid}", horizontal=True)
    for lane in model.lanes:
        shape(lane.id, horizontal=True)
    for node in model.nodes.values():
        shape(node.id)
    for f in model.flows:
        el = etree.SubElement(plane, _q("bpmndi", "BPMNEdge"), id=f"{f.id}_di")
        el.set("bpmnElement", f.id)
        for x, y in lay.waypoints[f.id]:
            etree.SubElement(el, _q("di", "waypoint"), x=str(x), y=str(y))

    text = etree.tostring(defs, pretty_print=True, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text


# ---------------------------------------------------------------- files and the no-silent-overwrite rule


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_yaml(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def load_hall(processes_dir: Path) -> dict:
    return load_yaml(processes_dir / "hall.yaml")


def matter_files(processes_dir: Path) -> list[Path]:
    """Every processes/<dept>/<code>.yaml (not hall.yaml), sorted."""
    return sorted(p for p in processes_dir.glob("*/*.yaml") if p.is_file())


def load_sidecar(processes_dir: Path) -> dict[str, str]:
    path = processes_dir / SIDECAR_NAME
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def save_sidecar(processes_dir: Path, records: dict[str, str]) -> None:
    path = processes_dir / SIDECAR_NAME
    text = json.dumps(dict(sorted(records.items())), ensure_ascii=False, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")


@dataclass
class Summary:
    """What one run did, by path relative to processes/.

    written: new files; regenerated: untouched files rewritten with new content; unchanged: same content;
    forced: hand-edited files overwritten by --force; skipped: hand-edited files left alone.
    """

    written: list[str] = field(default_factory=list)
    regenerated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    forced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            (
                f"generated {len(self.written)} new, {len(self.regenerated)} regenerated, "
                f"{len(self.unchanged)} unchanged, {len(self.forced)} overwritten (--force), "
                f"{len(self.skipped)} skipped (edited by hand), {len(self.errors)} errors"
            )
        ]


def generate(
    processes_dir: Path = DEFAULT_PROCESSES_DIR, force: bool = False, only: str | None = None, log=print
) -> Summary:
    """Write the .bpmn of every matter (or only of matter code ``only``), honouring hand edits."""
    processes_dir = Path(processes_dir)
    hall = load_hall(processes_dir)
    records = load_sidecar(processes_dir)
    summary = Summary()
    found = False
    for yaml_path in matter_files(processes_dir):
        matter = load_yaml(yaml_path)
        code = matter.get("code") or yaml_path.stem
        if only and only not in (code, yaml_path.stem):
            continue
        found = True
        bpmn_path = yaml_path.with_suffix(".bpmn")
        rel = bpmn_path.relative_to(processes_dir).as_posix()
        try:
            if code != yaml_path.stem:
                raise GenerationError(f"{yaml_path}: code {code} does not match the file name")
            text = render_bpmn(matter, hall)
        except (GenerationError, KeyError, TypeError, ValueError) as exc:
            summary.errors.append(rel)
            log(f"error: {rel}: {exc}")
            continue
        new_hash = sha256_text(text)
        if not bpmn_path.exists():
            bucket = summary.written
        else:
            current = sha256_text(bpmn_path.read_text(encoding="utf-8"))
            if current == new_hash:
                records[rel] = new_hash
                summary.unchanged.append(rel)
                continue
            if records.get(rel) == current:
                bucket = summary.regenerated
            elif force:
                bucket = summary.forced
            else:
                summary.skipped.append(rel)
                log(f"warning: {rel} was edited by hand since it was generated; skipped (use --force)")
                continue
        bpmn_path.write_text(text, encoding="utf-8")
        records[rel] = new_hash
        bucket.append(rel)
    if only and not found:
        summary.errors.append(only)
        log(f"error: no matter {only}")
    for rel in sorted(records):
        if not (processes_dir / rel).exists():
            del records[rel]
    save_sidecar(processes_dir, records)
    for line in summary.lines():
        log(line)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate processes/<dept>/<code>.bpmn from the matter catalog.")
    parser.add_argument("--force", action="store_true", help="overwrite diagrams edited by hand")
    parser.add_argument("--only", metavar="CODE", help="generate one matter only")
    parser.add_argument("--processes", type=Path, default=DEFAULT_PROCESSES_DIR, help="the processes directory")
    args = parser.parse_args(argv)
    summary = generate(args.processes, force=args.force, only=args.only)
    return 1 if summary.errors else 0


if __name__ == "__main__":
    sys.exit(main())
