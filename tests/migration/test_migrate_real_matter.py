"""Migrating running cases of a real matter (企业投资项目备案, 32021300FG-BA-0001) from v1 to a v2 that adds a step
(初审 before 审核), renames one (送达 `deliver` → `deliver_result`, with an explicit mapping) and removes one
(补正材料核验): dry run, apply, and the migrated cases finish on v2 through the HTTP API; the case waiting at the
removed step is refused with its reason and stays on v1 untouched."""

from __future__ import annotations

import pytest

from tests.matters.conftest import HALL, PROCESSES, seed_hall
from tests.matters.test_every_matter_runs import form_data
from tests.migration.bpmn_edit import Diagram

CODE = "32021300FG-BA-0001"
KEY = "matter_32021300FG_BA_0001"
FOLDER = PROCESSES / "fgj"
MATTER = next(m for m in __import__("tests.matters.conftest", fromlist=["catalog"]).catalog() if m["code"] == CODE)
ANALYST = next(u["username"] for u in HALL["users"] if "analyst" in u["roles"])
OPS = next(u["username"] for u in HALL["users"] if "ops" in u["roles"])
API = "/api/v1"


def v2_diagram() -> bytes:
    source = (FOLDER / f"{CODE}.bpmn").read_bytes()
    return (Diagram(source).insert_before("review", "pre_review", "初审", "review")
            .rename("deliver", "deliver_result").remove("supplement_check").bytes())


class Desk:
    def __init__(self, client, hall) -> None:
        self.client, self.hall = client, hall
        self.window = hall.holder("发改局受理A岗")

    def call(self, method: str, path: str, user: str, status: int | None = 200, **kwargs):
        response = self.client.open(f"{API}{path}", method=method, headers=self.hall.auth(user), **kwargs)
        if status is not None:
            assert response.status_code == status, (method, path, response.status_code, response.json)
        return response

    def deploy(self, files: list[tuple[str, bytes]], **form):
        import io

        data = {"file": [(io.BytesIO(content), name) for name, content in files], **form}
        return self.call("POST", "/process-definitions", ANALYST, status=None, data=data,
                         content_type="multipart/form-data")

    def start(self, label: str) -> dict:
        return self.call("POST", f"/process-definitions/{KEY}/instances", self.window, status=201,
                         json={"business_key": f"{CODE}/{label}", "data": {"applicant": "无锡某某有限公司"}}).json

    def case(self, case_id: str) -> dict:
        return self.call("GET", f"/instances/{case_id}", self.window).json

    def do(self, case: dict, scenario: str = "granted", claim_only: bool = False) -> dict:
        """Claim and complete the case's open (non-escalation) task as its post's clerk; the case afterwards."""
        task = next(t for t in case["tasks"] if not t["element_id"].startswith("supervise_"))
        clerk = self.hall.holder(task["post"])
        self.call("POST", f"/tasks/{task['id']}/claim", clerk)
        if claim_only:
            return self.case(case["id"])
        data = form_data(task["form_key"], MATTER, scenario, case["data"])
        self.call("POST", f"/tasks/{task['id']}/complete", clerk, json={"data": data})
        return self.case(case["id"])

    def migrate(self, user: str = OPS, status: int = 200, **body):
        body = {"from_version": 1, "to_version": 2, **body}
        return self.call("POST", f"/process-definitions/{KEY}/migrations", user, status=status, json=body).json


@pytest.fixture()
def desk(app, clock):
    hall = seed_hall(app, load_processes=False)  # the hall and forms; the matter is uploaded by the test
    desk = Desk(app.test_client(), hall)  # each request in an app context of its own
    v1 = desk.deploy([(f"{CODE}.bpmn", (FOLDER / f"{CODE}.bpmn").read_bytes()),
                      (f"{CODE}.yaml", (FOLDER / f"{CODE}.yaml").read_bytes())])
    assert v1.status_code == 201, v1.json
    return desk


def _cases_at_every_step(desk: Desk) -> dict[str, dict]:
    """Five cases of v1, each stopped at another step."""
    cases = {}
    cases["accept"] = desk.do(desk.start("accept"), claim_only=True)  # claimed, not done: the claim must survive
    cases["review"] = desk.do(desk.start("review"))
    cases["decide"] = desk.do(desk.do(desk.start("decide")))
    cases["deliver"] = desk.do(desk.do(desk.do(desk.start("deliver"))))
    cases["supplement_check"] = desk.do(desk.do(desk.start("supplement_check"), "supplemented"), "supplemented")
    for step, case in cases.items():
        assert [t["element_id"] for t in case["tasks"]] == [step], (step, case["tasks"])
    return cases


def test_running_cases_move_to_v2_and_finish_there(desk, clock):
    cases = _cases_at_every_step(desk)
    v2 = desk.deploy([(f"{CODE}.bpmn", v2_diagram())], changelog="增加初审；送达改名；取消补正材料核验")
    assert v2.status_code == 201 and v2.json["items"][0]["version"] == 2, v2.json
    before = {step: desk.case(c["id"]) for step, c in cases.items()}
    clock.advance(hours=3)

    # the dry run: a report per case, nothing changed
    report = desk.migrate(mapping={"deliver": "deliver_result"}, dry_run=True)
    assert report["summary"] == {"migrated": 0, "would_migrate": 4, "refused": 1, "skipped": 0}, report
    by_case = {item["instance_id"]: item for item in report["items"]}
    refused = by_case[cases["supplement_check"]["id"]]
    assert refused["outcome"] == "refused" and "supplement_check" in refused["reasons"][0]
    assert "没有对应元素" in refused["reasons"][0]
    moving = by_case[cases["deliver"]["id"]]
    assert moving["outcome"] == "would_migrate"
    assert [(e["element"], e["to"], e["kind"]) for e in moving["elements"]] == [("deliver", "deliver_result", "user_task")]
    timer = by_case[cases["review"]["id"]]["timers"]
    assert [(t["element"], t["how"], t["due_to"] == t["due_from"]) for t in timer] == [("timer_review", "kept", True)]
    for step, case in cases.items():
        assert desk.case(case["id"]) == before[step]  # nothing stored

    # without the mapping the renamed step cannot move either: SpiffWorkflow's guess is offered, not applied
    unmapped = desk.migrate(dry_run=True)
    assert unmapped["summary"]["refused"] == 2 and unmapped["suggested_mapping"].get("deliver") == "deliver_result"

    # apply
    result = desk.migrate(mapping={"deliver": "deliver_result"}, batch_size=2)
    assert result["summary"] == {"migrated": 4, "would_migrate": 0, "refused": 1, "skipped": 0}, result
    for step, case in cases.items():
        now = desk.case(case["id"])
        if step == "supplement_check":  # refused: on v1, untouched
            assert now == before[step]
            continue
        assert now["definition_version"] == 2 and now["version"] == before[step]["version"] + 1
        old_task, new_task = before[step]["tasks"][0], now["tasks"][0]
        assert new_task["id"] == old_task["id"]  # the same open task row
        assert new_task["assignee"] == old_task["assignee"] and new_task["post"] == old_task["post"]
        assert new_task["element_id"] == ("deliver_result" if step == "deliver" else step)
        assert [(t["element_id"], t["due_at"]) for t in now["timers"]] == \
            [(t["element_id"], t["due_at"]) for t in before[step]["timers"]]  # due dates kept: the timers are the same
    assert desk.case(cases["accept"]["id"])["tasks"][0]["assignee"] == desk.window  # the claim survived
    trail = desk.call("GET", f"/instances/{cases['deliver']['id']}/audit", desk.window, query_string={"limit": 100}).json
    migrated = [e for e in trail["items"] if e["action"] == "instance.migrated"]
    assert len(migrated) == 1 and migrated[0]["actor"] == OPS
    assert migrated[0]["details"]["from_version"] == 1 and migrated[0]["details"]["to_version"] == 2
    assert migrated[0]["details"]["mapping"] == {"deliver": "deliver_result"}

    history = desk.call("GET", f"/process-definitions/{KEY}/history", OPS).json
    (event,) = [e for e in history["events"] if e["action"] == "migrated"]
    assert event["version"] == 2 and event["details"]["migrated"] == 4 and event["details"]["refused"] == 1

    # a second run finds only the refused case on v1; a migrated case named explicitly is skipped
    again = desk.migrate(mapping={"deliver": "deliver_result"}, instances=[cases["accept"]["id"], "nope"])
    assert [i["outcome"] for i in again["items"]] == ["skipped", "skipped"]

    # the migrated cases finish on v2, through the new step and the renamed one
    done: dict[str, list[str]] = {}
    for step, case in cases.items():
        if step == "supplement_check":
            continue
        current, steps = desk.case(case["id"]), []
        if step == "accept":  # claimed before the migration: completed by the same clerk
            task = current["tasks"][0]
            desk.call("POST", f"/tasks/{task['id']}/complete", desk.window,
                      json={"data": form_data("accept", MATTER, "granted", current["data"])})
            steps.append("accept")
            current = desk.case(case["id"])
        while current["state"] == "running":
            steps.append(current["tasks"][0]["element_id"])
            current = desk.do(current)
        assert current["state"] == "completed", current
        done[step] = steps
    assert done["accept"] == ["accept", "pre_review", "review", "decide", "deliver_result"]
    assert done["review"] == ["review", "decide", "deliver_result"]
    assert done["deliver"] == ["deliver_result"]

    # the refused case still runs on v1, to v1's end
    current = desk.case(cases["supplement_check"]["id"])
    steps = []
    while current["state"] == "running":
        steps.append(current["tasks"][0]["element_id"])
        current = desk.do(current, "supplemented")
    assert current["state"] == "completed" and current["definition_version"] == 1
    assert steps == ["supplement_check", "review", "decide", "deliver"]


def test_a_changed_deadline_is_recounted_and_a_new_one_armed(desk, clock, app):
    """v2 gives 审核 three days instead of two and puts a deadline on 受理: both follow the migration."""
    at_review = desk.do(desk.start("review"))
    at_accept = desk.start("accept")
    content = (FOLDER / f"{CODE}.bpmn").read_bytes().replace(b">P2D<", b">P3D<")
    content = content.replace(b'<bpmn:boundaryEvent id="timer_review"', (
        b'<bpmn:boundaryEvent id="timer_accept" name="\xe5\x8f\x97\xe7\x90\x86\xe8\xb6\x85\xe6\x9c\x9f PT4H" '
        b'cancelActivity="false" attachedToRef="accept"><bpmn:outgoing>Flow_timer_accept_to_end</bpmn:outgoing>'
        b'<bpmn:timerEventDefinition><bpmn:timeDuration>PT4H</bpmn:timeDuration></bpmn:timerEventDefinition>'
        b'</bpmn:boundaryEvent><bpmn:endEvent id="end_timer_accept"><bpmn:incoming>Flow_timer_accept_to_end'
        b'</bpmn:incoming></bpmn:endEvent><bpmn:sequenceFlow id="Flow_timer_accept_to_end" sourceRef="timer_accept" '
        b'targetRef="end_timer_accept"/><bpmn:boundaryEvent id="timer_review"'))
    assert desk.deploy([(f"{CODE}.bpmn", content)]).status_code == 201
    review_due = at_review["timers"][0]["due_at"]
    clock.advance(hours=1)
    result = desk.migrate()
    assert result["summary"]["migrated"] == 2, result
    review = desk.case(at_review["id"])
    (timer,) = review["timers"]
    assert timer["element_id"] == "timer_review" and timer["due_at"] > review_due  # one more day, from the same start
    assert review["tasks"][0]["due_at"] == timer["due_at"]
    item = next(i for i in result["items"] if i["instance_id"] == at_review["id"])
    assert item["timers"][0]["how"] == "recounted"
    accept = desk.case(at_accept["id"])
    assert [(t["element_id"], t["kind"]) for t in accept["timers"]] == [("timer_accept", "boundary")]
    item = next(i for i in result["items"] if i["instance_id"] == at_accept["id"])
    assert item["timers"][0]["how"] == "armed"
    # the armed deadline fires (non-interrupting): 受理 is still open and done as usual
    from app.timers import service as timers

    clock.advance(hours=5)
    with app.app_context():  # as the scheduler fires them: an app context of its own
        assert timers.fire_due() >= 1
    accept = desk.case(at_accept["id"])
    assert accept["timers"] == [] and [t["element_id"] for t in accept["tasks"]] == ["accept"]
    assert desk.do(accept)["tasks"][0]["element_id"] == "review"


def test_bad_plans_and_who_may_migrate(desk):
    desk.start("accept")
    assert desk.deploy([(f"{CODE}.bpmn", v2_diagram())]).status_code == 201
    desk.migrate(user=ANALYST, status=403, dry_run=True)
    bad = desk.migrate(status=422, mapping={"no_such_step": "review"})
    assert bad["code"] == "invalid_migration" and "no_such_step" in bad["message"]
    bad = desk.migrate(status=422, mapping={"deliver": "no_such_step"})
    assert "no_such_step" in bad["message"]
    assert desk.migrate(status=400, to_version=1)["code"] == "bad_request"
    assert desk.migrate(status=404, to_version=9)["code"] == "not_found"


def test_cli_migrate_reports_one_line_per_case_with_exit_codes(desk, app):
    cases = _cases_at_every_step(desk)
    assert desk.deploy([(f"{CODE}.bpmn", v2_diagram())]).status_code == 201
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["processes", "migrate", KEY, "--from", "1", "--to", "2", "--map",
                              "deliver=deliver_result", "--dry-run"])
    assert dry.exit_code == 1, dry.output  # one case would be refused
    lines = [line for line in dry.stdout.splitlines() if line]
    assert len(lines) == 5 and sum(line.startswith("would_migrate\t") for line in lines) == 4
    assert any(line.startswith(f"refused\t{cases['supplement_check']['id']}") and "supplement_check" in line
               for line in lines)
    ok = runner.invoke(args=["processes", "migrate", KEY, "--from", "1", "--to", "2", "--map", "deliver=deliver_result",
                             "--instance", cases["deliver"]["id"], "--instance", cases["review"]["id"]])
    assert ok.exit_code == 0, ok.output
    assert [line.split("\t")[0] for line in ok.stdout.splitlines() if line] == ["migrated", "migrated"]
    assert "deliver→deliver_result" in ok.stdout
    assert desk.case(cases["deliver"]["id"])["definition_version"] == 2
    assert desk.case(cases["accept"]["id"])["definition_version"] == 1  # not named: not moved
    usage = runner.invoke(args=["processes", "migrate", KEY, "--from", "1", "--to", "2", "--map", "deliver"])
    assert usage.exit_code == 2
    assert runner.invoke(args=["processes", "migrate", KEY, "--from", "1", "--to", "7"]).exit_code == 2
    unknown = runner.invoke(args=["processes", "migrate", KEY, "--from", "1", "--to", "2", "--map", "nope=review"])
    assert unknown.exit_code == 2 and "nope" in unknown.output
