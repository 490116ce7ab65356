"""Tokens that end: expiry, listing without secrets, revocation by the user and by admin, the admin's bootstrap."""

from __future__ import annotations

import datetime as dt

from app.extensions import db
from app.people import service
from app.people.auth import hash_token, issue_token
from app.people.models import ApiToken, User

API = "/api/v1"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def issue(client, people, username="clerk", **body) -> dict:
    response = client.post(f"{API}/users/{username}/tokens", json=body, headers=people.auth("admin"))
    assert response.status_code == 201, response.json
    return response.json


def test_a_new_token_ends_after_the_default_ttl(client, people, clock, app):
    issued = issue(client, people, label="窗口电脑")
    expires = dt.datetime.fromisoformat(issued["expires_at"])
    assert expires - clock() == dt.timedelta(days=90)
    assert issued["state"] == "active" and issued["token"].startswith("tb_")
    assert client.get(f"{API}/me", headers=bearer(issued["token"])).status_code == 200
    clock.advance(days=90)
    response = client.get(f"{API}/me", headers=bearer(issued["token"]))
    assert response.status_code == 401 and response.json["code"] == "token_expired"
    assert "过期" in response.json["message"]


def test_the_ttl_is_configurable(client, people, clock, app):
    saved = app.config["TOKEN_TTL_DAYS"]
    app.config["TOKEN_TTL_DAYS"] = 7
    try:
        issued = issue(client, people)
    finally:
        app.config["TOKEN_TTL_DAYS"] = saved
    assert dt.datetime.fromisoformat(issued["expires_at"]) - clock() == dt.timedelta(days=7)


def test_expires_in_and_expires_at(client, people, clock):
    short = issue(client, people, expires_in=3600)
    assert dt.datetime.fromisoformat(short["expires_at"]) - clock() == dt.timedelta(hours=1)
    dated = issue(client, people, expires_at="2026-12-31T18:00:00+08:00")
    assert dt.datetime.fromisoformat(dated["expires_at"]) == dt.datetime(2026, 12, 31, 10, tzinfo=dt.UTC)
    never = issue(client, people, never_expires=True)
    assert never["expires_at"] is None
    clock.advance(minutes=59)
    assert client.get(f"{API}/me", headers=bearer(short["token"])).status_code == 200
    clock.advance(minutes=1, seconds=1)  # the principal cache does not outlive the expiry
    assert client.get(f"{API}/me", headers=bearer(short["token"])).status_code == 401
    assert client.get(f"{API}/me", headers=bearer(dated["token"])).status_code == 200
    for body in ({"expires_in": 10}, {"expires_at": "2020-01-01T00:00:00+08:00"},
                 {"expires_in": 3600, "expires_at": "2027-01-01T00:00:00+08:00"},
                 {"never_expires": True, "expires_in": 3600}):
        response = client.post(f"{API}/users/clerk/tokens", json=body, headers=people.auth("admin"))
        assert response.status_code == 422, (body, response.json)


def test_listing_shows_no_secret(client, people):
    issued = issue(client, people, label="第二台电脑")
    mine = client.get(f"{API}/me/tokens", headers=people.auth("clerk"))
    assert mine.status_code == 200
    items = mine.json["items"]
    assert len(items) == 2 and items[0]["id"] == issued["id"] and items[0]["label"] == "第二台电脑"
    assert [i["current"] for i in items] == [False, True]
    text = mine.get_data(as_text=True)
    assert issued["token"] not in text and hash_token(issued["token"]) not in text
    assert set(items[0]) == {"id", "label", "created_at", "expires_at", "revoked", "revoked_at", "revoked_by",
                             "state", "current"}
    by_admin = client.get(f"{API}/users/clerk/tokens", headers=people.auth("admin"))
    assert [i["id"] for i in by_admin.json["items"]] == [i["id"] for i in items]
    assert client.get(f"{API}/users/clerk/tokens", headers=people.auth("clerk")).status_code == 200
    assert client.get(f"{API}/users/clerk/tokens", headers=people.auth("clerk2")).status_code == 403
    assert client.get(f"{API}/users/nobody/tokens", headers=people.auth("admin")).status_code == 404


def test_a_user_revokes_their_own_token_and_it_stops_at_once(client, people):
    issued = issue(client, people)
    assert client.get(f"{API}/me", headers=bearer(issued["token"])).status_code == 200  # now in the cache
    response = client.delete(f"{API}/me/tokens/{issued['id']}", headers=people.auth("clerk"))
    assert response.status_code == 200 and response.json["state"] == "revoked"
    assert response.json["revoked_by"] == "clerk"
    assert client.get(f"{API}/me", headers=bearer(issued["token"])).status_code == 401
    assert client.get(f"{API}/me", headers=people.auth("clerk")).status_code == 200  # the other one still works
    again = client.delete(f"{API}/me/tokens/{issued['id']}", headers=people.auth("clerk"))
    assert again.status_code == 200 and again.json["revoked_by"] == "clerk"


def test_one_cannot_revoke_someone_elses_token(client, people):
    issued = issue(client, people)
    for path in (f"/me/tokens/{issued['id']}", ):
        assert client.delete(f"{API}{path}", headers=people.auth("clerk2")).status_code == 404
    assert client.delete(f"{API}/users/clerk/tokens/{issued['id']}", headers=people.auth("clerk2")).status_code == 403
    assert client.delete(f"{API}/users/clerk2/tokens/{issued['id']}", headers=people.auth("admin")).status_code == 404
    assert client.get(f"{API}/me", headers=bearer(issued["token"])).status_code == 200


def test_admin_revokes_anyones_token(client, people):
    issued = issue(client, people)
    response = client.delete(f"{API}/users/clerk/tokens/{issued['id']}", headers=people.auth("admin"))
    assert response.status_code == 200 and response.json["revoked_by"] == "admin"
    assert client.get(f"{API}/me", headers=bearer(issued["token"])).status_code == 401


def test_revoking_the_token_of_the_request_itself(client, people):
    current = next(i for i in client.get(f"{API}/me/tokens", headers=people.auth("clerk")).json["items"]
                   if i["current"])
    assert client.delete(f"{API}/me/tokens/{current['id']}", headers=people.auth("clerk")).status_code == 200
    assert client.get(f"{API}/me", headers=people.auth("clerk")).status_code == 401


def test_another_process_refuses_a_revoked_token_at_once(app, make_app, client, people):
    """A revocation made by another server process (another app on the database): this one, which has the token
    in memory, refuses it on the very next request."""
    from tests.conftest import close_app

    issued = issue(client, people)
    assert client.get(f"{API}/me", headers=bearer(issued["token"])).status_code == 200  # now in this app's memory
    other = make_app()
    other.test_client_class = type(client)
    try:
        revoked = other.test_client().delete(f"{API}/users/clerk/tokens/{issued['id']}", headers=people.auth("admin"))
        assert revoked.status_code == 200, revoked.json
    finally:
        close_app(other)
    assert client.get(f"{API}/me", headers=bearer(issued["token"])).status_code == 401
    assert client.get(f"{API}/me", headers=people.auth("clerk")).status_code == 200  # the clerk's other token works


def test_a_role_removed_on_another_process_applies_at_once(app, make_app, client, people):
    from app.people import service
    from tests.conftest import close_app

    assert client.get("/api/v1/supervision/warnings", headers=people.auth("boss")).status_code == 200
    other = make_app()
    try:
        with other.app_context():
            service.upsert_user("boss", "督查员", ["clerk"], ["测试督查岗"])
            db.session.commit()
    finally:
        close_app(other)
    assert client.get("/api/v1/supervision/warnings", headers=people.auth("boss")).status_code == 403


def test_ensure_admin_mints_only_when_no_valid_token(ctx, clock):
    with ctx.app_context():
        admin, first = service.ensure_admin(None)
        db.session.commit()
        assert first is not None
        _, again = service.ensure_admin(None)
        db.session.commit()
        assert again is None  # a restart mints nothing new
        assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken)) == 1
        clock.advance(days=91)  # the bootstrap token has expired: a new one
        _, later = service.ensure_admin(None)
        db.session.commit()
        assert later is not None and later != first


def test_the_configured_admin_token_is_registered_without_expiry(ctx, clock):
    with ctx.app_context():
        admin, token = service.ensure_admin("tb_configured_admin")
        db.session.commit()
        assert token == "tb_configured_admin"
        row = db.session.scalar(db.select(ApiToken).filter_by(token_hash=hash_token(token)))
        assert row.expires_at is None and row.user_id == admin.id
        service.ensure_admin("tb_configured_admin")
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken)) == 1
        row.revoked = True  # a revoked configured token stays revoked on restart
        db.session.commit()
        service.ensure_admin("tb_configured_admin")
        db.session.commit()
        assert db.session.get(ApiToken, row.id).revoked


def test_bootstrap_prints_the_token_only_when_it_mints_one(app, ctx, monkeypatch):
    monkeypatch.delenv("TONGBAN_ADMIN_TOKEN", raising=False)
    runner = app.test_cli_runner()  # each command in an app context of its own, as `flask bootstrap` runs
    first = runner.invoke(args=["bootstrap"], env={"TONGBAN_ADMIN_TOKEN": ""}, catch_exceptions=False)
    assert "admin token: tb_" in first.output
    second = runner.invoke(args=["bootstrap"], env={"TONGBAN_ADMIN_TOKEN": ""}, catch_exceptions=False)
    assert "tb_" not in second.output and "unchanged" in second.output
    configured = runner.invoke(args=["bootstrap"], env={"TONGBAN_ADMIN_TOKEN": "tb_from_env"},
                               catch_exceptions=False)
    assert "from TONGBAN_ADMIN_TOKEN" in configured.output
    with app.app_context():
        assert db.session.scalar(db.select(ApiToken.id).filter_by(token_hash=hash_token("tb_from_env"))) is not None


def test_issue_token_keeps_its_old_signature(ctx):
    with ctx.app_context():
        user = service.upsert_user("plain", "普通", ["clerk"])
        token = issue_token(user)
        row = db.session.scalar(db.select(ApiToken).filter_by(token_hash=hash_token(token)))
        assert row.expires_at is not None and db.session.get(User, row.user_id).username == "plain"
