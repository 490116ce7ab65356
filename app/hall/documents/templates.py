"""The wording of each notice: from a document's stored data to what is printed (a `Sheet`), in Chinese.

Texts follow the usual shape of such notices: addressee, body in numbered points where a list is due
(一次性告知), the issuing agency by its legal name with its seal and the date (Art. 32: sealed and dated), and the
remedy wherever the applicant may challenge the act (Art. 38). What each notice cites and which remedy it gives
follow the matter's type (law.py: 行政许可, 行政确认, 行政给付, 备案, 公共服务, the party's and union's services);
notices stored before that was recorded print as they did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class Sheet:
    title: str
    number: str
    addressee: str | None = None
    paragraphs: list[str] = field(default_factory=list)
    items_heading: str = ""
    items: list[str] = field(default_factory=list)  # a numbered list after the first paragraph
    after_items: list[str] = field(default_factory=list)
    rows: list[tuple[str, str]] = field(default_factory=list)  # a two-column table (收件凭证, 送达回证)
    issuer: str = ""
    issued_on: str = ""
    seal: bool = True
    footer: list[str] = field(default_factory=list)


def chinese_date(iso: str | None) -> str:
    if not iso:
        return "    年  月  日"
    day = date.fromisoformat(iso[:10])
    return f"{day.year}年{day.month}月{day.day}日"


def _applicant_line(data: dict) -> str:
    applicant = data.get("applicant") or {}
    return applicant.get("name") or "申请人"


def _matter(data: dict) -> str:
    return (data.get("matter") or {}).get("name") or ""


def _applied(data: dict) -> str:
    """What the applicant applied for, as the notices say it: 城市道路挖掘许可申请 — a matter named …申请 once."""
    name = _matter(data)
    return name if name.endswith("申请") else f"{name}申请"


def _basis(data: dict) -> str:
    basis = (data.get("matter") or {}).get("legal_basis") or []
    return "、".join(basis) if basis else "《中华人民共和国行政许可法》"


def _applicant_rows(data: dict) -> list[tuple[str, str]]:
    applicant = data.get("applicant") or {}
    rows = [("申请人", applicant.get("name") or "")]
    if applicant.get("id_number"):
        rows.append((applicant.get("id_type_name") or "证件号码", applicant["id_number"]))
    if applicant.get("phone"):
        rows.append(("联系电话", applicant["phone"]))
    agent = applicant.get("agent")
    if agent:
        rows.append(("代理人", f"{agent.get('name') or ''}（{agent.get('id_number') or ''}）"))
    return rows


def _issuer(data: dict) -> str:
    """The agency by its legal name (hall.yaml), as its seal reads."""
    department = data.get("department") or {}
    return department.get("legal_name") or department.get("name") or ""


def _footer(data: dict) -> list[str]:
    parts = [f"办件编号：{data.get('case_number') or '—'}"]
    consultation = (data.get("matter") or {}).get("consultation")
    if consultation:
        parts.append(f"咨询：{consultation}")
    return ["　".join(parts)]


def _copies(material: dict) -> str:
    """`营业执照（复印件 1 份）`: a received material with what was handed in."""
    counts = [f"{label} {n} 份" for label, n in (("原件", material.get("originals")), ("复印件", material.get("copies")))
              if isinstance(n, int) and n > 0]
    return f"{material.get('name') or ''}" + (f"（{'，'.join(counts)}）" if counts else "")


def receipt(data: dict, number: str, query_code: str | None) -> Sheet:
    rows = [("办件编号", data.get("case_number") or ""), ("申请事项", _matter(data)), *_applicant_rows(data),
            ("收件时间", data.get("received_at") or ""), ("收件窗口", f"{data.get('window_no') or ''}号窗口"
                                                              if data.get("window_no") else data["department"]["name"]),
            ("收件人", data.get("clerk") or ""),
            ("承诺办结时限", f"{(data.get('matter') or {}).get('promised_days', '')} 个工作日（自受理之日起算）"),
            ("查询码", query_code or "已于收件时告知申请人（遗失的，可凭身份证件到窗口重置）")]
    received = [_copies(m) for m in data.get("received_materials") or [] if isinstance(m, dict)]
    required = data.get("required_materials") or []  # receipts issued before they listed what was received
    return Sheet(
        title="收件凭证", number=number, addressee=None,
        paragraphs=["本中心已收到您的申请材料，材料是否齐全、是否受理，将依法当场或者在五日内书面告知。"
                    "凭办件编号和查询码可查询办理进度。"
                    + ("（本凭证为重置查询码后补发，原查询码已作废。）" if data.get("reissued") else "")],
        rows=rows, items_heading="收取的申请材料：" if received else ("本事项须提交的必要材料：" if required else ""),
        items=received or [f"{name}" for name in required],
        after_items=["（以上为窗口收件时收取的材料；是否齐全以受理审查为准。）"] if received else
        (["（以上为本事项的必要材料；实际收取情况以受理审查核对的材料清单为准。）"] if required else
         ["（收件时未逐项登记材料，实际收取情况以受理审查核对的材料清单为准。）"]),
        issuer=f"{data.get('center')}{data['department']['name']}窗口", issued_on=data.get("issued_on", ""),
        footer=_footer(data))


def acceptance(data: dict, number: str, query_code: str | None = None) -> Sheet:
    promised = (data.get("matter") or {}).get("promised_days")
    items = data.get("accepted_materials") or []
    basis = data.get("basis") or "《中华人民共和国行政许可法》第三十二条第一款第（五）项"
    due = f"（预计{chinese_date(data.get('due_date'))}前）" if data.get("due_date") else ""
    if data.get("higher_authority"):  # 上报件: the district reviews first and forwards; the higher authority decides
        promise = (f"本机关将在受理之日起 {promised or data.get('first_review_days') or 20} 个工作日内完成初审{due}，"
                   f"并将初审意见和全部申请材料报送{data['higher_authority']}，由{data['higher_authority']}依法作出决定；"
                   "上级机关的办理时间不计算在本机关的期限内，决定作出后本机关将及时告知你（单位）。")
    elif promised:
        promise = (f"本机关将在受理之日起 {promised} 个工作日内作出决定{due}；依法需要听证、检验、检测、鉴定、"
                   "专家评审等特别程序的，所需时间不计算在上述期限内。")
    else:
        promise = "本机关将当场作出决定。"
    return Sheet(
        title="受理通知书", number=number, addressee=f"{_applicant_line(data)}：",
        paragraphs=[f"你（单位）于{chinese_date(data.get('received_on'))}提出的{_applied(data)}，申请材料齐全、"
                    f"符合法定形式，根据{basis}的规定，本机关决定予以受理。" + promise],
        items_heading="已收取的申请材料：" if items else "", items=items,
        after_items=[f"办件编号：{data.get('case_number') or ''}。可凭办件编号和收件凭证上的查询码查询办理进度。"],
        issuer=_issuer(data), issued_on=data.get("issued_on", ""), footer=_footer(data))


def supplement(data: dict, number: str, query_code: str | None = None) -> Sheet:
    items = data.get("missing_materials") or []
    return Sheet(
        title="补正材料通知书", number=number, addressee=f"{_applicant_line(data)}：",
        paragraphs=[f"你（单位）于{chinese_date(data.get('received_on'))}提出的{_applied(data)}，经审查，申请材料"
                    f"不齐全或者不符合法定形式。根据《中华人民共和国行政许可法》第三十二条第一款第（四）项的规定，"
                    f"现一次性告知你（单位）需要补正的全部内容如下（共 {len(items)} 项）："],
        items=items,
        after_items=["请按上述要求补齐全部材料后，向本窗口提交"
                     + (f"，补正期限至{chinese_date(data['supplement_by'])}；逾期未补正的，本机关将终止办理"
                        if data.get("supplement_by") else "")
                     + "。补正期间办理时限暂停计算，自收到全部补正材料之日起继续计算。"],
        issuer=_issuer(data), issued_on=data.get("issued_on", ""), footer=_footer(data))


def not_accepted(data: dict, number: str, query_code: str | None = None) -> Sheet:
    basis = data.get("basis") or "《中华人民共和国行政许可法》第三十二条"
    paragraphs = [f"你（单位）于{chinese_date(data.get('received_on'))}提出的{_applied(data)}，经审查，"
                  f"根据{basis}的规定，本机关决定不予受理。理由如下：",
                  data.get("reasons") or "（未说明理由）"]
    if data.get("legal_basis"):
        paragraphs.append(f"依据：{data['legal_basis']}")
    if data.get("referral"):
        paragraphs.append(f"{data['referral']}")
    paragraphs.append(data.get("remedy") or "")
    return Sheet(title="不予受理通知书", number=number, addressee=f"{_applicant_line(data)}：",
                 paragraphs=paragraphs, issuer=_issuer(data), issued_on=data.get("issued_on", ""),
                 footer=_footer(data))


def special_procedure(data: dict, number: str, query_code: str | None = None) -> Sheet:
    bound = data.get("max_days")
    procedure = data.get("procedure") or "特别程序"
    cited = data.get("local_rule") or data.get("basis") or "《中华人民共和国行政许可法》第四十五条"
    paragraphs = [f"你（单位）申请的{_matter(data)}（办件编号 {data.get('case_number') or ''}），依法需要进行"
                  f"{procedure}。根据{cited}的规定，{procedure}所需时间不计算在办理期限内"
                  + (f"，预计不超过 {bound} 个工作日（超过部分计入办理期限）" if bound else "") + "。"]
    if data.get("second"):  # the second notice: the procedure needs longer than its bound
        paragraphs = [f"你（单位）申请的{_matter(data)}（办件编号 {data.get('case_number') or ''}）正在进行{procedure}。"
                      f"因{data.get('reason') or '特别程序需要'}，经本机关负责人批准，{procedure}延长 "
                      f"{data.get('days')} 个工作日，所需时间合计不超过 {bound} 个工作日，不计算在办理期限内"
                      f"（依据{cited}）；超过部分计入办理期限。"]
    paragraphs.append("特别程序结束后，办理期限继续计算。特此告知。")
    title = "特别程序告知书（第二次）" if data.get("second") else "特别程序告知书"
    return Sheet(title=title, number=number, addressee=f"{_applicant_line(data)}：", paragraphs=paragraphs,
                 issuer=_issuer(data), issued_on=data.get("issued_on", ""), footer=_footer(data))


def refusal(data: dict, number: str, query_code: str | None = None) -> Sheet:
    basis = data.get("basis") or "《中华人民共和国行政许可法》第三十八条第二款"
    verb = data.get("verb") or "不予行政许可"
    addressee = _applicant_line(data) + (f"（并送达{data['parties']}）" if data.get("parties") else "")
    paragraphs = [f"你（单位）于{chinese_date(data.get('received_on'))}提出的{_applied(data)}（办件编号 "
                  f"{data.get('case_number') or ''}），本机关已依法受理并进行了审查。经审查，你（单位）的申请不符合"
                  f"法定条件、标准，根据{basis}的规定，本机关决定{verb}。",
                  "理由如下：", data.get("reasons") or "（未说明理由）",
                  f"依据：{_basis(data)}。",
                  # Art. 38: the right to 行政复议 or 行政诉讼 is stated wherever the law gives it
                  data.get("remedy") or ""]
    return Sheet(title=data.get("title") or "不予行政许可决定书", number=number, addressee=f"{addressee}：",
                 paragraphs=paragraphs, issuer=_issuer(data), issued_on=data.get("issued_on", ""),
                 footer=_footer(data))


def completion(data: dict, number: str, query_code: str | None = None) -> Sheet:
    matter = data.get("matter") or {}
    outcome = data.get("outcome")
    result = (matter.get("result") or {}).get("name") or "办理结果"
    if outcome == "granted":
        body = f"经审查，本机关决定准予{_matter(data)}，{result}" + \
               (f"（编号 {data['result_no']}）" if data.get("result_no") else "") + "已制作完成并依法送达。"
    elif outcome in ("higher_approved", "higher_rejected"):
        higher = matter.get("higher_authority") or data.get("forwarded_to") or "上级机关"
        verdict = "准予" if outcome == "higher_approved" else "不予批准"
        body = f"本机关已依法初审并报送{higher}。经{higher}审查，决定{verdict}。" + \
               (f"{higher}意见：{data['higher_opinion']}。" if data.get("higher_opinion") else "")
    else:
        body = f"本机关已依法作出{data.get('verb') or '不予行政许可'}的决定，决定书已另行送达。"
    return Sheet(
        title="办结通知书", number=number, addressee=f"{_applicant_line(data)}：",
        paragraphs=[f"你（单位）于{chinese_date(data.get('received_on'))}提出的{_applied(data)}（办件编号 "
                    f"{data.get('case_number') or ''}）已办理完毕。", body,
                    "欢迎对本次办理服务作出评价（好差评）。"],
        issuer=_issuer(data), issued_on=data.get("issued_on", ""), footer=_footer(data))


def delivery(data: dict, number: str, query_code: str | None = None) -> Sheet:
    applicant = data.get("applicant") or {}
    delivered = data.get("delivered") or ""
    if data.get("delivered_number"):
        delivered += f"（{data['delivered_number']}）"
    rows = [("送达文书名称及文号", delivered), ("受送达人", applicant.get("name") or ""),
            ("送达地点", (data.get("matter") or {}).get("place") or data.get("center") or ""),
            ("送达方式", data.get("method") or ""),
            ("送达日期", chinese_date(data.get("delivered_on") or data.get("issued_on"))),
            ("受送达人签名或盖章", "\n\n                                  年    月    日"),
            ("送达人", data.get("clerk") or ""), ("备注", data.get("note") or "")]
    return Sheet(title="送达回证", number=number, addressee=None,
                 paragraphs=[f"办件编号：{data.get('case_number') or ''}　申请事项：{_matter(data)}"],
                 rows=rows, issuer=_issuer(data), issued_on=data.get("issued_on", ""),
                 footer=_footer(data))


def withdrawal(data: dict, number: str, query_code: str | None = None) -> Sheet:
    """撤件登记: the applicant's request to withdraw (or a case received in error), signed by the applicant."""
    applicant = data.get("applicant") or {}
    rows = [("办件编号", data.get("case_number") or ""), ("申请事项", _matter(data)), *_applicant_rows(data),
            ("收件时间", data.get("received_at") or ""), ("提出撤件人", data.get("requested_by") or ""),
            ("提出日期", chinese_date(data.get("requested_on"))), ("撤件理由", data.get("reason") or ""),
            ("备注", data.get("note") or ""), ("登记人", data.get("clerk") or ""),
            ("申请人（代理人）签名或盖章", "\n\n                                  年    月    日")]
    return Sheet(title="撤件登记", number=number, addressee=None,
                 paragraphs=[f"{applicant.get('name') or '申请人'}申请的{_matter(data)}，经申请人提出（或因收件有误），"
                             "本窗口予以撤件登记，该办件终止办理，已收取的申请材料退还申请人。"],
                 rows=rows, issuer=_issuer(data), issued_on=data.get("issued_on", ""),
                 footer=_footer(data))


def termination(data: dict, number: str, query_code: str | None = None) -> Sheet:
    """终止办理告知书: the applicant did not supplement by the deadline the supplement notice set."""
    items = data.get("missing_materials") or []
    basis = data.get("basis") or "《中华人民共和国行政许可法》第三十二条第一款第（四）项"
    return Sheet(
        title="终止办理告知书", number=number, addressee=f"{_applicant_line(data)}：",
        paragraphs=[f"你（单位）于{chinese_date(data.get('received_on'))}提出的{_applied(data)}（办件编号 "
                    f"{data.get('case_number') or ''}），本机关已依照{basis}的规定一次性告知需要补正的材料。截至补正期限届满，"
                    "你（单位）未补正下列材料，本机关决定终止办理该申请：",
                    ],
        items=items, after_items=["已提交的申请材料可到原收件窗口领回。你（单位）可在补齐全部材料后重新提出申请。",
                                  data.get("remedy") or ""],
        issuer=_issuer(data), issued_on=data.get("issued_on", ""), footer=_footer(data))


def extension(data: dict, number: str, query_code: str | None = None) -> Sheet:
    """延期告知书 (Art. 42): the head's approval, the reason and the new date."""
    basis = data.get("basis") or "《中华人民共和国行政许可法》第四十二条第一款"
    return Sheet(
        title="延期告知书", number=number, addressee=f"{_applicant_line(data)}：",
        paragraphs=[f"你（单位）于{chinese_date(data.get('received_on'))}提出的{_applied(data)}（办件编号 "
                    f"{data.get('case_number') or ''}），因{data.get('reason') or '情况复杂'}，不能在原定期限"
                    f"（{chinese_date(data.get('due_date_before'))}）内作出决定。经本机关负责人（{data.get('approved_by') or ''}）"
                    f"批准，根据{basis}的规定，办理期限延长 {data.get('days') or ''} 个工作日，"
                    f"本机关将于{chinese_date(data.get('due_date'))}前作出决定。特此告知。"],
        issuer=_issuer(data), issued_on=data.get("issued_on", ""), footer=_footer(data))


def higher_decision(data: dict, number: str, query_code: str | None = None) -> Sheet:
    """上报件: the higher authority's decision, told by the district with the remedy against that authority."""
    higher = data.get("higher_authority") or "上级机关"
    approved = data.get("decision") == "approved"
    body = (f"经{higher}审查，决定准予" + (f"（批准文号 {data['result_no']}）" if data.get("result_no") else "") + "。"
            if approved else f"经{higher}审查，决定不予批准。")
    paragraphs = [f"你（单位）于{chinese_date(data.get('received_on'))}提出的{_applied(data)}（办件编号 "
                  f"{data.get('case_number') or ''}），本机关已依法初审并报送{higher}。{body}",
                  *([f"{higher}意见：{data['opinion']}"] if data.get("opinion") else []),
                  *([data["remedy"]] if data.get("remedy") else []),
                  "决定文书随本告知书一并送达。"]
    return Sheet(title="上级机关决定告知书", number=number, addressee=f"{_applicant_line(data)}：",
                 paragraphs=paragraphs, issuer=_issuer(data), issued_on=data.get("issued_on", ""),
                 footer=_footer(data))


# each template is named after its notice kind (app/hall/notices.py)
TEMPLATES = {template.__name__: template for template in (
    receipt, acceptance, supplement, not_accepted, special_procedure, refusal, completion, delivery, withdrawal,
    termination, extension, higher_decision)}


def sheet(kind: str, data: dict, number: str, query_code: str | None = None) -> Sheet:
    printed = TEMPLATES[kind](data, number, query_code)
    we = data.get("we")
    if we and we != "本机关":  # the party's and the union's services: the issuer names itself as it is
        printed.paragraphs = [p.replace("本机关", we) for p in printed.paragraphs]
        printed.after_items = [p.replace("本机关", we) for p in printed.after_items]
    return printed
