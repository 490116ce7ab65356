"""The workbench in a real browser: Playwright for Python driving Debian's chromium (headless) against the app
behind a real HTTP server (tests/conftest.py's live_server). Screenshots of every page go to test-artifacts/web/
(git-ignored; TONGBAN_ARTIFACTS=... for another folder)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from app.extensions import db
from tests.conftest import ROOT

CHROMIUM = os.environ.get("TONGBAN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--lang=zh-CN", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
PASSWORD = "tongban-demo"  # the demo password; the hall fixture marks it changed
MATTERS = ("fgj/32021300FG-BA-0001",)  # 企业投资项目备案: 受理 → 审核 → 审批决定 → 送达
KEY = "matter_32021300FG_BA_0001"
SCANNED_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("TONGBAN_ARTIFACTS") or ROOT / "test-artifacts" / "web")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (.ci/run installs it with apt)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                                    headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def hall(ctx):
    """The demo hall (processes/hall.yaml), every form, one matter deployed, and demo passwords."""
    from app.definitions import flows
    from app.forms import service as forms
    from app.people import service as people
    from app.web import passwords

    hall_file = ROOT / "processes" / "hall.yaml"
    with ctx.app_context():  # seeded as bootstrap does: an app context of its own, no context held afterwards
        people.load_hall(hall_file)
        db.session.commit()
        forms.deploy_directory(ROOT / "forms")
        uploads = []
        for name in MATTERS:
            for suffix in (".bpmn", ".yaml"):
                path = ROOT / "processes" / f"{name}{suffix}"
                uploads.append(flows.Upload(path.name, path.read_bytes()))
        flows.deploy(uploads, "system", source="bootstrap")
        passwords.seed_demo(hall_file)
        # as after everyone's first sign-in: the demo password kept, but no longer marked as the shared one
        # (tests/web/test_signin.py checks the forced change on a fresh seed)
        from app.web.models import WebPassword

        db.session.execute(db.update(WebPassword).values(demo=False))
        db.session.commit()
        db.session.remove()
    return ctx


@pytest.fixture()
def scene(hall):
    """A case of 发改局 received by chenxiaodong (committed): its id, first task, receipt, query code and number."""
    from app.definitions import service as definitions
    from app.hall.documents import service as documents
    from app.instances import service as instances

    with hall.app_context():  # a case started at the window, as a request would: committed
        instance, saved = instances.start(definitions.startable(KEY), {"applicant": "某公司"}, None, "chenxiaodong")
        scene = {"key": KEY, "case": instance.id, "task": saved.new_tasks[0]["id"],
                 "receipt": documents.for_instance(instance.id)[0].id, "query_code": saved.answer["query_code"],
                 "case_number": saved.answer["case_number"]}
        db.session.remove()
    with hall.test_request_context():  # a scanned material on it, as the clerk would attach it
        from app.hall.attachments import service as attachments
        from app.people.models import User
        from app.web.blueprint import principal_of

        clerk = principal_of(db.session.scalar(db.select(User).filter_by(username="chenxiaodong")))
        scene["attachment"] = attachments.attach(clerk, instance.id, "营业执照.pdf", SCANNED_PDF).id
        db.session.remove()
    return scene


@pytest.fixture()
def new_page(browser, live_server, artifacts):
    """Pages in their own browser contexts (one per person), at a window clerk's 1366×768."""
    contexts = []

    def make(width: int = 1366, height: int = 768):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                      timezone_id="Asia/Shanghai", base_url=live_server)
        context.set_default_timeout(15000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def shot(page, artifacts: Path, name: str, full_page: bool = False) -> Path:
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


USCC = "91320211MA1P8K2T0A"  # a valid 统一社会信用代码 (GB 32100 check character)


def fill_applicant(page, *, kind: str = "organisation", name: str, id_type: str, id_number: str, phone: str,
                   address: str | None = None, legal_representative: str | None = None,
                   agent: dict | None = None) -> None:
    """The 窗口收件 page's applicant fields, as a clerk types them."""
    page.select_option("select[name='applicant.kind']", kind)
    page.fill("input[name='applicant.name']", name)
    page.select_option("select[name='applicant.id_type']", id_type)
    page.fill("input[name='applicant.id_number']", id_number)
    page.fill("input[name='applicant.phone']", phone)
    if address is not None:
        page.fill("input[name='applicant.address']", address)
    if legal_representative is not None:
        page.fill("input[name='applicant.legal_representative']", legal_representative)
    if agent:
        page.check("[data-has-agent]")
        page.fill("input[name='applicant.agent.name']", agent["name"])
        page.select_option("select[name='applicant.agent.id_type']", agent["id_type"])
        page.fill("input[name='applicant.agent.id_number']", agent["id_number"])
        page.fill("input[name='applicant.agent.phone']", agent["phone"])
