"""办件查询 through the API: GET /instances by applicant name, ID number, phone (the applicant's or the agent's),
case number, business key, matter, department, state and day of receipt — finished cases too — within each
role's access, identifiers masked where the caller does not handle the case, and answered from indexes."""

from __future__ import annotations

from datetime import datetime

from app.clock import SHANGHAI
from app.extensions import db
from tests.documents.conftest import APPLICANT, resident_id

FG = "32021300FG-BA-0001"
WS = "32021300WS-XK-0001"


def _ids(body: dict) -> list[str]:
    return [c["id"] for c in body["items"]]


def test_search_by_applicant_id_phone_and_dates(window, clock):
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI))
    fg = window.matter(FG)
    clerk = window.clerk(fg)
    person = {"kind": "person", "name": "张小明", "id_type": "resident_id",
              "id_number": resident_id("32021119800202123"), "phone": "13900002222"}
    first = window.start(fg, applicant=person)
    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=SHANGHAI))
    second = window.start(fg)  # the module's organisation, with its agent
    # finish the first one: refused at acceptance, it is still found
    window.complete(first["id"], "accept", {"outcome": "not_accepted", "reasons": "不属于本部门职权范围"})
    window.complete(first["id"], "not_accepted", {"reasons": "不属于本部门职权范围"})

    def find(**params):
        return window.ok("GET", "/instances", clerk, params=params)

    assert _ids(find(applicant="张小")) == [first["id"]]
    assert _ids(find(id_number=person["id_number"].lower())) == [first["id"]]  # x/X, spaces do not matter
    assert _ids(find(phone="139 0000 2222")) == [first["id"]]
    found = find(id_number=APPLICANT["agent"]["id_number"])  # the agent's ID finds the case too
    assert second["id"] in _ids(found) and first["id"] not in _ids(found)
    assert second["id"] in _ids(find(applicant="李某"))  # the agent's name
    assert _ids(find(case_number=first["case_number"])) == [first["id"]]
    assert set(_ids(find(case_number=first["case_number"][:-4]))) >= {first["id"]}
    assert first["id"] not in _ids(find(case_number=second["case_number"][:-4]))
    done = find(state="completed", matter=FG)
    assert _ids(done) == [first["id"]] and done["items"][0]["applicant"]["name"] == "张小明"
    assert done["items"][0]["applicant"]["id_number"] == person["id_number"]  # the clerk received it: in full
    assert _ids(find(received_from="2026-12-03", applicant="张小")) == []
    assert _ids(find(received_from="2026-12-02", received_to="2026-12-02", department="fgj")) == [first["id"]]
    code, body = window.call("GET", "/instances", clerk, params={"received_from": "2026-12-05",
                                                                 "received_to": "2026-12-01"})
    assert code == 422 and "晚于" in body["message"]
    code, body = window.call("GET", "/instances", clerk, params={"received_from": "20261201"})
    assert code == 422

    # another department's clerk finds nothing of it, by name or by ID
    ws_clerk = window.clerk(window.matter(WS))
    assert window.ok("GET", "/instances", ws_clerk, params={"applicant": "张小明"})["items"] == []
    assert window.ok("GET", "/instances", ws_clerk, params={"id_number": person["id_number"]})["items"] == []
    # ops see every case but identifiers masked: they may not probe by them
    code, body = window.call("GET", "/instances", window.ops, params={"id_number": person["id_number"]})
    assert code == 403 and "运维" in body["message"]
    masked = window.ok("GET", "/instances", window.ops, params={"applicant": "张小明"})["items"][0]
    assert masked["applicant"]["id_number"] != person["id_number"] and "*" in masked["applicant"]["phone"]


def test_search_uses_indexes_not_case_data(window, app):
    """The applicant filters read case_intake through its indexes (SQLite's plan names them)."""
    from flask import g

    from app.hall.window import search
    from app.people.auth import Principal

    with app.test_request_context():
        if db.engine.dialect.name != "sqlite":
            return
        g.user = None
        user = Principal(1, "admin", "管理员", ("admin",), (), None)
        for filters, index in ((search.Filters(id_number="X1"), "ix_case_intake_id_number"),
                               (search.Filters(phone="139"), "ix_case_intake_phone"),
                               (search.Filters(applicant="张"), "ix_case_intake_applicant_name")):
            statement = search.query(user, filters)
            compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = " ".join(str(r[-1]) for r in db.session.execute(db.text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert index in plan, plan
            assert "data" not in str(compiled).split("WHERE", 1)[1]


def test_the_total_is_counted_up_to_a_cap(window, clock, monkeypatch):
    """A busy window's list never counts every case it may see: past the cap the total says "more than"."""
    from app.hall.window import search

    clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI))
    fg = window.matter(FG)
    clerk = window.clerk(fg)
    started = [window.start(fg)["id"] for _ in range(4)]
    seen = window.ok("GET", "/instances", clerk, params={"matter": FG})
    monkeypatch.setattr(search, "COUNT_CAP", seen["total"] - 1)
    capped = window.ok("GET", "/instances", clerk, params={"matter": FG, "limit": 2})
    assert capped["total_capped"] is True and capped["total"] == seen["total"] - 1
    assert len(capped["items"]) == 2 and set(_ids(capped)) <= set(started)
    one = window.ok("GET", "/instances", clerk, params={"matter": FG, "business_key": "-", "limit": 2})
    assert one["total_capped"] is False and one["total"] == 0


def test_pages_follow_one_another_by_keyset(window, clock):
    """`next` of a full page, passed as `after`, gives the following page: the same cases in the same order as
    offset paging, none twice; the last page has no `next`; a cursor not from a page is refused."""
    fg = window.matter(FG)
    clerk = window.clerk(fg)
    for day in (8, 8, 9):  # two cases started at the same moment: the id orders them
        clock.set(datetime(2026, 12, day, 9, 0, tzinfo=SHANGHAI))
        window.start(fg)
    everything = _ids(window.ok("GET", "/instances", clerk, params={"matter": FG, "limit": 500}))
    walked, after = [], None
    while True:
        params = {"matter": FG, "limit": 2, **({"after": after} if after else {})}
        page = window.ok("GET", "/instances", clerk, params=params)
        walked += _ids(page)
        after = page["next"]
        if after is None:
            break
    assert walked == everything and len(set(walked)) == len(walked) >= 3
    code, body = window.call("GET", "/instances", clerk, params={"after": "yesterday,abc"})
    assert code == 422 and "after" in body["message"]


def test_a_total_over_the_cap_for_one_who_only_took_part_is_the_databases_estimate(window, app, monkeypatch):
    """The comprehensive window's clerk sees only the cases they took part in: no index counts those, so on
    PostgreSQL a total past the cap is the planner's estimate (said so); a department's clerk is counted."""
    from app.hall.window import search

    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    monkeypatch.setattr(search, "COUNT_CAP", 0)
    body = window.ok("GET", "/instances", "zhoumin", params={"limit": 1})
    assert body["total_estimated"] is postgres and (body["total_capped"] is True or not postgres)
    clerk = window.clerk(window.matter(FG))
    assert window.ok("GET", "/instances", clerk, params={"limit": 1})["total_estimated"] is False


def test_a_whole_list_found_past_the_cap_is_not_counted_again_for_a_while(window, app, clock, monkeypatch):
    """A department's (or the center's) unfiltered list past the cap says "more than" without counting again for
    CROWDED_FOR; a filtered list, and the same list after that, count as before."""
    import sqlalchemy as sa

    from app.hall.window import search

    clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI))
    fg = window.matter(FG)
    clerk = window.clerk(fg)
    window.start(fg)
    monkeypatch.setattr(search, "COUNT_CAP", 0)
    counted: list[str] = []

    def _seen(conn, cursor, statement, *args):
        if "count(" in statement.lower():
            counted.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", _seen)
    try:
        for user in (clerk, window.ops):
            def listed(**params):
                counted.clear()
                body = window.ok("GET", "/instances", user, params={"limit": 1, **params})  # noqa: B023
                assert body["total_capped"] is True
                return len(counted)

            assert listed() >= 1  # counted, found past the cap
            assert listed() == 0  # remembered
            assert listed(matter=FG) >= 1  # a filter counts
            clock.advance(minutes=6)
            assert listed() >= 1  # and after a while, the whole list again
    finally:
        sa.event.remove(engine, "before_cursor_execute", _seen)
