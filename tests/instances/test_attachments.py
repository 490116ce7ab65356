"""Attachments and comments through the API: type by content (PDF, JPG, PNG, OFD; a renamed text file is refused),
size limit, SHA-256, stored outside the database, downloadable under the case's access (404 for others)."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

FG = "32021300FG-BA-0001"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def ofd() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("OFD.xml", "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>")
        package.writestr("Doc_0/Document.xml", "<ofd:Document/>")
    return out.getvalue()


@pytest.fixture()
def store(app, tmp_path):
    app.config["ATTACHMENTS_DIR"] = str(tmp_path / "files")
    yield tmp_path / "files"
    app.config.pop("ATTACHMENTS_DIR", None)


def _upload(window, case_id, user, content: bytes, name: str, **form):
    response = window.client.post(f"/api/v1/instances/{case_id}/attachments", headers=window.hall.auth(user),
                                  data={"file": (io.BytesIO(content), name), **form},
                                  content_type="multipart/form-data")
    return response.status_code, response.json


def test_attach_by_content_and_download_under_the_cases_access(window, store):
    fg = window.matter(FG)
    clerk = window.clerk(fg)
    case = window.start(fg)
    material = fg.materials[1]["name"]
    code, body = _upload(window, case["id"], clerk, PDF, "营业执照.pdf", material=material, note="扫描件")
    assert code == 201, body
    assert body["content_type"] == "application/pdf" and body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["material"] == material and body["size"] == len(PDF)
    stored = store / body["sha256"][:2] / body["sha256"][2:4] / body["sha256"]
    assert stored.read_bytes() == PDF  # outside the database
    # the name does not decide: a PNG named .pdf is a PNG; a text file named .pdf is refused
    code, body = _upload(window, case["id"], clerk, PNG, "scan.pdf")
    assert code == 201 and body["content_type"] == "image/png" and body["filename"] == "scan.pdf.png"
    code, body = _upload(window, case["id"], clerk, b"not a pdf at all", "fake.pdf")
    assert code == 422 and "PDF" in body["message"]
    assert _upload(window, case["id"], clerk, ofd(), "证照.ofd")[1]["content_type"] == "application/ofd"
    assert _upload(window, case["id"], clerk, b"", "empty.pdf")[0] == 422
    assert _upload(window, case["id"], clerk, PDF, "x.pdf", material="不存在的材料")[0] == 422
    window.app.config["ATTACHMENT_MAX_BYTES"] = 1024
    try:
        code, body = _upload(window, case["id"], clerk, PDF + b"0" * 2048, "big.pdf")
        assert code == 422 and "过大" in body["message"]
        code, _ = _upload(window, case["id"], clerk, PDF + b"0" * 400 * 1024, "bigger.pdf")
        assert code == 413
    finally:
        window.app.config.pop("ATTACHMENT_MAX_BYTES")

    listed = window.ok("GET", f"/instances/{case['id']}/attachments", clerk)["items"]
    assert [a["content_type"] for a in listed] == ["application/pdf", "image/png", "application/ofd"]
    first = listed[0]["id"]
    response = window.client.get(f"/api/v1/attachments/{first}", headers=window.hall.auth(clerk))
    assert response.status_code == 200 and response.data == PDF and response.mimetype == "application/pdf"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    # another department's clerk: 404, as for an attachment that does not exist
    other = window.hall.holder("卫生局受理A岗")
    assert window.client.get(f"/api/v1/attachments/{first}", headers=window.hall.auth(other)).status_code == 404
    assert window.call("GET", f"/instances/{case['id']}/attachments", other)[0] == 404
    assert _upload(window, case["id"], other, PDF, "x.pdf")[0] == 404
    # ops see the case and may download, but attach nothing
    assert _upload(window, case["id"], window.ops, PDF, "x.pdf")[0] == 403
    actions = [e["action"] for e in window.ok("GET", f"/instances/{case['id']}/audit", clerk)["items"]]
    assert actions.count("attachment.added") == 3


def test_comments_in_threads(window, store):
    fg = window.matter(FG)
    clerk = window.clerk(fg)
    case = window.start(fg)
    task = case["tasks"][0]["id"]
    first = window.ok("POST", f"/instances/{case['id']}/comments", clerk,
                      json={"text": "营业执照复印件未盖章", "task_id": task}, status=201)
    boss = window.hall.holder("发改局督查岗")
    reply = window.ok("POST", f"/instances/{case['id']}/comments", boss,
                      json={"text": "请当场补盖", "reply_to": first["id"]}, status=201)
    assert reply["reply_to"] == first["id"]
    assert window.call("POST", f"/instances/{case['id']}/comments", clerk, json={"text": " "})[0] == 422
    assert window.call("POST", f"/instances/{case['id']}/comments", clerk,
                       json={"text": "x", "task_id": "nope"})[0] == 422
    items = window.ok("GET", f"/instances/{case['id']}/comments", clerk)["items"]
    assert [c["text"] for c in items] == ["营业执照复印件未盖章", "请当场补盖"] and items[0]["task_id"] == task
    other = window.hall.holder("卫生局受理A岗")
    assert window.call("GET", f"/instances/{case['id']}/comments", other)[0] == 404
