"""Versions as ops expect them: suspend and activate, withdraw (timer start events follow), history, diff, dry run,
deploy-time post checks, POST /posts."""

from __future__ import annotations

import io

from tests.conftest import FIXTURES, deploy

API = "/api/v1/process-definitions"


def _upload(client, people, name: str, content: bytes, as_user: str = "analyst", query: str = "", **form):
    return client.post(f"{API}{query}", data={"file": [(io.BytesIO(content), name)], **form},
                       headers=people.auth(as_user), content_type="multipart/form-data")


def _start(client, people, key: str, **body):
    return client.post(f"{API}/{key}/instances", json={"data": {}, **body}, headers=people.auth("clerk"))


def _two_versions(client, people):
    assert deploy(client, people, "two_step.bpmn").status_code == 201
    changed = (FIXTURES / "two_step.bpmn").read_bytes().replace("审批".encode(), "复核审批".encode(), 1)
    second = _upload(client, people, "two_step.bpmn", changed, changelog="审批改为复核审批")
    assert second.status_code == 201 and second.json["items"][0]["version"] == 2
    return second


def test_suspended_version_refuses_new_cases_with_the_reason_and_running_cases_go_on(client, people):
    _two_versions(client, people)
    running = _start(client, people, "two_step").json
    answer = client.post(f"{API}/two_step/suspend", json={"version": 2, "reason": "材料清单有误"},
                         headers=people.auth("ops"))
    assert answer.status_code == 200 and answer.json["versions"] == [2]
    refused = _start(client, people, "two_step")
    assert refused.status_code == 409 and refused.json["code"] == "definition_suspended"
    assert "挂起" in refused.json["message"] and "材料清单有误" in refused.json["message"]
    assert _start(client, people, "two_step", version=1).status_code == 201  # another version still starts
    task = running["tasks"][0]["id"]
    done = client.post(f"/api/v1/tasks/{task}/complete", json={"data": {"applicant": "甲", "materials_complete": True}},
                       headers=people.auth("clerk"))
    assert done.status_code == 200, done.json  # the running case goes on
    assert client.post(f"{API}/two_step/activate", json={"version": 2}, headers=people.auth("ops")).status_code == 200
    assert _start(client, people, "two_step").status_code == 201


def test_suspending_the_definition_with_its_cases_stops_their_steps_until_activated(client, people):
    deploy(client, people, "two_step.bpmn")
    case = _start(client, people, "two_step").json
    assert client.post(f"{API}/two_step/suspend", json={"version": 1}, headers=people.auth("clerk")).status_code == 403
    answer = client.post(f"{API}/two_step/suspend", json={"include_instances": True, "reason": "系统维护"},
                         headers=people.auth("ops"))
    assert answer.json == {"key": "two_step", "versions": [1], "cases": 1}
    assert client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("clerk")).json["state"] == "suspended"
    task = case["tasks"][0]["id"]
    data = {"data": {"applicant": "甲", "materials_complete": True}}
    assert client.post(f"/api/v1/tasks/{task}/complete", json=data, headers=people.auth("clerk")).status_code == 409
    listed = client.get(API, headers=people.auth("clerk")).json["items"][0]
    assert listed["state"] == "suspended" and listed["state_reason"] == "系统维护"
    back = client.post(f"{API}/two_step/activate", json={"include_instances": True}, headers=people.auth("ops"))
    assert back.json["cases"] == 1
    assert client.post(f"/api/v1/tasks/{task}/complete", json=data, headers=people.auth("clerk")).status_code == 200


def test_withdrawn_version_gives_way_to_the_previous_one(client, people):
    _two_versions(client, people)
    answer = client.post(f"{API}/two_step/versions/2/withdraw", json={"reason": "有误"}, headers=people.auth("ops"))
    assert answer.status_code == 200 and answer.json["current"] == 1
    started = _start(client, people, "two_step")
    assert started.status_code == 201 and started.json["definition_version"] == 1
    assert _start(client, people, "two_step", version=2).status_code == 409
    detail = client.get(f"{API}/two_step", headers=people.auth("clerk")).json
    assert detail["version"] == 1 and [v["state"] for v in detail["versions"]] == ["withdrawn", "active"]
    assert client.get(API, headers=people.auth("clerk")).json["items"][0]["version"] == 1
    again = client.post(f"{API}/two_step/versions/2/withdraw", json={}, headers=people.auth("ops"))
    assert again.status_code == 409
    # the withdrawn content deployed again is a new version, not the withdrawn one
    changed = (FIXTURES / "two_step.bpmn").read_bytes().replace("审批".encode(), "复核审批".encode(), 1)
    assert _upload(client, people, "two_step.bpmn", changed).json["items"][0]["version"] == 3
    client.post(f"{API}/two_step/versions/3/withdraw", json={}, headers=people.auth("ops"))
    client.post(f"{API}/two_step/versions/1/withdraw", json={}, headers=people.auth("ops"))
    none_left = _start(client, people, "two_step")
    assert none_left.status_code == 409 and none_left.json["code"] == "definition_withdrawn"


def test_withdrawal_moves_the_timer_start_event_back(client, people):
    first = deploy(client, people, "nightly.bpmn")
    assert first.status_code == 201
    changed = (FIXTURES / "nightly.bpmn").read_bytes().replace("每晚八点".encode(), "每晚八点整".encode())
    assert _upload(client, people, "nightly.bpmn", changed).status_code == 201

    def waiting():
        items = client.get("/api/v1/instances", query_string={"key": "nightly"}, headers=people.auth("clerk")).json
        return sorted((i["definition_id"], i["state"]) for i in items["items"])

    v1, v2 = (d["id"] for d in sorted(client.get(f"{API}/nightly", headers=people.auth("clerk")).json["versions"],
                                      key=lambda d: d["version"]))
    assert waiting() == [(v1, "cancelled"), (v2, "running")]
    answer = client.post(f"{API}/nightly/versions/2/withdraw", json={}, headers=people.auth("ops")).json
    assert answer["cancelled_timer_starts"] == 1 and answer["armed_timer_starts"] == 1
    assert waiting() == [(v1, "cancelled"), (v1, "running"), (v2, "cancelled")]
    # suspending the definition suspends the waiting timer start too, and activating brings it back
    client.post(f"{API}/nightly/suspend", json={}, headers=people.auth("ops"))
    assert (v1, "suspended") in waiting()
    client.post(f"{API}/nightly/activate", json={}, headers=people.auth("ops"))
    assert (v1, "running") in waiting()


def test_history_lists_who_when_changelog_and_checksum(client, people):
    _two_versions(client, people)
    client.post(f"{API}/two_step/suspend", json={"version": 1, "reason": "旧版"}, headers=people.auth("ops"))
    history = client.get(f"{API}/two_step/history", headers=people.auth("clerk")).json
    assert history["current"] == 2
    assert [(v["version"], v["deployed_by"], v["source"]) for v in history["versions"]] == [
        (1, "analyst", "api"), (2, "analyst", "api")]
    assert history["versions"][1]["changelog"] == "审批改为复核审批" and len(history["versions"][1]["checksum"]) == 64
    assert [(e["action"], e["version"], e["actor"]) for e in history["events"]] == [
        ("deployed", 1, "analyst"), ("deployed", 2, "analyst"), ("suspended", 1, "ops")]
    assert history["events"][1]["details"]["changelog"] == "审批改为复核审批"
    xml = client.get(f"{API}/two_step/xml", query_string={"version": 1}, headers=people.auth("clerk"))
    assert "复核审批" not in xml.get_data(as_text=True)


def test_diff_names_added_removed_and_changed_elements(client, people):
    deploy(client, people, "two_step.bpmn")
    original = (FIXTURES / "two_step.bpmn").read_bytes()
    changed = (original.replace("审批".encode(), "复核审批".encode(), 1).replace(b">PT1H<", b">PT2H<"))
    _upload(client, people, "two_step.bpmn", changed)
    diff = client.get(f"{API}/two_step/diff", query_string={"from": 1, "to": 2}, headers=people.auth("clerk")).json
    assert diff["from"] == 1 and diff["to"] == 2 and not diff["identical"]
    assert [t["id"] for t in diff["timers"]] == ["approve_overdue"]
    assert diff["timers"][0]["to"] == {"timer.timeDuration": "PT2H"}
    changed_ids = {c["id"] for c in diff["changed"]}
    assert "approve_overdue" in changed_ids
    same = client.get(f"{API}/two_step/diff", query_string={"from": 1, "to": 1}, headers=people.auth("clerk")).json
    assert same["identical"] is True
    missing = client.get(f"{API}/two_step/diff", query_string={"from": 1, "to": 9}, headers=people.auth("clerk"))
    assert missing.status_code == 404


def test_diff_of_an_added_task_and_a_renamed_one():
    from app.definitions.diff import diff

    old = (FIXTURES / "two_step.bpmn").read_text(encoding="utf-8")
    new = old.replace('name="审批"', 'name="复核"', 1).replace(
        "</bpmn:process>", '<bpmn:userTask id="extra_check" name="补充核查" camunda:formKey="extra" /></bpmn:process>')
    result = diff(old, new)
    assert [(a["id"], a["category"]) for a in result["added"]] == [("extra_check", "task")]
    assert result["forms"] == [{"id": "extra_check", "status": "added", "from": None, "to": "extra"}]
    assert result["summary"]["task"]["added"] == 1


def test_unknown_post_is_422_naming_file_and_element_unless_allowed(client, people):
    content = (FIXTURES / "two_step.bpmn").read_bytes().replace("测试审批岗".encode(), "不存在的岗".encode())
    refused = _upload(client, people, "two_step.bpmn", content)
    assert refused.status_code == 422 and refused.json["code"] == "unknown_post"
    assert refused.json["details"]["file"] == "two_step.bpmn" and refused.json["details"]["post"] == "不存在的岗"
    assert refused.json["details"]["element"] == "lane_approve" and refused.json["details"]["line"] > 0
    assert "不存在的岗" in refused.json["message"]
    assert client.get(API, headers=people.auth("clerk")).json["total"] == 0
    allowed = _upload(client, people, "two_step.bpmn", content, query="?unknown_posts=allow")
    assert allowed.status_code == 201
    assert [w["post"] for w in allowed.json["warnings"] if w["code"] == "unknown_post"] == ["不存在的岗"]


def test_posts_can_be_created_by_the_admin_and_then_a_diagram_naming_them_deploys(client, people):
    content = (FIXTURES / "two_step.bpmn").read_bytes().replace("测试审批岗".encode(), "新设审批岗".encode())
    assert _upload(client, people, "two_step.bpmn", content).status_code == 422
    body = {"name": "新设审批岗", "kind": "approve"}
    assert client.post("/api/v1/posts", json=body, headers=people.auth("analyst")).status_code == 403
    created = client.post("/api/v1/posts", json=body, headers=people.auth("admin"))
    assert created.status_code == 201 and created.json["name"] == "新设审批岗"
    assert client.post("/api/v1/posts", json=body, headers=people.auth("admin")).status_code == 409
    assert client.post("/api/v1/posts", json={"name": "x", "kind": "approve", "department": "nope"},
                       headers=people.auth("admin")).status_code == 422
    assert _upload(client, people, "two_step.bpmn", content).status_code == 201


def test_dry_run_reports_every_file_and_stores_nothing(client, people, in_app):
    good = (FIXTURES / "two_step.bpmn").read_bytes()
    unknown = (FIXTURES / "reply.bpmn").read_bytes().replace("测试受理岗".encode(), "无此岗".encode())
    broken = good.replace(b">PT1H<", b">PT1X<")
    files = [(io.BytesIO(good), "two_step.bpmn"), (io.BytesIO(unknown), "reply.bpmn"),
             (io.BytesIO(broken), "broken.bpmn")]
    answer = client.post(f"{API}?dry_run=true", data={"file": files}, headers=people.auth("analyst"),
                         content_type="multipart/form-data")
    assert answer.status_code == 200 and answer.json["dry_run"] is True
    by_file = {f["file"]: f for f in answer.json["files"]}
    assert by_file["two_step.bpmn"]["ok"] and by_file["two_step.bpmn"]["definitions"][0]["created"] is True
    assert {e["post"] for e in by_file["reply.bpmn"]["errors"]} == {"无此岗"}
    assert by_file["broken.bpmn"]["errors"][0]["element"] == "approve_overdue"
    assert client.get(API, headers=people.auth("clerk")).json["total"] == 0
    # the same upload for real: 422 with every problem, nothing stored
    files = [(io.BytesIO(good), "two_step.bpmn"), (io.BytesIO(unknown), "reply.bpmn"),
             (io.BytesIO(broken), "broken.bpmn")]
    refused = client.post(API, data={"file": files}, headers=people.auth("analyst"), content_type="multipart/form-data")
    assert refused.status_code == 422
    assert {p["file"] for p in refused.json["details"]["problems"]} == {"reply.bpmn", "broken.bpmn"}
    assert client.get(API, headers=people.auth("clerk")).json["total"] == 0
    # a dry run leaves no compiled spec behind, and a real deploy afterwards still works
    from app.definitions import service

    assert in_app(service.compiled_cache) == {}
    assert deploy(client, people, "two_step.bpmn").status_code == 201
    assert len(in_app(service.compiled_cache)) == 1
