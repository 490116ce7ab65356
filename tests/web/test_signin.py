"""Sign-in that resists guessing: per-account and per-address lockout counted in the database (every server
process sees the same counts; the app's clock, moved by the test), the demo password changed at first sign-in,
and sessions listed and ended by their person."""

from __future__ import annotations

import re

from app.extensions import db
from tests.web.test_access import _csrf, signed_in


def _try(client, username: str, password: str):
    token = _csrf(client.get("/").get_data(as_text=True))
    return client.post("/", data={"username": username, "password": password, "csrf_token": token})


def test_brute_force_is_locked_out_per_account(hall, clock):
    guesser = hall.test_client()
    codes = [_try(guesser, "chenxiaodong", f"guess-{i}").status_code for i in range(6)]
    assert codes[:4] == [401] * 4 and codes[4:] == [429, 429]  # the fifth failure locks the account
    locked = _try(guesser, "chenxiaodong", "tongban-demo")  # the right password, during the lockout: refused
    assert locked.status_code == 429 and "锁定" in locked.get_data(as_text=True)
    # another browser (another server process would read the same database row) is refused too
    assert _try(hall.test_client(), "chenxiaodong", "tongban-demo").status_code == 429
    # other accounts are not locked by it
    assert _try(hall.test_client(), "wuqian", "tongban-demo").status_code == 302
    clock.advance(minutes=16)  # the window has passed
    assert _try(hall.test_client(), "chenxiaodong", "tongban-demo").status_code == 302
    with hall.app_context():
        from app.audit.models import AuditEntry

        assert db.session.scalar(db.select(db.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "web.signin_locked")) == 1


def test_spraying_many_accounts_from_one_address_is_locked(hall, clock):
    client = hall.test_client()
    names = [f"nobody{i}" for i in range(25)]
    codes = [_try(client, name, "tongban-demo").status_code for name in names]
    assert codes.count(401) == 19 and codes[19:] == [429] * 6
    assert _try(client, "chenxiaodong", "tongban-demo").status_code == 429  # the address, whatever the account


def test_the_demo_password_must_be_changed_at_first_sign_in(hall):
    from app.web.models import WebPassword

    with hall.app_context():
        db.session.execute(db.update(WebPassword).values(demo=True))
        db.session.commit()
    client = hall.test_client()
    answer = _try(client, "chenxiaodong", "tongban-demo")
    assert answer.status_code == 302 and answer.headers["Location"] == "/account/password"
    # nothing else opens until it is changed
    assert client.get("/work").headers["Location"] == "/account/password"
    assert client.get("/cases").status_code == 302
    page = client.get("/account/password").get_data(as_text=True)
    assert "演示密码" in page
    token = _csrf(page)
    refused = client.post("/account/password", data={"old_password": "tongban-demo", "new_password": "tongban-demo",
                                                      "again": "tongban-demo", "csrf_token": token})
    assert refused.status_code == 422
    changed = client.post("/account/password", data={"old_password": "tongban-demo",
                                                      "new_password": "窗口二号-2026", "again": "窗口二号-2026",
                                                      "csrf_token": token})
    assert changed.status_code == 302
    assert client.get("/work").status_code == 200


def test_sessions_are_listed_and_ended_by_their_person(hall):
    office = signed_in(hall, "chenxiaodong")
    home = signed_in(hall, "chenxiaodong")
    page = office.get("/account/sessions").get_data(as_text=True)
    ids = re.findall(r'name="session" value="([0-9a-f]{64})"', page)
    assert len(ids) == 2 and "当前会话" in page
    current = re.search(r'当前会话</span>\s*<form method="post"><input type="hidden" name="csrf_token" value="[^"]+">'
                        r'<input type="hidden" name="session" value="([0-9a-f]{64})"', page).group(1)
    other = next(i for i in ids if i != current)
    answer = office.post("/account/sessions", data={"session": other, "csrf_token": _csrf(page)})
    assert answer.status_code == 302
    assert home.get("/work").status_code == 302  # the other browser is signed out
    assert office.get("/work").status_code == 200
    # someone else's session id ends nothing
    stranger = signed_in(hall, "wuqian")
    token = _csrf(stranger.get("/account/sessions").get_data(as_text=True))
    stranger.post("/account/sessions", data={"session": current, "csrf_token": token})
    assert office.get("/work").status_code == 200
