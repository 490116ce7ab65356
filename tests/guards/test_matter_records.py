"""Matter records are plain data of bounded size: YAML aliases, custom tags, dates the calendar does not have,
huge numbers, deep nesting and unknown shapes are a 422 naming the file (never a 500, never gigabytes), and the
public guide serves the declared record — also for a record stored before these limits."""

from __future__ import annotations

import io
import time

import pytest
import yaml

from app.extensions import db
from tests.matters.conftest import PROCESSES

CODE = "32021300FG-BA-0001"
TEXT = (PROCESSES / "fgj" / f"{CODE}.yaml").read_text(encoding="utf-8")
RECORD = yaml.safe_load(TEXT)


def _upload(client, people, content: bytes | str, name: str = f"{CODE}.yaml"):
    data = content.encode() if isinstance(content, str) else content
    return client.post("/api/v1/process-definitions", data={"file": [(io.BytesIO(data), name)]},
                       headers=people.auth("analyst"), content_type="multipart/form-data")


def _dump(record: dict) -> str:
    return yaml.safe_dump(record, allow_unicode=True, sort_keys=False)


def _refused(response, *fragments: str) -> dict:
    assert response.status_code == 422, response.json
    body = response.json
    assert body["code"] == "invalid_matter" and body["details"]["file"] == f"{CODE}.yaml", body
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    return body


def _laughs(levels: int = 9) -> str:
    lines = ['lol0: &l0 ["哈哈哈哈哈哈哈哈"]']
    lines += [f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels + 1)]
    return TEXT + "\n" + "\n".join(lines) + "\n"


def test_aliases_are_refused_at_once_and_nothing_is_stored(client, people):
    text = _laughs()
    assert len(text.encode()) < 6000
    began = time.monotonic()
    body = _refused(_upload(client, people, text), "锚点")
    assert time.monotonic() - began < 2 and body["details"]["line"] > 1
    assert client.get("/api/v1/matters").json["total"] == 0


@pytest.mark.parametrize("value", ["!!binary aGVsbG8=", "!!set {a, b}", "!!omap [{a: 1}]",
                                   "!!python/object/apply:os.system ['id']", "!custom 1", "&anchor 受理"])
def test_tags_and_anchors_beyond_plain_data_are_refused(client, people, value):
    _refused(_upload(client, people, TEXT + f"\nnote_extra: {value}\n"))


@pytest.mark.parametrize(("line", "field"), [
    ("effective_from: 0000-01-01", "effective_from"),
    ("effective_from: 2008-02-30", "effective_from"),
    ("cancelled_on: 10000-01-01", "cancelled_on"),
])
def test_dates_the_calendar_does_not_have_are_field_errors(client, people, line, field):
    lines = [ln for ln in TEXT.splitlines() if not ln.startswith(field + ":")]
    body = _refused(_upload(client, people, "\n".join(lines) + f"\n{line}\n"))
    assert body["details"]["field"] == field


@pytest.mark.parametrize("value", ["1" * 5000, ".inf", "-.nan", "12345678901234567890"])
def test_numbers_out_of_range_are_refused(client, people, value):
    lines = [ln for ln in TEXT.splitlines() if not ln.startswith("visits:")]
    _refused(_upload(client, people, "\n".join(lines) + f"\nvisits: {value}\n"))


def test_deep_nesting_and_large_files_are_refused(client, people):
    _refused(_upload(client, people, TEXT + "\ndeep: " + "[" * 5000 + "]" * 5000 + "\n"), "嵌套")
    _refused(_upload(client, people, TEXT + "\nbig: " + "甲" * 100_000 + "\n"), "过大")


def test_unknown_keys_are_bounded_and_nested_shapes_declared(client, people):
    many = {**RECORD, **{f"extra_{i}": "值" for i in range(21)}}
    _refused(_upload(client, people, _dump(many)), "最多 20 个")
    nested = {**RECORD, "blob": {"a": {"b": [1, 2, 3]}}}
    _refused(_upload(client, people, _dump(nested)), "不能是对象")
    material = {**RECORD, "materials": [{**RECORD["materials"][0], "payload": "x" * 10}]}
    body = _refused(_upload(client, people, _dump(material)))
    assert body["details"]["field"] == "materials[0].payload"
    fine = {**RECORD, "online_depth": "网上预审", "tags": ["投资", "备案"]}
    assert _upload(client, people, _dump(fine)).status_code == 201
    assert client.get(f"/api/v1/matters/{CODE}").json["extra"] == {"online_depth": "网上预审", "tags": ["投资", "备案"]}


def test_the_guide_serves_the_declared_record_of_a_stored_blob(app, client, people):
    from app.matters import service

    assert _upload(client, people, TEXT).status_code == 201
    with app.app_context():  # as a record stored before these limits could be
        from app.matters.models import Matter

        matter = db.session.get(Matter, CODE)
        matter.record = {**service.parse(f"{CODE}.yaml", TEXT.encode()), "blob": [["x" * 1000] * 100] * 50,
                         **{f"k{i}": "v" for i in range(40)}}
        matter.materials = [{**m, "junk": "y" * 10_000} for m in matter.materials]
        db.session.commit()
    response = client.get(f"/api/v1/matters/{CODE}")
    assert response.status_code == 200 and len(response.data) < 20_000, len(response.data)
    body = response.json
    assert "blob" not in body["extra"] and len(body["extra"]) == 20
    assert all("junk" not in m for m in body["materials"])
