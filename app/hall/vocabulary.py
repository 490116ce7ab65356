"""The hall's vocabulary: what a matter's diagram declares on its elements, and nothing else of the hall's.

A modeler gives an element its meaning for the hall with Camunda extension properties
(`<camunda:properties><camunda:property name="hall.step" value="decide"/>`): the generator writes them for
the 90 shipped matters, an analyst may draw a new matter in Camunda Modeler with the same properties and get
the same behaviour. The runtime never reads these names; the hall's hooks (`app/hall/hooks.py`), the case
clock, supervision and the tests do, through this module.
"""

from __future__ import annotations

from enum import StrEnum

STEP = "hall.step"  # a user task's role in the case's course (Step)
OUTCOME = "hall.outcome"  # on an end event: how the case ended (Outcome)
PAUSE = "hall.pause"  # the case clock stops while this task is open (Pause)
SPECIAL = "hall.special"  # a special procedure's name (Art. 45: 现场勘察, 专家评审, 听证…)
MAX_DAYS = "hall.max_days"  # a special procedure's own bound, in working days
SPECIAL_RULE = "hall.special_rule"  # the local rule that makes a procedure special where Art. 45 does not list it
DEPARTMENT = "hall.department"  # a joint case's co-opinion step: whose opinion it is (department code)
FORWARD_CLOCK = "hall.forward_clock"  # a reported case's forwarding step: the district clock ends or pauses
CALENDAR = "tongban.calendar"  # on a timer event: count its days as working days (the engine reads it)
WORKING_DAYS = "working_days"


class Step(StrEnum):
    ACCEPT = "accept"  # 受理: the window checks the materials
    SUPPLEMENT_NOTICE = "supplement_notice"  # 补正告知: one notice listing everything missing
    SUPPLEMENT_CHECK = "supplement_check"  # 补正材料核验: waits for the applicant
    NOT_ACCEPTED = "not_accepted"  # 不予受理告知
    REVIEW = "review"  # 审核
    FIRST_REVIEW = "first_review"  # 上报件的初审 (Art. 43)
    CO_OPINION = "co_opinion"  # 联办件: a co-department's opinion
    SPECIAL_PROCEDURE = "special_procedure"  # 特别程序 (Art. 45)
    DECIDE = "decide"  # 决定: grant or refuse (a refusal states its reasons, Art. 38)
    FORWARD = "forward"  # 上报
    INFORM = "inform"  # 告知申请人 (a reported case's higher decision)
    DELIVER = "deliver"  # 送达 (Art. 44)
    COORDINATE = "coordinate"  # 联办件: the lead department coordinates a dissent before anything is granted
    SUPERVISE = "supervise"  # 超期督办


class Outcome(StrEnum):
    GRANTED = "granted"
    REFUSED = "refused"
    NOT_ACCEPTED = "not_accepted"
    HIGHER_APPROVED = "higher_approved"
    HIGHER_REJECTED = "higher_rejected"
    SUPPLEMENT_TIMEOUT = "supplement_timeout"  # 补正超时: the applicant did not supplement in time (Art. 32)


class Pause(StrEnum):
    SUPPLEMENT = "supplement"  # the case waits for the applicant's supplement
    SPECIAL = "special"  # a special procedure does not count toward the limit (Art. 45)


class ForwardClock(StrEnum):
    END = "end"  # the district's clock ends at forwarding (its time is over; the higher authority's is its own)
    PAUSE = "pause"  # the district's clock pauses until the higher authority replies


OUTCOME_NAMES = {"granted": "准予", "refused": "不予许可", "not_accepted": "不予受理", "higher_approved": "上级准予",
                 "higher_rejected": "上级不予批准", "supplement_timeout": "补正超时终止", "cancelled": "撤销",
                 "withdrawn": "撤件", "closed": "办结", "completed": "办结"}

# --- ------------------------------------------------------------------------------------------------------------
# -- hall-rules (行政许可法) limits, in working days; the supervision sweep and the clock apply them --------------
EXTENSION_DAYS = 10  # Art. 42: 20 working days, extendable by 10 with the head's approval, once
JOINT_EXTENSION_DAYS = 15  # Art. 42: joint handling 45, extendable by 15
DELIVERY_DAYS = 10  # Art. 44: certificates delivered within 10 days of the decision
SUPPLEMENT_NOTICE_DAYS = 5  # Art. 32: the supplement notice within 5 days, else accepted on receipt
SUPPLEMENT_DAYS = 30  # the applicant's supplement deadline (a matter's `supplement_days` overrides it)
# -- end hall-rules ----------------------------------------------------------------------------------------------


def step_of(properties: dict[str, str]) -> str | None:
    """The element's step; a task that only declares the special pause is a special procedure."""
    step = properties.get(STEP)
    if not step and properties.get(PAUSE) == Pause.SPECIAL:
        return Step.SPECIAL_PROCEDURE
    return step or None


def special_bound(properties: dict[str, str], task_name: str | None, procedures: list | None) -> int | None:
    """A special procedure's bound in working days: the diagram's `hall.max_days`, else the matter record's
    procedure of the same name (`hall.special`, or the task's name), else the record's only procedure."""
    declared = properties.get(MAX_DAYS)
    if declared and declared.isdigit():
        return int(declared)
    listed = [p for p in procedures or [] if isinstance(p, dict) and isinstance(p.get("max_days"), int)]
    for name in (properties.get(SPECIAL), task_name):
        found = next((p["max_days"] for p in listed if name and p.get("name") == name), None)
        if found is not None:
            return found
    return listed[0]["max_days"] if len(listed) == 1 else None


# Art. 45 lists the procedures whose time a limit does not count; any other (a site inspection: 现场勘察, 实地核查…)
# is special only where a local rule the matter record (or the element) cites makes it so.
STATUTORY_SPECIAL = ("听证", "招标", "拍卖", "检验", "检测", "检疫", "鉴定", "专家评审")
STATUTORY_BASIS = "《中华人民共和国行政许可法》第四十五条"


def special_basis(properties: dict[str, str], task_name: str | None, procedures: list | None) -> str | None:
    """Why a special procedure's days do not count: Art. 45 for a kind it lists; else the local rule the element
    (`hall.special_rule`) or the matter record's procedure of that name (`basis`) cites; None — not special in
    law, its days count toward the limit."""
    name = properties.get(SPECIAL) or task_name or ""
    if any(word in name for word in STATUTORY_SPECIAL):
        return STATUTORY_BASIS
    if properties.get(SPECIAL_RULE):
        return properties[SPECIAL_RULE]
    listed = [p for p in procedures or [] if isinstance(p, dict)]
    for candidate in (properties.get(SPECIAL), task_name):
        found = next((p for p in listed if candidate and p.get("name") == candidate), None)
        if found is not None:
            return str(found["basis"]) if found.get("basis") else None
    return str(listed[0]["basis"]) if len(listed) == 1 and listed[0].get("basis") else None


def pause_of(properties: dict[str, str]) -> str | None:
    return properties.get(PAUSE) or None
