"""Every endpoint × every role: allowed (2xx), 401, 403, 404 or 409, as people.access and the role checks decide.

The endpoints come from the Flask url_map: a new endpoint without an entry in MATRIX fails the test. Objects that
a call uses up (a case to cancel, a task to claim, a token to revoke...) are made anew for each call.
The case objects belong to 发改局 (fgj), the department of `clerk` (clerk A) and `boss` (supervisor A);
`other` and `otherboss` are clerk and supervisor of 卫生局 (wsj).
"""

from __future__ import annotations

import datetime as dt
import io
import itertools

import pytest

from app.clock import now
from app.extensions import db
from tests.conftest import FIXTURES, deploy

ROLES = ("anonymous", "clerk", "other", "boss", "otherboss", "center", "analyst", "ops", "admin")
OK = "ok"  # any 2xx


def row(default, **cells):
    """Expected outcome per role: `default` for roles not named; anonymous is 401 unless given."""
    expected = {role: default for role in ROLES}
    expected["anonymous"] = 401
    expected.update(cells)
    return expected


PUBLIC = {role: OK for role in ROLES}
ANY_USER = row(OK)
CASE_READERS = row(404, clerk=OK, boss=OK, center=OK, ops=OK, admin=OK)  # fgj's case: others do not learn it exists
ADMIN_ONLY = row(403, admin=OK)
DEPLOYERS = row(403, analyst=OK, ops=OK, admin=OK)
SUPERVISORS = row(403, boss=OK, otherboss=OK, center=OK, admin=OK)
SUPERVISORS_OPS = row(403, boss=OK, otherboss=OK, center=OK, ops=OK, admin=OK)
TASK_WORKERS = row(404, clerk=OK, boss=403, center=403, ops=403, admin=OK)  # visible first, then the post
FGJ_MANAGERS = row(403, boss=OK, otherboss=404, center=OK, admin=OK)  # fgj's supervisors, 中心督查, admin


class Scene:
    """Builds the objects a call needs, as the users who would make them."""

    def __init__(self, client, people) -> None:
        self.client, self.people, self.app = client, people, client.application
        self.serial = itertools.count(1)
        deploy(client, people, "two_step.bpmn", "reply.bpmn")

    def call(self, method: str, path: str, user: str | None = None, **kwargs):
        headers = self.people.auth(user) if user else {}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def case(self, key: str = "two_step", **body) -> dict:
        response = self.call("POST", f"/api/v1/process-definitions/{key}/instances", "clerk", json=body)
        assert response.status_code == 201, response.json
        return response.json

    def task(self, claimed_by: str | None = None) -> str:
        task_id = self.case()["tasks"][0]["id"]
        if claimed_by:
            assert self.call("POST", f"/api/v1/tasks/{task_id}/claim", claimed_by).status_code == 200
        return task_id

    def absence(self) -> int:
        day = dt.date(2027, 3, 1) + dt.timedelta(days=next(self.serial) * 3)
        response = self.call("POST", "/api/v1/absences", "admin", json={
            "username": "clerk2", "start": day.isoformat(), "end": day.isoformat(), "reason": "培训"})
        assert response.status_code == 201, response.json
        return response.json["id"]

    def absence_body(self) -> dict:
        day = dt.date(2028, 3, 1) + dt.timedelta(days=next(self.serial) * 3)
        return {"username": "clerk2", "start": day.isoformat(), "end": day.isoformat(), "reason": "培训"}

    def warning(self) -> int:
        from app.hall.supervision.models import SupervisionWarning

        instance_id = self.case()["id"]
        with self.app.app_context():
            warning = SupervisionWarning(instance_id=instance_id, kind="case_yellow", level="yellow",
                                         department_code="fgj", post="测试督查岗", message="即将超期",
                                         raised_at=now(), state="open")
            db.session.add(warning)
            db.session.commit()
            return warning.id

    def token_of(self, username: str) -> int:
        from app.people.auth import hash_token, issue_token
        from app.people.models import ApiToken, User

        with self.app.app_context():
            user = db.session.scalar(db.select(User).filter_by(username=username))
            secret = issue_token(user, label="matrix")
            db.session.commit()
            return db.session.scalar(db.select(ApiToken.id).filter_by(token_hash=hash_token(secret)))

    def timer(self) -> int:
        from app.timers.models import Timer

        task_id = self.task()
        assert self.call("POST", f"/api/v1/tasks/{task_id}/complete", "clerk",
                         json={"data": {"applicant": "甲", "materials_complete": True}}).status_code == 200
        with self.app.app_context():
            return db.session.scalar(db.select(Timer.id).where(Timer.state == "waiting").order_by(Timer.id.desc()))

    def form_upload(self) -> dict:
        return {"data": {"file": (io.BytesIO(b'{"type": "object"}'), f"matrix_{next(self.serial)}.json")},
                "content_type": "multipart/form-data"}

    def bpmn_upload(self) -> dict:
        return {"data": {"file": (io.BytesIO((FIXTURES / "two_step.bpmn").read_bytes()), "two_step.bpmn")},
                "content_type": "multipart/form-data"}


# (method, rule) -> (expected outcome per role, how to make the call: scene, user -> (path, request kwargs))
def fixed(path: str, **kwargs):
    return lambda scene, user: (path, kwargs)


def _case_path(suffix: str = ""):
    def make(scene, user):
        if not hasattr(scene, "fgj_case"):
            scene.fgj_case = scene.case(data={"applicant": "张三", "id_number": "320211199001011234"})
        return f"/api/v1/instances/{scene.fgj_case['id']}{suffix}", {}
    return make


def _document_path(suffix: str = ""):
    """A notice of the fgj case (issued directly: the fixture diagram declares none)."""
    def make(scene, user):
        if not hasattr(scene, "fgj_document"):
            from app.hall.documents import service as documents
            from app.instances.models import ProcessInstance

            instance_id = _case_path()(scene, user)[0].rsplit("/", 1)[1]
            with scene.app.app_context():
                document = documents.issue(db.session.get(ProcessInstance, instance_id), "acceptance", {
                    "department": {"name": "区发改局", "short": "发改局"}, "applicant": {"name": "张三"},
                    "matter": {"name": "测试事项"}, "case_number": "T1"}, now(), "clerk")
                db.session.commit()
                scene.fgj_document = document.id
        return f"/api/v1/documents/{scene.fgj_document}{suffix}", {}
    return make


def _numbered_case(scene, user):
    """A fgj case with a case number, whose query code may be reset."""
    from app.hall.models import HallCase

    case_id = scene.case()["id"]
    with scene.app.app_context():  # a matter's case as the hall keeps it (the fixture diagram is no matter's)
        db.session.add(HallCase(instance_id=case_id, matter_code="MATRIX", department_code="fgj",
                                case_number=f"MATRIX{next(scene.serial):06d}", is_open=True))
        db.session.commit()
    return f"/api/v1/instances/{case_id}/query-code", {}


def _task_path(suffix: str = "", body=None, claimed_by=None):
    def make(scene, user):
        if not suffix and not hasattr(scene, "fgj_task"):
            scene.fgj_task = scene.task()
        task_id = scene.fgj_task if not suffix else scene.task(claimed_by=claimed_by)
        return f"/api/v1/tasks/{task_id}{suffix}", ({"json": body} if body is not None else {})
    return make


def _approval(claimed_by: str | None, suffix: str, body: dict):
    """A fgj case whose acceptance clerk A completed, waiting at its approval (claimed by `claimed_by`): the
    approval's path (退回), or the acceptance's (撤回)."""
    def make(scene, user):
        accept = scene.task(claimed_by="clerk")
        assert scene.call("POST", f"/api/v1/tasks/{accept}/complete", "clerk",
                          json={"data": {"applicant": "甲", "materials_complete": True}}).status_code == 200
        if suffix == "/take-back":
            return f"/api/v1/tasks/{accept}{suffix}", {"json": body}
        with scene.app.app_context():
            from app.tasks.models import UserTask

            approve = db.session.scalar(db.select(UserTask.id).where(
                UserTask.state == "open", UserTask.element_id == "approve").order_by(UserTask.created_at.desc()))
        if claimed_by:
            assert scene.call("POST", f"/api/v1/tasks/{approve}/claim", claimed_by).status_code == 200
        return f"/api/v1/tasks/{approve}{suffix}", {"json": body}
    return make


def _message(scene, user):
    key = f"FG-{next(scene.serial)}"
    scene.case("reply", business_key=key)
    return "/api/v1/messages", {"json": {"name": "higher_authority_reply", "business_key": key,
                                         "data": {"higher_decision": "approved"}}}


def _own_token(scene, user):
    token_id = scene.token_of(user if user != "anonymous" else "clerk")
    return f"/api/v1/me/tokens/{token_id}", {}


def _clerks_token(scene, user):
    return f"/api/v1/users/clerk/tokens/{scene.token_of('clerk')}", {}


def _calendar_day(scene, user):
    day = (dt.date(2030, 1, 7) + dt.timedelta(days=next(scene.serial))).isoformat()
    scene.call("PUT", f"/api/v1/calendar/days/{day}", "admin", json={"kind": "holiday", "name": "测试"})
    return f"/api/v1/calendar/days/{day}", {}


def _attachment_path(scene, user):
    from app.hall.attachments import service
    from app.people.auth import Principal

    _case_path()(scene, user)
    with scene.app.test_request_context():
        clerk = Principal(0, "clerk", "窗口甲", ("clerk",), ("测试受理岗",), None, departments=("fgj",))
        row = service.attach(clerk, scene.fgj_case["id"], "scan.pdf", b"%PDF-1.4\n%%EOF\n")
        path = f"/api/v1/attachments/{row.id}"
        db.session.remove()
    return path, {}


MATRIX = {
    # public: the matter guide, forms, the API documents, liveness
    ("GET", "/healthz"): (PUBLIC, fixed("/healthz")),
    ("GET", "/api/openapi.json"): (PUBLIC, fixed("/api/openapi.json")),
    ("GET", "/api/docs"): (PUBLIC, fixed("/api/docs")),
    ("GET", "/api/docs-assets/<path:filename>"): (PUBLIC, fixed("/api/docs-assets/swagger-ui.css")),
    ("GET", "/static/<path:filename>"): ({role: 404 for role in ROLES}, fixed("/static/nothing.txt")),
    ("GET", "/api/v1/matters"): (PUBLIC, fixed("/api/v1/matters")),
    ("GET", "/api/v1/matters/<code>"): ({role: 404 for role in ROLES}, fixed("/api/v1/matters/32021300FG-XX-9999")),
    # a matter record's history names who changed it: signed-in users; changing it: those who deploy the catalog
    ("GET", "/api/v1/matters/<code>/history"): (row(404), fixed("/api/v1/matters/32021300FG-XX-9999/history")),
    ("PATCH", "/api/v1/matters/<code>"): (
        row(403, analyst=404, ops=404, admin=404),
        fixed("/api/v1/matters/32021300FG-XX-9999", json={"changes": {"promised_days": 3}, "reason": "压缩时限"})),
    ("GET", "/api/v1/forms/<path:key>"): (PUBLIC, fixed("/api/v1/forms/test_accept")),
    # definitions and forms
    ("GET", "/api/v1/process-definitions"): (ANY_USER, fixed("/api/v1/process-definitions")),
    ("POST", "/api/v1/process-definitions"): (DEPLOYERS, lambda scene, user: ("/api/v1/process-definitions",
                                                                              scene.bpmn_upload())),
    ("GET", "/api/v1/process-definitions/<key>"): (ANY_USER, fixed("/api/v1/process-definitions/two_step")),
    ("GET", "/api/v1/process-definitions/<key>/xml"): (ANY_USER, fixed("/api/v1/process-definitions/two_step/xml")),
    ("GET", "/api/v1/forms"): (ANY_USER, fixed("/api/v1/forms")),
    ("POST", "/api/v1/forms"): (DEPLOYERS, lambda scene, user: ("/api/v1/forms", scene.form_upload())),
    # cases
    ("POST", "/api/v1/process-definitions/<key>/instances"): (
        # a clerk or supervisor of another department (卫生局) may not receive 发改局's matter
        row(OK, analyst=403, other=403, otherboss=403),
        fixed("/api/v1/process-definitions/two_step/instances", json={"data": {}})),
    ("GET", "/api/v1/instances"): (ANY_USER, fixed("/api/v1/instances")),
    ("GET", "/api/v1/instances/<instance_id>"): (CASE_READERS, _case_path()),
    ("GET", "/api/v1/instances/<instance_id>/audit"): (CASE_READERS, _case_path("/audit")),
    ("GET", "/api/v1/instances/<instance_id>/course"): (CASE_READERS, _case_path("/course")),
    ("GET", "/api/v1/instances/<instance_id>/clock"): (CASE_READERS, _case_path("/clock")),
    ("GET", "/api/v1/instances/<instance_id>/submissions"): (CASE_READERS, _case_path("/submissions")),
    # 延期: approved by the department's head (负责人岗) only, or admin; the scene's case is no matter's (no clock):
    # 409 for admin; a supervisor who is not the head is refused, of another department not told the case exists
    ("POST", "/api/v1/instances/<instance_id>/extend"): (
        row(403, otherboss=404, admin=409),
        lambda scene, user: (f"/api/v1/instances/{scene.case()['id']}/extend", {"json": {"reason": "测试"}})),
    # a special procedure's second notice (Art. 45): the head too; the scene's case has no special procedure: 409
    ("POST", "/api/v1/instances/<instance_id>/special-procedure/extend"): (
        row(403, otherboss=404, admin=409),
        lambda scene, user: (f"/api/v1/instances/{scene.case()['id']}/special-procedure/extend",
                             {"json": {"days": 5, "reason": "测试"}})),
    ("POST", "/api/v1/instances/<instance_id>/cancel"): (
        row(403, boss=OK, otherboss=404, center=OK, ops=OK, admin=OK),
        lambda scene, user: (f"/api/v1/instances/{scene.case()['id']}/cancel", {"json": {"reason": "测试"}})),
    ("POST", "/api/v1/messages"): (row(404, analyst=403, clerk=OK, boss=OK, center=OK, ops=OK, admin=OK), _message),
    # intake and notices (文书): by the case's rules; the applicant's progress query needs no token, only the code
    ("POST", "/api/v1/case-status"): ({role: 404 for role in ROLES}, fixed(
        "/api/v1/case-status", json={"case_number": "32021300FG202611250001", "query_code": "AAAA-BBBB-CC"})),
    ("POST", "/api/v1/instances/<instance_id>/query-code"): (
        row(403, clerk=OK, boss=OK, other=404, otherboss=404, center=OK, admin=OK), _numbered_case),
    ("GET", "/api/v1/instances/<instance_id>/documents"): (CASE_READERS, _case_path("/documents")),
    # attachments and comments: the case's readers read them; its clerks and supervisors add to them
    ("GET", "/api/v1/instances/<instance_id>/attachments"): (CASE_READERS, _case_path("/attachments")),
    ("POST", "/api/v1/instances/<instance_id>/attachments"): (
        row(403, clerk=OK, other=404, boss=OK, otherboss=404, center=OK, admin=OK),
        lambda scene, user: (_case_path("/attachments")(scene, user)[0], {
            "data": {"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "scan.pdf")}, "content_type": "multipart/form-data"})),
    ("GET", "/api/v1/attachments/<int:attachment_id>"): (CASE_READERS, _attachment_path),
    ("GET", "/api/v1/instances/<instance_id>/comments"): (CASE_READERS, _case_path("/comments")),
    ("POST", "/api/v1/instances/<instance_id>/comments"): (
        row(403, clerk=OK, other=404, boss=OK, otherboss=404, center=OK, admin=OK),
        lambda scene, user: (_case_path("/comments")(scene, user)[0], {"json": {"text": "意见"}})),
    # corrections at the window: those who handle the case (更正申请人); its receiving clerk or supervisors (撤件)
    ("PUT", "/api/v1/instances/<instance_id>/applicant"): (
        row(403, clerk=OK, other=404, boss=OK, otherboss=404, center=OK, admin=OK),
        lambda scene, user: (f"/api/v1/instances/{scene.case()['id']}/applicant", {"json": {
            "reason": "证件号码录入错误", "applicant": {"kind": "organisation", "name": "某公司", "id_type": "uscc",
                                                   "id_number": "91320211MA1P8K2T0A", "phone": "13812345678"}}})),
    ("POST", "/api/v1/instances/<instance_id>/withdraw"): (
        row(403, clerk=OK, other=404, boss=OK, otherboss=404, center=OK, admin=OK),
        lambda scene, user: (f"/api/v1/instances/{scene.case()['id']}/withdraw", {"json": {"reason": "误收"}})),
    ("GET", "/api/v1/documents/<int:document_id>"): (CASE_READERS, _document_path()),
    ("GET", "/api/v1/documents/<int:document_id>.pdf"): (CASE_READERS, _document_path(".pdf")),
    # processes' lifecycle (ops), history and diff (anyone signed in)
    ("POST", "/api/v1/process-definitions/<key>/suspend"): (
        row(403, ops=OK, admin=OK), fixed("/api/v1/process-definitions/two_step/suspend", json={"reason": "检修"})),
    ("POST", "/api/v1/process-definitions/<key>/activate"): (
        row(403, ops=OK, admin=OK), fixed("/api/v1/process-definitions/two_step/activate", json={})),
    ("POST", "/api/v1/process-definitions/<key>/versions/<int:version>/withdraw"): (
        row(403, ops=404, admin=404), fixed("/api/v1/process-definitions/two_step/versions/99/withdraw", json={})),
    ("POST", "/api/v1/process-definitions/<key>/migrations"): (
        row(403, ops=404, admin=404), fixed("/api/v1/process-definitions/two_step/migrations",
                                            json={"from_version": 1, "to_version": 99, "dry_run": True})),
    ("GET", "/api/v1/process-definitions/<key>/history"): (
        ANY_USER, fixed("/api/v1/process-definitions/two_step/history")),
    ("GET", "/api/v1/process-definitions/<key>/diff"): (
        ANY_USER, fixed("/api/v1/process-definitions/two_step/diff", query_string={"from": 1, "to": 1})),
    # instance modification: ops (and admin); the case id is unknown here
    ("POST", "/api/v1/instances/<instance_id>/modification"): (row(403, ops=404, admin=404), fixed(
        "/api/v1/instances/nope/modification", json={"instructions": [{"type": "cancel", "activityId": "x"}]})),
    # external tasks (Camunda's REST API): workers (and admin) work them, ops read them; ids unknown here: 404
    ("POST", "/engine-rest/external-task/fetchAndLock"): (row(403, admin=OK), fixed(
        "/engine-rest/external-task/fetchAndLock",
        json={"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "none", "lockDuration": 1000}]})),
    ("GET", "/engine-rest/external-task"): (row(403, ops=OK, admin=OK), fixed("/engine-rest/external-task")),
    ("GET", "/engine-rest/external-task/count"): (row(403, ops=OK, admin=OK), fixed("/engine-rest/external-task/count")),
    ("GET", "/engine-rest/external-task/<task_id>"): (
        row(403, ops=404, admin=404), fixed("/engine-rest/external-task/nope")),
    **{("POST", f"/engine-rest/external-task/<task_id>/{action}"): (
        row(403, admin=404), fixed(f"/engine-rest/external-task/nope/{action}", json=body))
       for action, body in (("complete", {"workerId": "w"}), ("failure", {"workerId": "w", "retries": 1}),
                            ("bpmnError", {"workerId": "w", "errorCode": "E"}),
                            ("extendLock", {"workerId": "w", "newDuration": 1000}),
                            ("lock", {"workerId": "w", "lockDuration": 1000}), ("unlock", {}))},
    ("PUT", "/engine-rest/external-task/<task_id>/retries"): (
        row(403, ops=404, admin=404), fixed("/engine-rest/external-task/nope/retries", json={"retries": 1})),
    # operations: readiness and metrics are for the platform, incidents for ops and supervisors
    ("GET", "/readyz"): (PUBLIC, fixed("/readyz")),
    ("GET", "/metrics"): (PUBLIC, fixed("/metrics")),
    ("GET", "/api/v1/incidents"): (SUPERVISORS_OPS, fixed("/api/v1/incidents")),
    ("GET", "/api/v1/incidents/<incident_id>"): (
        row(403, boss=404, otherboss=404, center=404, ops=404, admin=404), fixed("/api/v1/incidents/timer-999999")),
    ("POST", "/api/v1/incidents/<incident_id>/retry"): (
        row(403, ops=404, admin=404), fixed("/api/v1/incidents/timer-999999/retry")),
    ("POST", "/api/v1/incidents/<incident_id>/resolve"): (
        row(403, ops=404, admin=404), fixed("/api/v1/incidents/timer-999999/resolve", json={"note": "已处理"})),
    ("POST", "/api/v1/posts"): (ADMIN_ONLY, lambda scene, user: (
        "/api/v1/posts", {"json": {"name": f"矩阵测试岗{next(scene.serial)}", "kind": "window_a"}})),
    ("POST", "/api/v1/signals"): (row(403, center=OK, ops=OK, admin=OK),
                                  lambda scene, user: ("/api/v1/signals", {"json": {"name": "matrix_signal"}})),
    # tasks
    ("GET", "/api/v1/tasks"): (ANY_USER, fixed("/api/v1/tasks")),
    ("GET", "/api/v1/tasks/<task_id>"): (CASE_READERS, _task_path()),
    ("POST", "/api/v1/tasks/<task_id>/claim"): (TASK_WORKERS, _task_path("/claim")),
    ("POST", "/api/v1/tasks/<task_id>/complete"): (
        TASK_WORKERS, _task_path("/complete", {"data": {"applicant": "甲", "materials_complete": True}})),
    ("POST", "/api/v1/tasks/<task_id>/unclaim"): (  # clerk2's claim: its own clerk, or fgj's supervisors
        row(404, clerk=409, boss=OK, center=OK, ops=409, admin=OK), _task_path("/unclaim", claimed_by="clerk2")),
    ("GET", "/api/v1/tasks/<task_id>/send-back"): (CASE_READERS, _task_path("/send-back")),
    # 退回: the approval's holder (approver, not a role here) or fgj's supervisors; clerk A sees it but holds nothing
    ("POST", "/api/v1/tasks/<task_id>/send-back"): (
        row(404, clerk=403, boss=OK, center=OK, ops=403, admin=OK),
        _approval("approver", "/send-back", {"to": "accept", "reason": "材料有误，退回重新受理"})),
    # 撤回: only clerk A, who completed the acceptance
    ("POST", "/api/v1/tasks/<task_id>/take-back"): (
        row(404, clerk=OK, boss=403, center=403, ops=403, admin=403), _approval(None, "/take-back", {})),
    ("POST", "/api/v1/tasks/<task_id>/reassign"): (
        row(403, boss=OK, otherboss=404, center=OK, admin=OK),
        _task_path("/reassign", {"username": "clerk2", "reason": "调整分工"})),
    # timers
    ("GET", "/api/v1/timers"): (SUPERVISORS_OPS, fixed("/api/v1/timers")),
    ("POST", "/api/v1/timers/fire-due"): (row(403, ops=OK, admin=OK), fixed("/api/v1/timers/fire-due")),
    ("POST", "/api/v1/timers/<int:timer_id>/retry"): (  # a waiting timer: nothing to retry (409) for those allowed
        row(403, ops=409, admin=409), lambda scene, user: (f"/api/v1/timers/{scene.timer()}/retry", {})),
    # people and tokens
    ("GET", "/api/v1/me"): (ANY_USER, fixed("/api/v1/me")),
    ("GET", "/api/v1/me/tokens"): (ANY_USER, fixed("/api/v1/me/tokens")),
    ("DELETE", "/api/v1/me/tokens/<int:token_id>"): (ANY_USER, _own_token),
    ("GET", "/api/v1/users"): (SUPERVISORS_OPS, fixed("/api/v1/users")),
    ("POST", "/api/v1/users"): (ADMIN_ONLY, fixed("/api/v1/users", json={
        "username": "newclerk", "name": "新人", "roles": ["clerk"], "posts": ["测试受理岗"]})),
    ("GET", "/api/v1/users/<username>/tokens"): (row(403, clerk=OK, admin=OK), fixed("/api/v1/users/clerk/tokens")),
    ("POST", "/api/v1/users/<username>/tokens"): (ADMIN_ONLY, fixed("/api/v1/users/clerk/tokens", json={})),
    ("DELETE", "/api/v1/users/<username>/tokens/<int:token_id>"): (row(403, clerk=OK, admin=OK), _clerks_token),
    ("GET", "/api/v1/posts"): (ANY_USER, fixed("/api/v1/posts")),
    ("GET", "/api/v1/absences"): (SUPERVISORS, fixed("/api/v1/absences")),
    ("POST", "/api/v1/absences"): (  # clerk2 of fgj: fgj's supervisor, 中心督查, admin
        row(403, boss=OK, center=OK, admin=OK), lambda scene, user: ("/api/v1/absences",
                                                                    {"json": scene.absence_body()})),
    ("DELETE", "/api/v1/absences/<int:absence_id>"): (
        row(403, boss=OK, center=OK, admin=OK), lambda scene, user: (f"/api/v1/absences/{scene.absence()}", {})),
    # supervision
    ("GET", "/api/v1/supervision/warnings"): (SUPERVISORS_OPS, fixed("/api/v1/supervision/warnings")),
    ("POST", "/api/v1/supervision/warnings/<int:warning_id>/close"): (
        FGJ_MANAGERS, lambda scene, user: (f"/api/v1/supervision/warnings/{scene.warning()}/close",
                                           {"json": {"note": "已督办"}})),
    # calendar
    ("GET", "/api/v1/calendar/add-working-days"): (
        ANY_USER, fixed("/api/v1/calendar/add-working-days", query_string={"from": "2026-10-09", "days": 1})),
    ("GET", "/api/v1/calendar/years/<year>"): (ANY_USER, fixed("/api/v1/calendar/years/2026")),
    ("PUT", "/api/v1/calendar/years/<year>"): (ADMIN_ONLY, fixed("/api/v1/calendar/years/2031",
                                                                 json={"complete": True})),
    ("GET", "/api/v1/calendar/days/<day>"): (ANY_USER, _calendar_day),
    ("PUT", "/api/v1/calendar/days/<day>"): (ADMIN_ONLY, fixed("/api/v1/calendar/days/2031-01-06",
                                                               json={"kind": "holiday", "name": "测试"})),
    ("DELETE", "/api/v1/calendar/days/<day>"): (ADMIN_ONLY, _calendar_day),
    # statistics: aggregates, no applicant data
    ("GET", "/api/v1/statistics/summary"): (SUPERVISORS_OPS, fixed("/api/v1/statistics/summary")),
    ("GET", "/api/v1/statistics/windows"): (SUPERVISORS_OPS, fixed("/api/v1/statistics/windows")),
    ("GET", "/api/v1/statistics/departments"): (SUPERVISORS_OPS, fixed("/api/v1/statistics/departments")),
    ("GET", "/api/v1/statistics/matters"): (SUPERVISORS_OPS, fixed("/api/v1/statistics/matters")),
    # 发改局's figures: 卫生局's supervisor asking for them is refused (every report counts a department
    # supervisor's own departments only)
    ("GET", "/api/v1/statistics/speed-up"): (
        row(403, boss=OK, center=OK, ops=OK, admin=OK),
        fixed("/api/v1/statistics/speed-up", query_string={"department": "fgj"})),
    # per clerk: figures about staff, for those who manage them (not ops); another department's → 403
    ("GET", "/api/v1/statistics/clerks"): (SUPERVISORS, fixed("/api/v1/statistics/clerks")),
    ("GET", "/api/v1/statistics/matters/<code>/versions"): (
        row(403, boss=404, otherboss=404, center=404, ops=404, admin=404),  # no such matter: 404 once allowed
        fixed("/api/v1/statistics/matters/32021300FG-XX-9999/versions")),
}


def _endpoints(app) -> set[tuple[str, str]]:
    # the web workbench's pages (blueprint "web": session sign-in, not bearer tokens) have their own matrix in
    # tests/web/test_access.py, which also fails for a page without a row
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"} if not rule.endpoint.startswith("web.")}


def test_every_endpoint_has_a_row(app):
    missing = sorted(_endpoints(app) - set(MATRIX))
    assert not missing, f"endpoints without a row in the authorization matrix: {missing}"
    assert not sorted(set(MATRIX) - _endpoints(app)), "rows for endpoints that no longer exist"


def _matches(expected, status: int) -> bool:
    return 200 <= status < 300 if expected == OK else status == expected


@pytest.mark.parametrize("endpoint", sorted(MATRIX), ids=lambda e: f"{e[0]} {e[1]}")
def test_matrix(client, people, endpoint):
    expected, make = MATRIX[endpoint]
    scene = Scene(client, people)
    wrong = {}
    for role in ROLES:
        path, kwargs = make(scene, role)
        response = scene.call(endpoint[0], path, None if role == "anonymous" else role, **kwargs)
        if not _matches(expected[role], response.status_code):
            wrong[role] = (expected[role], response.status_code, (response.get_json(silent=True) or {}).get("message"))
        elif response.status_code >= 400 and response.is_json:
            # Camunda's REST API under /engine-rest adds Camunda's `type` to the same body
            extra = {"type"} if path.startswith("/engine-rest/") else set()
            assert set(response.json) == {"code", "message", "details", *extra}, response.json
    assert not wrong, wrong
