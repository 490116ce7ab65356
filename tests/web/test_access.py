"""The workbench's pages × people: who may open what (the API's own rules), sign-in and sign-out, CSRF on every
page POST, and the API untouched (bearer tokens, no CSRF). Flask's test client: no browser needed here."""

from __future__ import annotations

import re

import pytest

from app.extensions import db

KEY = "matter_32021300FG_BA_0001"
CODE = "32021300FG-BA-0001"
PEOPLE = ("anonymous", "chenxiaodong", "wangfang", "zhaolixin", "yanliqun", "youjia", "xuetao", "admin")
SIGNIN = "signin"  # redirected to the sign-in form
OK = 200


def _row(default, **cells):
    expected = {p: default for p in PEOPLE}
    expected["anonymous"] = SIGNIN
    expected.update(cells)
    return expected


# (method, rule) -> expected per person (GET pages; POSTs are checked by the flows below and by the browser tests)
PAGES = {
    ("GET", "/"): (lambda s: "/", _row("start", anonymous=OK)),
    ("GET", "/work"): (lambda s: "/work", _row(OK)),
    ("GET", "/work/start"): (lambda s: f"/work/start?matter={CODE}", _row(OK, youjia=403)),
    ("GET", "/work/absences"): (lambda s: "/work/absences", _row(403, zhaolixin=OK, yanliqun=OK, admin=OK)),
    ("GET", "/cases"): (lambda s: "/cases?applicant=某公司", _row(OK)),
    ("GET", "/work/applicants"): (lambda s: "/work/applicants?q=某公司", _row(OK, youjia=403)),
    ("GET", "/board"): (lambda s: "/board", _row(OK, chenxiaodong=403, wangfang=403, youjia=403)),
    ("GET", "/board/export.csv"): (lambda s: "/board/export.csv?report=windows",
                                   _row(OK, chenxiaodong=403, wangfang=403, youjia=403)),
    ("GET", "/board/export.xlsx"): (lambda s: "/board/export.xlsx", _row(OK, chenxiaodong=403, wangfang=403,
                                                                          youjia=403)),
    ("GET", "/processes"): (lambda s: "/processes", _row(OK)),
    ("GET", "/processes/<key>"): (lambda s: f"/processes/{KEY}", _row(OK)),
    ("GET", "/processes/<key>/xml"): (lambda s: f"/processes/{KEY}/xml", _row(OK)),
    ("GET", "/modeler"): (lambda s: "/modeler", _row(302, chenxiaodong=403, wangfang=403, zhaolixin=403,
                                                      yanliqun=403)),
    ("GET", "/modeler/<key>"): (lambda s: f"/modeler/{KEY}", _row(OK, chenxiaodong=403, wangfang=403,
                                                                   zhaolixin=403, yanliqun=403)),
    ("GET", "/guide"): (lambda s: "/guide", _row(OK, anonymous=OK)),
    ("GET", "/guide/matters/<code>"): (lambda s: f"/guide/matters/{CODE}", _row(OK, anonymous=OK)),
    ("GET", "/guide/status"): (lambda s: "/guide/status", _row(OK, anonymous=OK)),
    ("GET", "/account/password"): (lambda s: "/account/password", _row(OK)),
    ("GET", "/account/sessions"): (lambda s: "/account/sessions", _row(OK)),
    # a case of 发改局: 卫生局's clerk gets 404, as from the API
    ("GET", "/cases/<instance_id>"): (lambda s: f"/cases/{s['case']}", _row(OK, wangfang=404, youjia=404)),
    ("GET", "/work/tasks/<task_id>"): (lambda s: f"/work/tasks/{s['task']}", _row(OK, wangfang=404, youjia=404)),
    ("GET", "/cases/<instance_id>/documents/<int:document_id>.pdf"): (
        lambda s: f"/cases/{s['case']}/documents/{s['receipt']}.pdf", _row(OK, wangfang=404, youjia=404)),
    ("GET", "/cases/<instance_id>/attachments/<int:attachment_id>"): (
        lambda s: f"/cases/{s['case']}/attachments/{s['attachment']}", _row(OK, wangfang=404, youjia=404)),
    ("GET", "/vendor/<package>/<path:filename>"): (lambda s: "/vendor/echarts/echarts.min.js",
                                                   _row(OK, anonymous=OK)),
    ("GET", "/web-static/<path:filename>"): (lambda s: "/web-static/workbench.css", _row(OK, anonymous=OK)),
}
POSTS = {("POST", r) for r in ("/", "/signout", "/account/password", "/account/sessions", "/work/tasks/<task_id>/claim",
                               "/work/tasks/<task_id>/unclaim", "/work/tasks/<task_id>", "/work/start",
                               "/processes/<key>/lifecycle", "/processes/<key>/validate", "/modeler/<key>/check",
                               "/modeler/<key>/deploy", "/guide/status", "/board/warnings/<int:warning_id>/close",
                               "/cases/<instance_id>/extend", "/work/tasks/<task_id>/reassign",
                               "/cases/<instance_id>/applicant", "/cases/<instance_id>/withdraw",
                               "/cases/<instance_id>/query-code", "/cases/<instance_id>/attachments",
                               "/cases/<instance_id>/comments", "/work/absences",
                               "/work/absences/<int:absence_id>/end", "/work/tasks/<task_id>/send-back",
                               "/work/tasks/<task_id>/take-back")}


def _csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def signed_in(app, username: str):
    client = app.test_client()
    if username != "anonymous":
        token = _csrf(client.get("/").get_data(as_text=True))
        answer = client.post("/", data={"username": username, "password": "tongban-demo", "csrf_token": token})
        assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return client


def test_every_page_has_a_row(app):
    pages = {(m, r.rule) for r in app.url_map.iter_rules() if r.endpoint.startswith("web.")
             for m in r.methods - {"HEAD", "OPTIONS"}}
    assert pages == set(PAGES) | POSTS


@pytest.mark.parametrize("person", PEOPLE)
def test_pages(hall, scene, person):
    client = signed_in(hall, person)
    wrong = {}
    for (_method, rule), (path, expected) in PAGES.items():
        answer = client.get(path(scene))
        want = expected[person]
        if want == SIGNIN:
            ok = answer.status_code == 302 and "/?next=" in answer.headers["Location"]
        elif want == "start":
            ok = answer.status_code == 302
        else:
            ok = answer.status_code == want
        if not ok:
            wrong[rule] = (want, answer.status_code)
    assert not wrong, wrong


def test_start_pages_by_role(hall):
    for username, page in (("chenxiaodong", "/work"), ("zhaolixin", "/board"), ("yanliqun", "/board"),
                           ("youjia", "/processes"), ("xuetao", "/processes")):
        assert signed_in(hall, username).get("/").headers["Location"].endswith(page), username


def test_a_wrong_password_and_sign_out(hall):
    client = hall.test_client()
    token = _csrf(client.get("/").get_data(as_text=True))
    assert client.post("/", data={"username": "chenxiaodong", "password": "wrong", "csrf_token": token}) \
        .status_code == 401
    assert client.post("/", data={"username": "nobody", "password": "tongban-demo", "csrf_token": token}) \
        .status_code == 401
    client = signed_in(hall, "chenxiaodong")
    token = _csrf(client.get("/work").get_data(as_text=True))
    assert client.post("/signout", data={"csrf_token": token}).status_code == 302
    assert client.get("/work").status_code == 302


def test_page_posts_need_the_csrf_token_and_the_api_does_not(hall, scene):
    client = signed_in(hall, "chenxiaodong")
    answer = client.post(f"/work/tasks/{scene['task']}/claim")
    assert answer.status_code == 400 and "CSRF" in answer.get_data(as_text=True)
    token = _csrf(client.get("/work").get_data(as_text=True))
    assert client.post(f"/work/tasks/{scene['task']}/claim", data={"csrf_token": token}).status_code == 302
    # the API: bearer tokens, no cookies, no CSRF token
    from app.people.auth import issue_token
    from app.people.models import User

    with hall.app_context():
        token = issue_token(db.session.scalar(db.select(User).filter_by(username="chenxiaodong")))
        db.session.commit()
    api = hall.test_client()
    answer = api.post(f"/api/v1/tasks/{scene['task']}/unclaim", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.json
    # and a session cookie alone does not open the API
    assert client.get("/api/v1/tasks").status_code == 401


def test_a_changed_password_ends_other_sessions(hall):
    first = signed_in(hall, "chenxiaodong")
    second = signed_in(hall, "chenxiaodong")
    token = _csrf(first.get("/account/password").get_data(as_text=True))
    answer = first.post("/account/password", data={"old_password": "tongban-demo", "new_password": "neues-passwort-1",
                                                    "again": "neues-passwort-1", "csrf_token": token})
    assert answer.status_code == 302
    assert first.get("/work").status_code == 200
    assert second.get("/work").status_code == 302  # signed out
