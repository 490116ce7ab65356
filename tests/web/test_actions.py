"""The case-status lookup, notices on case pages, the board's clerk table and Excel export, and supervisors' actions
(close a warning, 延期, 改派) with their refusals shown in place — Flask's test client, the demo hall."""

from __future__ import annotations

import io
import re

import pytest

from app.extensions import db
from tests.documents.conftest import pdf_text
from tests.web.test_access import _csrf, signed_in

GENERIC = "办件编号或查询码不正确，请核对收件凭证后重新输入"


def form_post(client, page: str, action: str, **data):
    """POST a page's form as a browser would: with the CSRF token of the page it sits on."""
    token = _csrf(client.get(page).get_data(as_text=True))
    return client.post(action, data={**data, "csrf_token": token})


def text(answer) -> str:
    return answer.get_data(as_text=True)


# -- the public case-status lookup -------------------------------------------------------------------------------
def test_the_status_lookup_shows_progress_and_no_personal_data(hall, scene):
    from app.definitions import service as definitions
    from app.instances import service as instances

    with hall.app_context():  # a case with an applicant recorded in full: none of it may show
        _, saved = instances.start(
            definitions.startable(scene["key"]), {"applicant": "无锡某某科技有限公司", "applicant_phone": "13812345678"},
            None, "chenxiaodong", applicant={"kind": "person", "name": "张三", "id_type": "resident_id",
                                             "id_number": "11010519491231002X", "phone": "13912345678"})
        number, code = saved.answer["case_number"], saved.answer["query_code"]
        db.session.remove()
    public = hall.test_client()
    answer = form_post(public, "/guide/status", "/guide/status", case_number=number, query_code=code.lower())
    page = text(answer)
    assert answer.status_code == 200, page[:2000]
    result = page[page.index('data-testid="status-result"'):]
    for shown in ("企业投资项目备案", "已收件，待受理审查", "2026-11-25", "2026-11-30", "受理", "收件凭证", number):
        assert shown in result, shown
    for secret in ("张三", "11010519491231002X", "13912345678", "无锡某某科技有限公司", "13812345678", code):
        assert secret not in page, secret

    # a wrong code and an unknown number: the same message and status, nothing learnt
    wrong = form_post(public, "/guide/status", "/guide/status", case_number=number, query_code="AAAA-BBBB-CC")
    unknown = form_post(public, "/guide/status", "/guide/status", case_number="32021300FG209901010001",
                        query_code=code)
    for refused in (wrong, unknown):
        assert refused.status_code == 404 and GENERIC in text(refused) and "status-result" not in text(refused)
    assert form_post(public, "/guide/status", "/guide/status", case_number="", query_code="").status_code == 422
    # CSRF stays on the form
    assert public.post("/guide/status", data={"case_number": number, "query_code": code}).status_code == 400


def test_the_status_of_a_closed_case_shows_its_outcome(hall, scene):
    from app.hall.models import HallCase
    from app.instances.models import ProcessInstance

    with hall.app_context():
        case = db.session.get(ProcessInstance, scene["case"])
        case.state = "completed"
        hall_case = db.session.get(HallCase, scene["case"])
        hall_case.outcome, hall_case.is_open = "granted", False
        db.session.commit()
        db.session.remove()
    answer = form_post(hall.test_client(), "/guide/status", "/guide/status", case_number=scene["case_number"],
                       query_code=scene["query_code"])
    result = text(answer)[text(answer).index('data-testid="status-result"'):]
    assert "已办结（准予）" in result and 'data-status="outcome">准予' in result


# -- notices on case pages ---------------------------------------------------------------------------------------
def test_case_pages_list_the_notices_and_download_them(hall, scene):
    clerk = signed_in(hall, "chenxiaodong")
    page = text(clerk.get(f"/cases/{scene['case']}"))
    assert "待接入" not in page and "data-slot" not in page
    row = re.search(r'<tr data-document="receipt">(.*?)</tr>', page, re.S).group(1)
    assert "收件凭证" in row and "发改局收〔2026〕" in row and "2026-11-25" in row
    link = f"/cases/{scene['case']}/documents/{scene['receipt']}.pdf"
    assert link in row
    pdf = clerk.get(link)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert scene["query_code"] not in pdf_text(pdf.data) and scene["case_number"] in pdf_text(pdf.data)
    # the link right after 收件 carries the code: the receipt prints it only when it checks
    assert scene["query_code"] in pdf_text(clerk.get(f"{link}?query_code={scene['query_code']}").data)
    assert "AAAA-BBBB-CC" not in pdf_text(clerk.get(f"{link}?query_code=AAAA-BBBB-CC").data)
    assert 'data-document="receipt"' in text(clerk.get(f"/work/tasks/{scene['task']}"))  # the task page too
    # another case's address for this notice, another department's clerk, nobody signed in
    assert clerk.get(f"/cases/{'0' * 32}/documents/{scene['receipt']}.pdf").status_code == 404
    assert signed_in(hall, "wangfang").get(link).status_code == 404
    assert hall.test_client().get(link).status_code == 302


# -- the board: clerks and Excel -----------------------------------------------------------------------------------
def test_the_board_shows_clerks_to_supervisors_only(hall, scene):
    board = text(signed_in(hall, "zhaolixin").get("/board"))
    row = re.search(r'<tr data-clerk="chenxiaodong">(.*?)</tr>', board, re.S).group(1)
    assert "陈晓东" in row and "区发改局" in row and "2号" in row
    assert 'data-export-xlsx="clerks"' in board
    ops = text(signed_in(hall, "xuetao").get("/board"))
    assert 'data-testid="clerks"' not in ops and 'data-export-xlsx="clerks"' not in ops
    assert signed_in(hall, "xuetao").get("/board/export.xlsx?report=clerks").status_code == 403


def test_the_excel_export_opens_with_chinese_headers(hall, scene):
    from openpyxl import load_workbook

    answer = signed_in(hall, "zhaolixin").get("/board/export.xlsx")
    assert answer.status_code == 200
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "tongban-all-2026-11-01-2026-11-30.xlsx" in answer.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(answer.data))
    assert book.sheetnames == ["部门", "窗口", "事项", "人员", "提速"]
    departments = [[c.value for c in r] for r in book["部门"].iter_rows()]
    assert departments[0][:4] == ["部门编码", "部门", "收件", "办结"]
    assert [r[0] for r in departments[1:]] == ["fgj"]  # 发改局's supervisor: 发改局's figures only
    fgj = departments[1]
    assert fgj[1] == "区发改局" and fgj[2] == 1  # a number, not text
    speed_up = [[c.value for c in r] for r in book["提速"].iter_rows()]
    assert speed_up[0][:5] == ["事项编码", "事项", "部门", "原承诺时限(工作日)", "现承诺时限(工作日)"]
    assert speed_up[-1][1] == "合计（本人督查部门）"  # no limit changed: the total row alone
    clerks = [[c.value for c in r] for r in book["人员"].iter_rows()]
    assert clerks[0][:3] == ["用户名", "姓名", "部门"]
    assert next(r for r in clerks if r[0] == "chenxiaodong")[5] == 1  # 收件

    one = signed_in(hall, "xuetao").get("/board/export.xlsx?report=windows&from=2026-11-01&to=2026-11-30")
    assert load_workbook(io.BytesIO(one.data)).sheetnames == ["窗口"]
    assert signed_in(hall, "xuetao").get("/board/export.xlsx").status_code == 200  # ops: without 人员
    assert signed_in(hall, "zhaolixin").get("/board/export.xlsx?report=nope").status_code == 400
    csv = signed_in(hall, "zhaolixin").get("/board/export.csv?report=clerks").get_data(as_text=True)
    assert csv.lstrip("\ufeff").startswith("用户名,姓名,部门,窗口,岗位,收件") and "陈晓东" in csv


# -- supervisors' actions ----------------------------------------------------------------------------------------
@pytest.fixture()
def warning(hall, scene) -> int:
    from app.clock import now
    from app.hall.supervision.models import SupervisionWarning

    with hall.app_context():
        row = SupervisionWarning(instance_id=scene["case"], kind="case_yellow", level="yellow", department_code="fgj",
                                 post="发改局督查岗", message="办件即将到期", raised_at=now(), state="open")
        db.session.add(row)
        db.session.commit()
        warning_id = row.id
        db.session.remove()
    return warning_id


def test_closing_a_warning_on_the_board(hall, warning):
    boss = signed_in(hall, "zhaolixin")
    action = f"/board/warnings/{warning}/close"
    empty = form_post(boss, "/board", action, note="  ")
    assert empty.status_code == 422
    assert re.search(rf'data-error-for="warning-{warning}">请填写处理说明', text(empty))  # in its row
    # 卫生局's supervisor: not their warning (404, as from the API), shown on the board
    other = form_post(signed_in(hall, "xieming"), "/board", action, note="已督办")
    assert other.status_code == 404 and f"预警 {warning} 不存在" in text(other)
    assert form_post(signed_in(hall, "chenxiaodong"), "/work", action, note="x").status_code == 403

    done = form_post(boss, "/board?level=yellow", f"{action}?level=yellow", note="已电话督办，承办人今日办结")
    assert done.status_code == 302 and done.headers["Location"].endswith("/board?level=yellow")
    board = text(boss.get("/board"))
    assert "预警已关闭" in board and f'data-warning="{warning}"' not in board
    again = form_post(boss, "/board", action, note="再次关闭")
    assert again.status_code == 409 and "预警已于" in text(again) and "关闭" in text(again)


def test_extending_a_case_on_its_page(hall, scene):
    # the department's head (负责人岗) approves a 延期; its supervisor sees no form for it
    boss = signed_in(hall, "liguohua")
    page = f"/cases/{scene['case']}"
    assert 'data-action="extend"' in text(boss.get(page))
    assert 'data-action="extend"' not in text(signed_in(hall, "zhaolixin").get(page))
    assert 'data-testid="supervise"' not in text(signed_in(hall, "chenxiaodong").get(page))
    empty = form_post(boss, page, f"{page}/extend", reason="")
    assert empty.status_code == 422 and 'data-error-for="extend">请填写延期理由' in text(empty)
    done = form_post(boss, page, f"{page}/extend", reason="需现场核查")
    assert done.status_code == 302
    after = text(boss.get(page))
    assert "已延期 10 个工作日" in after and "需现场核查" in after and 'data-action="extend"' not in after
    # the form is gone; a second try (another tab) is refused by the service, in place
    again = form_post(boss, page, f"{page}/extend", reason="再延")
    assert again.status_code == 409 and "办件已延期一次" in text(again)
    assert form_post(signed_in(hall, "xieming"), "/board", f"{page}/extend", reason="x").status_code == 404


def test_reassigning_a_task_on_the_case_page(hall, scene):
    boss = signed_in(hall, "zhaolixin")
    page = f"/cases/{scene['case']}"
    action = f"/work/tasks/{scene['task']}/reassign"
    form = text(boss.get(page))
    assert 'value="user:wuqian"' in form and 'value="post:发改局受理B岗"' in form
    # someone not at the task's post: the service's message, in place, with the choice kept
    refused = form_post(boss, page, action, to="user:huangzhiming", reason="临时顶岗")
    assert refused.status_code == 422
    assert re.search(rf'data-error-for="reassign-{scene["task"]}">黄志明（huangzhiming）不在岗位', text(refused))
    assert 'value="临时顶岗"' in text(refused)
    assert form_post(boss, page, action, to="", reason="x").status_code == 422
    assert "请填写改派理由" in text(form_post(boss, page, action, to="user:wuqian", reason=""))

    done = form_post(boss, page, action, to="user:wuqian", reason="陈晓东外出培训")
    assert done.status_code == 302
    assert "已将「受理」改派给 wuqian" in text(boss.get(page))
    assert "改派" in text(boss.get(page))  # the step list shows it
    moved = form_post(boss, page, action, to="post:发改局受理B岗", reason="退回备岗")
    assert moved.status_code == 302 and "改派到岗位「发改局受理B岗」" in text(boss.get(page))
    # a clerk may not (the API's roles)
    assert form_post(signed_in(hall, "chenxiaodong"), "/work", action, to="user:wuqian", reason="x").status_code == 403
