"""Which instruments a matter's notices are, and what remedy they state: by the matter's type (事项类型) and by the
law in force on the notice's date.

* Instruments follow the act: 行政许可 (受理/不予受理通知书, 不予行政许可决定书 — 行政许可法 Art. 32, 38, 42, 45),
  行政确认 and 登记 (不予确认/登记; 工伤认定: 不予认定工伤决定书, 工伤保险条例 Art. 20), 行政给付 (不予给付), 行政备案
  (不予备案告知书), 公共服务 (不予办理告知书), and the party's (组织部) and the union's (总工会) services, which are no
  administrative acts: their notices cite their own rules and offer no 复议 or 诉讼. A matter's result name of the
  form 认定工伤（不予认定工伤）决定书 names its refusal.
* Remedy (Art. 38: a refusal states it): 行政复议 within 60 days — since 2024-01-01 (行政复议法 as revised in 2023,
  Art. 24) a 区 department's act is reviewed by the 区人民政府, before by the 本级人民政府 or the department's
  上一级主管部门; 行政诉讼 within 6 months since 2015-05-01 (行政诉讼法 as revised in 2014, Art. 46), 3 months
  before — each body named (hall.yaml: the district, its departments' superiors, the higher authorities).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

LICENSING_ACT = "《中华人民共和国行政许可法》"
REVIEW_ACT_2024 = date(2024, 1, 1)  # the revised 行政复议法 in force: a 区 department's act goes to the 区 government
LITIGATION_SIX_MONTHS = date(2015, 5, 1)  # the revised 行政诉讼法 in force: six months, not three


@dataclass(frozen=True)
class Family:
    code: str
    act: str  # what the agency does: 行政许可, 行政确认…
    refusal_title: str
    refusal_verb: str  # 本机关决定{verb}
    reviewable: bool = True  # 行政复议 / 行政诉讼 lie against it
    organisation: str | None = None  # party or union: whom a dissatisfied applicant turns to
    refusal_letter: str = "不予"  # the series word in a refusal's number: 城管局不许〔2026〕1号 for a licence only
    we: str = "本机关"  # how the issuer names itself: a party committee's department or a union is no 机关


FAMILIES: dict[str, Family] = {f.code: f for f in (
    Family("licence", "行政许可", "不予行政许可决定书", "不予行政许可", refusal_letter="不许"),
    Family("confirmation", "行政确认", "不予确认决定书", "不予确认"),
    Family("registration", "登记", "不予登记决定书", "不予登记"),
    Family("benefit", "行政给付", "不予给付决定书", "不予给付"),
    Family("filing", "行政备案", "不予备案告知书", "不予备案"),
    Family("other", "行政决定", "不予批准决定书", "不予批准"),
    Family("service", "公共服务", "不予办理告知书", "不予办理"),
    Family("party", "党组织服务", "不予办理告知书", "不予办理", reviewable=False, organisation="上级党组织", we="本部"),
    Family("union", "工会服务", "不予办理告知书", "不予办理", reviewable=False, organisation="上级工会", we="本会"),
)}
_BY_TYPE = {"行政许可": "licence", "行政确认": "confirmation", "行政裁决": "other", "行政给付": "benefit",
            "行政奖励": "benefit", "行政备案": "filing", "其他行政权力": "other", "公共服务": "service"}


def family_of(matter: dict | None, department: dict | None = None) -> Family:
    """The instruments of a matter: by its type, a registration by its name, the party's and the union's services
    by their department's nature (hall.yaml)."""
    matter = matter or {}
    nature = (department or {}).get("nature")
    if nature in ("party", "union"):
        return FAMILIES[nature]
    code = _BY_TYPE.get(matter.get("type") or "行政许可", "licence")
    if code == "confirmation" and "登记" in (matter.get("name") or ""):
        code = "registration"
    return FAMILIES[code]


def refusal_title(matter: dict | None, family: Family) -> str:
    """The refusal's own name where the matter's result names it (认定工伤（不予认定工伤）决定书 → 不予认定工伤决定书;
    给予（不予）法律援助通知书 → 不予法律援助通知书), else the family's."""
    result = ((matter or {}).get("result") or {}).get("name") or ""
    found = re.fullmatch(r"(.*?)（(不予[^）]*)）(.*)", result)
    if found is None:
        return family.refusal_title
    before, refusal, after = found.groups()
    if refusal == "不予":  # 给予（不予）法律援助通知书
        return "不予" + re.sub(r"^(给予|准予|同意)", "", before) + after
    return refusal + after


def refusal_verb(title: str, family: Family) -> str:
    """What the agency decides, as its refusal's title names it (不予认定工伤决定书 → 不予认定工伤), else the
    family's verb (不予确认)."""
    found = re.fullmatch(r"(不予.+?)(?:决定书|通知书|告知书)", title)
    return found.group(1) if found and title != family.refusal_title else family.refusal_verb


def basis(matter: dict | None, family: Family, licensing_article: str) -> str:
    """What a notice cites: the licensing act's article for a licence, else the matter's own legal basis."""
    if family.code == "licence":
        return f"{LICENSING_ACT}{licensing_article}"
    cited = [b for b in (matter or {}).get("legal_basis") or [] if isinstance(b, str) and b.strip()]
    return "、".join(cited[:2]) if cited else "有关法律、法规和规章"


def remedy(family: Family, on: date, *, agency: str, district: dict, superior: str | None = None,
           government: str | None = None, court: str | None = None, document: str = "本决定书") -> str:
    """The remedy a notice of `agency` states on `on`: the review body and the court named, the periods of the law
    in force that day; for a party or union service, where to turn instead."""
    if not family.reviewable:
        return (f"如对{document}有异议，可以向{agency}或者{family.organisation}反映，"
                f"由其依照有关章程和规定处理。")
    government = government or district.get("government") or "本级人民政府"
    if on >= REVIEW_ACT_2024 or not superior:
        review_body = government
    else:
        review_body = f"{government}或者{superior}"
    months = "六个月" if on >= LITIGATION_SIX_MONTHS else "三个月"
    court = court or district.get("court") or "有管辖权的人民法院"
    return (f"如不服{document}，可以自收到{document}之日起六十日内向{review_body}申请行政复议，"
            f"或者自收到{document}之日起{months}内依法向{court}提起行政诉讼。")


def self_reference(title: str) -> str:
    """How a notice names itself in its remedy: 本决定书, 本告知书, 本通知书 — by its title's last word."""
    for word in ("决定书", "告知书", "通知书"):
        if title.endswith(word):
            return "本" + word
    return "本决定书"


def higher(authorities: list[dict] | None, name: str | None) -> dict:
    """A higher authority as hall.yaml describes it (legal name, its government, its superior), else its name."""
    for authority in authorities or []:
        if isinstance(authority, dict) and name in (authority.get("name"), authority.get("legal_name")):
            return authority
    return {"name": name, "legal_name": name}
