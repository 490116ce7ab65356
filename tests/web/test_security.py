"""The workbench against the attacks of an outside review: redirects that leave the site, a copied session
cookie after sign-out, cookie settings, links and spreadsheet cells that run, tampered forms, framing, error
pages for browsers. Flask's test client (real requests through the app), no browser needed."""

from __future__ import annotations

import csv
import io

import pytest

from tests.web.test_access import KEY, _csrf, signed_in


def _sign_in(client, username: str, next_: str | None = None):
    query = f"/?next={next_}" if next_ is not None else "/"
    token = _csrf(client.get(query).get_data(as_text=True))
    return client.post(query, data={"username": username, "password": "tongban-demo", "csrf_token": token})


@pytest.mark.parametrize("target", ["/%09/evil.example/phish", "//evil.example", "/\\evil.example",
                                    "https://evil.example", "/%0A/evil.example", "%2F%2Fevil.example"])
def test_sign_in_never_redirects_off_the_site(hall, target):
    answer = _sign_in(hall.test_client(), "chenxiaodong", target)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")) and "evil" not in location


def test_sign_in_keeps_a_local_next(hall):
    answer = _sign_in(hall.test_client(), "chenxiaodong", "/board%3Fx%3D1")
    assert answer.headers["Location"] == "/board?x=1"


def test_claim_never_redirects_off_the_site(hall, scene):
    client = signed_in(hall, "chenxiaodong")
    token = _csrf(client.get("/work").get_data(as_text=True))
    answer = client.post(f"/work/tasks/{scene['task']}/claim", data={"csrf_token": token,
                                                                       "back": "https://evil.example/"})
    assert answer.status_code == 302 and "evil" not in answer.headers["Location"]


def test_a_session_cookie_copied_before_sign_out_stops_working(hall):
    client = signed_in(hall, "chenxiaodong")
    cookie = client.get_cookie("session").value
    token = _csrf(client.get("/work").get_data(as_text=True))
    assert client.post("/signout", data={"csrf_token": token}).status_code == 302
    replay = hall.test_client()
    replay.set_cookie("session", cookie)
    answer = replay.get("/work")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/?next=")
    again = signed_in(hall, "chenxiaodong")  # signing in again works
    assert again.get("/work").status_code == 200


def test_the_session_cookie_is_lax_http_only_and_lasts_a_working_day(hall):
    answer = _sign_in(hall.test_client(), "chenxiaodong")
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert hall.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 12 * 3600


def test_pages_may_not_be_framed(hall):
    answer = hall.test_client().get("/guide")
    assert answer.headers["X-Frame-Options"] == "DENY" and answer.headers["X-Content-Type-Options"] == "nosniff"


def test_a_browser_gets_the_error_page_not_json(hall):
    client = signed_in(hall, "chenxiaodong")
    answer = client.get("/work/nope", headers={"Accept": "text/html,application/xhtml+xml"})
    assert answer.status_code == 404 and answer.mimetype == "text/html"
    assert "未找到" in answer.get_data(as_text=True)
    api = client.get("/api/v1/nope", headers={"Accept": "text/html"})
    assert api.mimetype == "application/json"  # the API keeps its JSON errors


def test_a_tampered_row_count_is_no_server_error(hall, scene):
    client = signed_in(hall, "chenxiaodong")
    page = client.get(f"/work/tasks/{scene['task']}").get_data(as_text=True)
    token = _csrf(page)
    answer = client.post(f"/work/tasks/{scene['task']}", data={"csrf_token": token, "f.materials.__rows": "abc",
                                                               "f.outcome": "accept"})
    assert answer.status_code in (200, 302, 422), answer.status_code


def test_a_lifecycle_action_with_a_bad_version_changes_nothing(hall):
    client = signed_in(hall, "xuetao")
    token = _csrf(client.get(f"/processes/{KEY}").get_data(as_text=True))
    for version in ("abc", "v1", "-1", "0"):
        answer = client.post(f"/processes/{KEY}/lifecycle", data={"csrf_token": token, "action": "suspend",
                                                                  "version": version, "reason": "测试"})
        assert answer.status_code == 400, (version, answer.status_code)
    assert "已挂起" not in client.get(f"/processes/{KEY}").get_data(as_text=True)


def test_a_matter_form_link_must_be_a_web_address(hall):
    from app.errors import Invalid
    from app.matters import service as matters

    assert matters.safe_link("https://zwfw.example.gov.cn/forms/a.docx") and matters.safe_link("/forms/a.docx")
    for bad in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "//evil.example/x",
                " javascript:alert(1)", "java\tscript:alert(1)"):
        assert not matters.safe_link(bad), bad
    import yaml

    from tests.web.conftest import ROOT

    record = yaml.safe_load((ROOT / "processes" / "fgj" / "32021300FG-BA-0001.yaml").read_text(encoding="utf-8"))
    record["materials"][0]["form_url"] = "javascript:alert(document.domain)"
    with pytest.raises(Invalid) as refused, hall.app_context():
        matters.validate("32021300FG-BA-0001.yaml", record)
    assert any(e["field"] == "materials[0].form_url" for e in refused.value.details["errors"])


def test_export_cells_never_run_as_formulas(hall):
    from app.web.board import cell

    for text in ("=HYPERLINK(\"http://evil.example\")", "+1", "-1+2", "@SUM(A1)", "\t=1"):
        assert cell(text) == "'" + text
    assert cell(-3) == -3 and cell("发改局") == "发改局"
    client = signed_in(hall, "yanliqun")
    rows = list(csv.reader(io.StringIO(client.get("/board/export.csv?report=matters").get_data(as_text=True))))
    assert rows and all(not c.startswith(("=", "+", "@")) for row in rows for c in row)
