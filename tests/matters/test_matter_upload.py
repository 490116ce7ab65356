"""Loading matter records: uploaded beside the diagrams, validated, not rewritten when unchanged."""

from __future__ import annotations

import io

import pytest
import yaml

from app.errors import Invalid
from app.extensions import db
from tests.matters.conftest import FORMS, PROCESSES

CODE = "32021300FG-BA-0001"
YAML_BYTES = (PROCESSES / "fgj" / f"{CODE}.yaml").read_bytes()
BPMN_BYTES = (PROCESSES / "fgj" / f"{CODE}.bpmn").read_bytes()
RECORD = yaml.safe_load(YAML_BYTES)


@pytest.fixture(autouse=True)
def hall_forms(app, people):
    """The matters' diagrams name the hall's forms: deploy them first, as bootstrap does."""
    from app.forms import service as forms

    with app.app_context():
        forms.deploy_directory(FORMS)
        db.session.commit()


def _dump(record: dict) -> bytes:
    return yaml.safe_dump(record, allow_unicode=True, sort_keys=False).encode()


def _upload(client, people, *files: tuple[str, bytes], as_user: str = "analyst"):
    # the real matter's lanes name the real hall's posts; this test runs on the small test hall
    return client.post("/api/v1/process-definitions?unknown_posts=allow",
                       data={"file": [(io.BytesIO(c), n) for n, c in files]},
                       headers=people.auth(as_user), content_type="multipart/form-data")


def _guide(client, code: str = CODE):
    return client.get(f"/api/v1/matters/{code}")


def test_diagram_and_record_are_uploaded_together(client, people):
    response = _upload(client, people, (f"{CODE}.bpmn", BPMN_BYTES), (f"{CODE}.yaml", YAML_BYTES))
    assert response.status_code == 201, response.json
    assert [(d["key"], d["version"]) for d in response.json["items"]] == [("matter_32021300FG_BA_0001", 1)]
    [matter] = response.json["matters"]
    assert (matter["code"], matter["name"], matter["created"]) == (CODE, "企业投资项目备案", True)
    assert matter["process_key"] == "matter_32021300FG_BA_0001"

    guide = _guide(client).json
    assert guide["name"] == "企业投资项目备案" and guide["promised_days"] == 3
    assert guide["process"]["version"] == 1
    assert client.get("/api/v1/matters").json["total"] == 1


def test_a_record_alone_and_unchanged_content_is_not_rewritten(client, people):
    first = _upload(client, people, (f"{CODE}.yaml", YAML_BYTES))
    assert first.status_code == 201 and first.json["items"] == []
    assert _guide(client).json["process"] is None  # no diagram deployed yet
    stamp = _guide(client).json["updated_at"]

    again = _upload(client, people, (f"{CODE}.yml", YAML_BYTES))
    assert again.status_code == 200 and again.json["matters"][0]["created"] is False
    commented = _upload(client, people, (f"{CODE}.yaml", b"# reformatted, same content\n" + _dump(RECORD)))
    assert commented.status_code == 200 and commented.json["matters"][0]["created"] is False
    assert _guide(client).json["updated_at"] == stamp

    changed = _upload(client, people, (f"{CODE}.yaml", _dump({**RECORD, "promised_days": 2})))
    assert changed.status_code == 201 and changed.json["matters"][0]["created"] is True
    assert _guide(client).json["promised_days"] == 2
    listed = client.get("/api/v1/matters", query_string={"keyword": "备案"}).json
    assert listed["total"] == 1


def test_extra_fields_are_kept_in_the_record(client, people):
    response = _upload(client, people, (f"{CODE}.yaml", _dump({**RECORD, "online_depth": "网上预审",
                                                                 "entrusted_department": "无"})))
    assert response.status_code == 201
    assert _guide(client).json["extra"] == {"online_depth": "网上预审", "entrusted_department": "无"}


def test_invalid_record_is_422_naming_file_and_field_and_nothing_is_stored(client, people):
    broken = {k: v for k, v in RECORD.items() if k != "acceptance_conditions"}
    response = _upload(client, people, (f"{CODE}.bpmn", BPMN_BYTES), (f"{CODE}.yaml", _dump(broken)))
    assert response.status_code == 422
    body = response.json
    assert body["code"] == "invalid_matter"
    assert body["details"]["file"] == f"{CODE}.yaml" and body["details"]["field"] == "acceptance_conditions"
    assert f"{CODE}.yaml" in body["message"] and "acceptance_conditions" in body["message"]
    # the diagram of the same upload was not stored either
    assert client.get("/api/v1/process-definitions", headers=people.auth("clerk")).json["total"] == 0
    assert client.get("/api/v1/matters").json["total"] == 0


@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "urgent"}, "kind"),
    ({"type": "行政审批"}, "type"),
    ({"promised_days": "五天"}, "promised_days"),
    ({"promised_days": True}, "promised_days"),
    ({"promised_days": 30}, "promised_days"),
    ({"kind": "joint"}, "co_departments"),
    ({"kind": "reported"}, "higher_authority"),
    ({"co_departments": ["hbj"]}, "co_departments"),
    ({"materials": []}, "materials"),
    ({"materials": [{"originals": 1}]}, "materials[0].name"),
    ({"materials": [{"name": "申请表", "copies": -1}]}, "materials[0].copies"),
    ({"result": {"type": "批文"}}, "result.name"),
    ({"legal_basis": "《条例》"}, "legal_basis"),
    ({"procedure": ["受理", ""]}, "procedure[1]"),
    ({"special_procedures": [{"max_days": 5}]}, "special_procedures[0]"),
    ({"online": "是"}, "online"),
    ({"code": "32021300FG-BA-1"}, "code"),
    ({"code": "32021300FG-BA-0002"}, "code"),   # not the file's name
    ({"type": "行政许可"}, "code"),               # BA in the code, XK by the type
    ({"name": "  "}, "name"),
    # one year: laws in force in 2008, real statutory limits, dates
    ({"statutory_days": 0, "promised_days": 0}, "statutory_days"),           # no statute sets 0 days
    ({"statutory_days": None}, "statutory_days"),
    ({"promised_days": 0}, "promised_days"),                                  # 0 only for 即办件
    ({"statutory_basis": None}, "statutory_basis"),
    ({"statutory_basis": "《中华人民共和国医师法》第十三条"}, "statutory_basis"),
    ({"legal_basis": ["《企业投资项目核准和备案管理条例》第三条"]}, "legal_basis[0]"),   # 2016, known to the table
    ({"legal_basis": [RECORD["legal_basis"][0], "《中华人民共和国城市房地产管理法》（2019年修正）"]}, "legal_basis[1]"),
    ({"legal_basis": ["区人才公寓管理暂行办法"]}, "legal_basis[0]"),                  # no year to tell
    ({"fee_basis": "《关于规范收费的通知》（发改价格〔2015〕1号）"}, "fee_basis"),
    ({"effective_from": None}, "effective_from"),
    ({"effective_from": "2010-01-01"}, "effective_from"),                     # after the catalog's year
    ({"effective_from": "二〇〇八年"}, "effective_from"),
    ({"effective_from": "2003-01-01"}, "effective_from"),                     # before its law (2004)
    ({"cancelled_on": "2008-01-01"}, "cancelled_on"),                         # before it took effect
    ({"cancelled_on": "soon"}, "cancelled_on"),
])
def test_each_kind_of_mistake_names_its_field(client, people, change, field):
    response = _upload(client, people, (f"{CODE}.yaml", _dump({**RECORD, **change})))
    assert response.status_code == 422, response.json
    assert response.json["code"] == "invalid_matter"
    assert response.json["details"]["field"] == field, response.json
    assert response.json["details"]["file"] == f"{CODE}.yaml"
    assert all(set(e) == {"field", "message"} for e in response.json["details"]["errors"])


def test_a_later_law_is_refused_naming_the_year(client, people):
    record = {**RECORD, "legal_basis": ["《政府投资条例》第九条"], "statutory_days": 0, "promised_days": 0,
              "kind": "immediate"}
    response = _upload(client, people, (f"{CODE}.yaml", _dump(record)))
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json["details"]["errors"]}
    assert "2019" in errors["legal_basis[0]"] and "2008" in errors["legal_basis[0]"]
    assert "不能为 0" in errors["statutory_days"]
    assert response.json["details"]["file"] == f"{CODE}.yaml"


def test_a_cancelled_matter_stays_in_the_catalog_and_is_hidden_by_default(client, people):
    from datetime import date

    cancelled = {**RECORD, "cancelled_on": date(2008, 12, 1)}
    assert _upload(client, people, (f"{CODE}.yaml", _dump(cancelled))).status_code == 201
    assert client.get("/api/v1/matters").json["total"] == 0
    listed = client.get("/api/v1/matters", query_string={"state": "cancelled"}).json
    assert [(i["code"], i["state"], i["cancelled_on"]) for i in listed["items"]] == [(CODE, "cancelled", "2008-12-01")]
    assert client.get("/api/v1/matters", query_string={"state": "all"}).json["total"] == 1
    assert _guide(client).json["state"] == "cancelled"  # the guide still answers for it
    assert client.get("/api/v1/matters", query_string={"state": "gone"}).status_code == 422


def test_every_problem_is_listed(client, people):
    broken = {**RECORD, "kind": "urgent", "statutory_days": -1}
    del broken["name"]
    response = _upload(client, people, (f"{CODE}.yaml", _dump(broken)))
    fields = [e["field"] for e in response.json["details"]["errors"]]
    assert fields == ["name", "statutory_days", "kind"]
    assert "另有 2 处问题" in response.json["message"]


def test_yaml_syntax_error_gives_the_line(client, people):
    response = _upload(client, people, (f"{CODE}.yaml", b"code: 32021300FG-BA-0001\nname: [unclosed\n"))
    assert response.status_code == 422
    assert response.json["code"] == "invalid_matter"
    assert response.json["details"]["file"] == f"{CODE}.yaml" and response.json["details"]["line"] >= 2
    not_a_mapping = _upload(client, people, (f"{CODE}.yaml", b"- just\n- a list\n"))
    assert not_a_mapping.status_code == 422 and "YAML mapping" in not_a_mapping.json["message"]


def test_departments_are_checked_once_the_hall_is_seeded(app, client, people):
    from app.people import service as hall

    with app.app_context():
        hall.load_hall(PROCESSES / "hall.yaml")
        db.session.commit()
    unknown = _upload(client, people, (f"{CODE}.yaml", _dump({**RECORD, "department": "xyz"})))
    assert unknown.status_code == 422 and unknown.json["details"]["field"] == "department"
    co = _upload(client, people, (f"{CODE}.yaml", _dump({**RECORD, "kind": "joint", "co_departments": ["nope"]})))
    assert co.json["details"]["field"] == "co_departments[0]"
    letters = _upload(client, people, (f"{CODE}.yaml", _dump({**RECORD, "department": "hbj"})))
    assert letters.json["details"]["field"] == "code" and "HB" in letters.json["message"]
    ok = _upload(client, people, (f"{CODE}.yaml", YAML_BYTES))
    assert ok.status_code == 201
    assert client.get("/api/v1/matters").json["items"][0]["department_name"] == "区发改局"


def test_only_analysts_and_ops_upload(client, people):
    assert _upload(client, people, (f"{CODE}.yaml", YAML_BYTES), as_user="clerk").status_code == 403
    assert _upload(client, people, (f"{CODE}.yaml", YAML_BYTES), as_user="ops").status_code == 201


def test_folder_deploy_names_the_file_and_checks_the_folder(ctx, tmp_path):
    from app.matters import service

    with ctx.app_context():  # direct service calls, as the CLI makes them
        (tmp_path / "hall.yaml").write_text("departments: []\n", encoding="utf-8")  # skipped: not a matter
        (tmp_path / "fgj").mkdir()
        (tmp_path / "fgj" / f"{CODE}.yaml").write_bytes(YAML_BYTES)
        loaded = service.deploy_directory(tmp_path)
        assert [(m.code, created, m.filename) for m, created in loaded] == [(CODE, True, f"fgj/{CODE}.yaml")]
        assert [created for _, created in service.deploy_directory(tmp_path)] == [False]

        (tmp_path / "hbj").mkdir()
        other = {**RECORD, "code": "32021300FG-BA-0002"}
        (tmp_path / "hbj" / "32021300FG-BA-0002.yaml").write_bytes(_dump(other))
        with pytest.raises(Invalid) as caught:
            service.deploy_directory(tmp_path)
        assert caught.value.details["file"] == "hbj/32021300FG-BA-0002.yaml"
        assert caught.value.details["field"] == "department"


def _start(client, people, key="matter_32021300FG_BA_0001", business_key=None):
    return client.post(f"/api/v1/process-definitions/{key}/instances", headers=people.auth("clerk"),
                       json={"data": {}, **({"business_key": business_key} if business_key else {})})


def test_a_cancelled_matter_receives_no_new_case(client, people):
    from datetime import date

    assert _upload(client, people, (f"{CODE}.bpmn", BPMN_BYTES), (f"{CODE}.yaml", YAML_BYTES)).status_code == 201
    running = _start(client, people)
    assert running.status_code == 201, running.json
    cancelled = {**RECORD, "cancelled_on": date(2008, 12, 1)}
    assert _upload(client, people, (f"{CODE}.yaml", _dump(cancelled))).status_code == 201
    refused = _start(client, people)
    assert refused.status_code == 409, refused.json
    assert refused.json["code"] == "matter_not_offered" and "已于 2008-12-01 取消" in refused.json["message"]
    assert refused.json["details"] == {"matter_code": CODE, "state": "cancelled", "date": "2008-12-01"}
    listed = client.get("/api/v1/instances", headers=people.auth("center")).json
    assert [i["id"] for i in listed["items"]] == [running.json["id"]]  # nothing half-started
    # the case received before the cancellation still runs
    assert client.get(f"/api/v1/instances/{running.json['id']}", headers=people.auth("center")).json["state"] == \
        "running"


def test_a_changed_promised_limit_reaches_every_worker_at_once(app, make_app, client, people):
    """Two server processes (two apps on one database): a new case on the one that did not make the change
    gets the new promised limit, with no wait for a cache to expire."""
    from tests.conftest import close_app

    assert _upload(client, people, (f"{CODE}.bpmn", BPMN_BYTES), (f"{CODE}.yaml", YAML_BYTES)).status_code == 201
    other = make_app()
    other.config["CLOCK"] = app.config["CLOCK"]
    other.test_client_class = type(client)
    try:
        worker = other.test_client()
        first = worker.post("/api/v1/process-definitions/matter_32021300FG_BA_0001/instances",
                            json={"data": {}}, headers=people.auth("clerk"))
        assert first.status_code == 201, first.json
        assert first.json["promised_days"] == RECORD["promised_days"]  # the other worker now has it in memory
        longer = {**RECORD, "promised_days": RECORD["promised_days"] + 2}
        assert _upload(client, people, (f"{CODE}.yaml", _dump(longer))).status_code == 201
        second = worker.post("/api/v1/process-definitions/matter_32021300FG_BA_0001/instances",
                             json={"data": {}}, headers=people.auth("clerk"))
        assert second.status_code == 201, second.json
        assert second.json["promised_days"] == RECORD["promised_days"] + 2
        assert second.json["due_date"] > first.json["due_date"]
    finally:
        close_app(other)
