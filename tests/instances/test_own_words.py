"""Each step starts from its own words: the acceptance checklist from what the window received (required materials
marked, counts as recorded), 补正核验 from the notice's list, and never another step's opinion; the receipt lists
what was received, not the matter's list."""

from __future__ import annotations

FG = "32021300FG-BA-0001"


def _task(window, case_id: str, element: str) -> dict:
    task = window.task(case_id, element)
    return window.ok("GET", f"/tasks/{task['id']}", window.hall.holder(task["post"]))


def test_prefill_is_each_steps_own(window):
    fg = window.matter(FG)
    names = [m["name"] for m in fg.materials]
    at_intake = [{"name": names[0], "received": True, "originals": 2, "copies": 0},
                 {"name": names[1], "received": True, "originals": 0, "copies": 3},
                 {"name": names[2], "received": False, "originals": 1, "copies": 0}]
    case = window.start(fg, data={"applicant": "某公司", "materials": at_intake})

    # the receipt lists what was received, with the counts
    receipt = window.ok("GET", f"/documents/{window.documents(case['id'])[0]['id']}", window.clerk(fg))
    assert receipt["data"]["received_materials"] == [{"name": names[0], "originals": 2, "copies": 0},
                                                     {"name": names[1], "originals": 0, "copies": 3}]
    assert "required_materials" not in receipt["data"]

    checklist = {m["name"]: m for m in _task(window, case["id"], "accept")["prefill"]["materials"]}
    assert [m["name"] for m in checklist.values()] == names
    assert checklist[names[0]]["received"] is True and checklist[names[0]]["originals"] == 2
    assert checklist[names[1]]["copies"] == 3 and checklist[names[2]]["received"] is False
    assert checklist[names[3]]["required"] is True and checklist[names[4]]["required"] is False
    assert checklist[names[4]]["originals"] == fg.materials[4]["originals"]  # the matter's counts where none given

    window.complete(case["id"], "accept", window.accept_all(fg))
    window.complete(case["id"], "review", {"opinion": "审核人的意见：材料齐全", "recommendation": "grant"})
    decide = _task(window, case["id"], "decide")
    assert "opinion" not in decide["prefill"] and "审核人的意见" not in str(decide["prefill"])


def test_supplement_check_starts_from_the_notice(window):
    fg = window.matter(FG)
    case = window.start(fg)
    names = [m["name"] for m in fg.materials]
    window.complete(case["id"], "accept", {"outcome": "supplement",
                                           "materials": [{"name": names[0], "received": True}]})
    notice = _task(window, case["id"], "supplement_notice")
    assert notice["prefill"]["missing_materials"] == names[1:4]
    window.complete(case["id"], "supplement_notice", {"method": "on_site"})
    check = _task(window, case["id"], "supplement_check")
    assert check["prefill"] == {"received_materials": names[1:4]}


def test_the_start_answer_gives_times_as_iso_with_offset(window):
    case = window.start(window.matter(FG))
    issued = case["documents"][0]["issued_at"]
    assert issued.endswith("+08:00") and issued[:4] == "2026", issued
