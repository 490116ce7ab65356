"""Hand-built cases for the statistics tests: the hall's 10 departments and 23 windows, a few matters, and cases
(the runtime's row and the hall's, its clock's figures set), so every expected figure can be worked out by hand."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from app.definitions.models import ProcessDefinition
from app.extensions import db
from app.hall.models import HallCase
from app.instances.models import ProcessInstance
from app.matters.models import Matter
from app.people.models import Department, Window

HALL = yaml.safe_load((Path(__file__).resolve().parents[2] / "processes" / "hall.yaml").read_text(encoding="utf-8"))
API = "/api/v1/statistics"
T0 = datetime(2026, 10, 12, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
_ids = itertools.count(1)


class Builder:
    """Makes definitions, matters and cases; `case()` takes any clock column; `commit()` stores them.

    It writes in an app context of its own, opened on the first write and closed by `commit()`, so the test's
    client requests never share its session.
    """

    def __init__(self, app) -> None:
        self.app = app
        self.definitions: dict[tuple[str, int], int] = {}
        self._context = None

    @property
    def session(self):
        if self._context is None:
            self._context = self.app.app_context()
            self._context.push()
        return db.session

    def commit(self) -> None:
        if self._context is None:
            return
        try:
            db.session.commit()
        finally:
            db.session.remove()
            self._context.pop()
            self._context = None

    def definition(self, key: str, version: int) -> int:
        if (key, version) not in self.definitions:
            row = ProcessDefinition(key=key, version=version, kind="bpmn", name=key, filename=f"{key}.bpmn",
                                    content="<definitions/>", checksum=f"{key}-{version}", depends_on=[],
                                    timer_start=False, deployed_at=T0 - timedelta(days=30 - version),
                                    deployed_by="analyst")
            self.session.add(row)
            self.session.flush()
            self.definitions[(key, version)] = row.id
        return self.definitions[(key, version)]

    def matter(self, code: str, name: str, department: str, kind: str, process_key: str) -> None:
        self.session.add(Matter(
            code=code, name=name, type="行政许可", department_code=department, kind=kind, co_departments=[],
            statutory_days=20, promised_days=10, acceptance_conditions="材料齐全", materials=[], fee_charged=False,
            fee_basis="不收费", fee_standard="不收费", result={}, legal_basis=[], procedure=[],
            special_procedures=[], process_key=process_key, record={}, filename=f"{code}.yaml", checksum=code,
            created_at=T0, updated_at=T0))
        self.definition(process_key, 1)

    def case(self, *, key: str, version: int = 1, received_on: date, state: str = "completed",
             hours: float | None = None, started_by: str | None = None, **columns) -> ProcessInstance:
        """The runtime's row and the hall's: a closed case (completed or cancelled) with an `on_time` was decided
        when it ended."""
        started = datetime(received_on.year, received_on.month, received_on.day, 1, 0, tzinfo=UTC)
        if hours is None and state == "completed":
            hours = 1
        ended = started + timedelta(hours=hours) if hours is not None else None
        row = ProcessInstance(
            id=f"case{next(_ids):06d}", definition_id=self.definition(key, version), process_key=key,
            state=state, data={}, engine_state="{}", started_at=started, updated_at=started, ended_at=ended,
            started_by=started_by, department_code=columns.get("department_code"))
        self.session.add(row)
        self.session.flush()
        closed = state in ("completed", "cancelled")
        self.session.add(HallCase(instance_id=row.id, received_on=received_on, received_at=started,
                                  is_open=not closed, closed_at=ended if closed else None,
                                  decided_at=ended if columns.get("on_time") is not None else None, **columns))
        return row


@pytest.fixture()
def build(ctx, people):
    """The hall (departments, windows) and an empty case table; the `people` users hold the tokens."""
    ctx.config["STATISTICS_MIN_GRADED_CASES"] = 1  # the hand-built groups are small; the minimum has its own test
    builder = Builder(ctx)
    for d in HALL["departments"]:  # `people` has seeded them already
        builder.session.merge(Department(code=d["code"], name=d["name"], short=d["short"], letters=d.get("letters")))
    builder.session.flush()
    for w in HALL["windows"]:
        builder.session.add(Window(no=w["no"], name=w["name"], department_code=w["department"]))
    builder.commit()
    yield builder
    builder.commit()  # a test that failed half-way leaves no context behind


D = date  # short in the tables of cases below


@pytest.fixture()
def october(build) -> Builder:
    """October 2026 (18 working days: 8–10, 12–16, 19–23, 26–30; the 10th is a working Saturday).

    Window 2 (发改局): 7 cases — 4 completed (on time with 2, 4 and 0 working days; late with 10), one running red,
    one running green, one cancelled; 3 supplement notices; one refusal, one not accepted; one green channel.
    Window 3 (发改局): 40 completed cases, 39 on time, working days 0..9 four times each.
    Window 7 (卫生局): 1 completed on time (1 working day).
    No window (online): 1 running yellow case of 城管局.
    Outside October: window 2 on 2026-09-30 and 2026-11-01 (not counted).
    """
    b = build
    b.matter("FG-XK-0001", "企业投资项目核准", "fgj", "promised", "fg_approve")
    b.matter("FG-XK-0002", "企业投资项目备案", "fgj", "immediate", "fg_record")
    b.matter("WS-XK-0001", "公共场所卫生许可", "wsj", "promised", "ws_permit")
    b.matter("CG-XK-0001", "城市道路占用许可", "cgj", "joint", "cg_road")
    fg1 = {"key": "fg_approve", "matter_code": "FG-XK-0001", "department_code": "fgj"}
    fg2 = {"key": "fg_record", "matter_code": "FG-XK-0002", "department_code": "fgj"}
    ws1 = {"key": "ws_permit", "matter_code": "WS-XK-0001", "department_code": "wsj"}
    cg1 = {"key": "cg_road", "matter_code": "CG-XK-0001", "department_code": "cgj"}

    b.case(**fg1, window_no=2, received_on=D(2026, 10, 8), outcome="granted", on_time=True, working_days_used=2,
           supplement_count=1, green_channel=True)
    b.case(**fg1, window_no=2, received_on=D(2026, 10, 9), outcome="granted", on_time=True, working_days_used=4)
    b.case(**fg1, window_no=2, received_on=D(2026, 10, 12), outcome="refused", on_time=False, working_days_used=10)
    b.case(**fg1, window_no=2, received_on=D(2026, 10, 13), state="running", light="red")
    b.case(**fg1, window_no=2, received_on=D(2026, 10, 20), state="running", light="green", supplement_count=2)
    b.case(**fg2, window_no=2, received_on=D(2026, 10, 31), outcome="not_accepted", on_time=True,
           working_days_used=0)
    b.case(**fg2, window_no=2, received_on=D(2026, 10, 1), state="cancelled", outcome="cancelled")
    for i in range(40):
        b.case(**fg2, window_no=3, received_on=D(2026, 10, 8 + i % 20), outcome="granted", on_time=i != 0,
               working_days_used=i % 10)
    b.case(**ws1, window_no=7, received_on=D(2026, 10, 15), outcome="granted", on_time=True, working_days_used=1)
    b.case(**cg1, window_no=None, received_on=D(2026, 10, 16), state="running", light="yellow")
    b.case(**fg1, window_no=2, received_on=D(2026, 9, 30), outcome="granted", on_time=False, working_days_used=30)
    b.case(**fg1, window_no=2, received_on=D(2026, 11, 1), state="running", light="red")
    b.commit()
    return b
