"""The replay's report: REPORT.md with what was replayed, how fast, what the API reports against the ledger —
every difference named — and three PNG charts (daily intake and closing, on-time rate by window, working days by
kind)."""

from __future__ import annotations

import datetime as dt
import os
import platform
from collections import Counter
from pathlib import Path

from . import charts, workdays
from .compare import aggregation_differences
from .hall import HALL
from .plan import TRIAL_CASES, TRIAL_CONSULTATIONS
from .truth import SHANGHAI, local_date

KIND_NAMES = {"immediate": "即办件", "promised": "承诺件", "joint": "联办件", "reported": "上报件"}
OUTCOME_NAMES = {"granted": "准予", "refused": "不予许可", "not_accepted": "不予受理（答复件）",
                 "higher_approved": "上级准予", "higher_rejected": "上级不予批准", "withdrawn": "撤件",
                 "supplement_timeout": "补正超时终止", None: "未办结"}
WARNING_NAMES = {"case_yellow": "办件黄灯预警", "case_red": "办件红灯（超期）", "step_yellow": "环节黄灯预警",
                 "step_red": "环节红灯（超期）", "late_first_review": "上报件初审超期", "special_overdue": "特别程序超过时限",
                 "late_delivery": "决定送达超期", "late_supplement_notice": "补正告知超期",
                 "refusal_without_reasons": "不予许可未说明理由"}
LIMIT = 200  # differences listed one by one; the rest counted


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "—"


def _explain(difference, cases_by_n: dict) -> str | None:
    """What a case's difference is, when the replay knows the rule it reads differently."""
    if difference.area != "case" or not difference.cases:
        return None
    case = cases_by_n.get(difference.cases[0])
    if case is None:
        return None
    if case.outcome == "supplement_timeout" and difference.field in ("on_time", "working_days_used"):
        return ("补正超时终止：不是决定，台账不给结论（统计口径“另计”）；应用在办结时按超期计入（clock._closed 未排除"
                "补正超时，`_answered(judged=False)` 的本意因此落空），拉低了按时办结率")
    if case.outcome == "not_accepted" and case.supplement_wait and difference.field in ("on_time", "working_days_used"):
        return (f"补正后不予受理：申请人补正用了 {case.supplement_wait} 个工作日，台账不计入机关用时"
                "（受理前等待申请人的时间不是机关的时间）；应用把它计入了不予受理的用时")
    return None


def write(outcome, folder: Path, command: str) -> Path:
    """REPORT.md and its charts in `folder`; returns the report's path."""
    replay, comparison = outcome.replay, outcome.comparison
    plan = replay.plan
    folder.mkdir(parents=True, exist_ok=True)
    cases = [c.truth for c in replay.cases.values() if c.id is not None]
    cases_by_n = {c.n: c for c in cases}
    ended = [c for c in cases if not c.is_open]
    first, last = plan.days[0], plan.days[-1]
    end_day = replay.days_run[-1] if replay.days_run else last
    subtitle = f"{first.isoformat()} 至 {last.isoformat()} 收件 {len(cases)} 件（{len(plan.days)} 个工作日），" \
               f"回放至 {end_day.isoformat()}；数据来自回放自己的台账"

    # charts
    span = [first + dt.timedelta(days=i) for i in range((end_day - first).days + 1)]
    received = Counter(c.received_on for c in cases)
    closed = Counter(local_date(c.closed_at) for c in ended if c.outcome not in ("withdrawn",))
    shown = [d for d in span if workdays.is_workday(d) or received[d] or closed[d]]
    daily = charts.daily(shown, [received[d] for d in shown], [closed[d] for d in shown], folder / "daily.png",
                         subtitle)
    window_rows = []
    for window in HALL["windows"]:
        mine = [c for c in cases if c.window == window["no"] and c.on_time is not None]
        rate = 100.0 * sum(1 for c in mine if c.on_time) / len(mine) if mine else None
        window_rows.append((str(window["no"]), rate, len(mine)))
    rest = [c for c in cases if c.window is None and c.on_time is not None]
    if rest:
        window_rows.append(("无窗口", 100.0 * sum(1 for c in rest if c.on_time) / len(rest), len(rest)))
    by_window = charts.on_time_by_window(window_rows, folder / "on_time_by_window.png", subtitle)
    kind_rows = []
    for kind, name in KIND_NAMES.items():
        judged = [c for c in cases if c.kind == kind and c.on_time is not None and c.working_days_used is not None]
        limit = sum(c.promised + c.extended_days for c in judged) / len(judged) if judged else 0
        kind_rows.append((name, [c.working_days_used for c in judged], limit))
    by_kind = charts.working_days_by_kind(kind_rows, folder / "working_days_by_kind.png", subtitle)

    lines: list[str] = []
    add = lines.append
    when = dt.datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    add("# 试运行回放报告 (the trial replayed)")
    add("")
    add(f"Run on {when} (Asia/Shanghai) with `{command}`.")
    add("")
    add("## What was replayed")
    add("")
    add(f"- **{len(cases)} cases** received over **{len(plan.days)} working days**, {first} – {last} "
        f"(the seed's trial: {TRIAL_CASES:,} cases in 47 working days from 2008-10-28), at the hall's 23 windows by "
        "its 22 window clerks (processes/hall.yaml); plan seed {seed}.".format(seed=plan.seed))
    kinds = Counter(c.kind for c in cases)
    add("- Kinds: " + ", ".join(f"{KIND_NAMES[k]} {kinds[k]} ({_pct(kinds[k], len(cases))})" for k in KIND_NAMES)
        + "; by matter, as `tools/replay/plan.py` weights them (the seed gives no shares).")
    supplements = sum(1 for c in cases if c.supplement_count)
    add(f"- 补办件 (one supplement notice, 一次性告知): {supplements}; 答复件 (不予受理): "
        f"{sum(1 for c in cases if c.outcome == 'not_accepted')}; 补正超时终止: "
        f"{sum(1 for c in cases if c.outcome == 'supplement_timeout')}.")
    counters = replay.counters
    dissents = sum(1 for c in replay.cases.values() if c.plan.dissent and c.id)
    add(f"- Absences (请假, AB岗): {counters.absences} recorded by the supervisors; {counters.backup_steps} steps "
        f"done at a backup post; {counters.waits} actions put off a day for want of anyone at work.")
    add(f"- Special procedures: {sum(1 for c in cases for s in c.steps.values() if s.step.role == 'special_procedure')};"
        f" late steps escalated (督办): {counters.escalations_expected} expected, {counters.escalations_found} found, "
        f"{counters.supervised} handled by the supervisors; 延期 by the heads: {counters.extensions}; 撤件: "
        f"{counters.withdrawals}; 联办件 with a dissent: {dissents}; 上报件 replies from the higher authority: "
        f"{counters.messages}.")
    add(f"- Consultations: the seed logged {TRIAL_CONSULTATIONS}. **Not replayed**: Tongban has no record of a "
        "consultation (a matter's `consultation` field is only its contact channel), so there is nothing to post "
        "them to; faking them would prove nothing.")
    calendar_known = all(workdays.known(d) for d in (first, end_day))
    add(f"- Calendar: working days from chinesecalendar (2004–2026), "
        f"{'which covers every day replayed' if calendar_known else 'which does not know every day replayed: those years count Monday to Friday in the ledger, and by the app fallback rule (statutory holidays moved) in the app'}"
        "; the ledger counts them with its own arithmetic, not the app's calendar.")
    add("")
    add("## How long it took")
    add("")
    add(f"| | |\n|---|---|\n| mode | {outcome.mode}, database {outcome.database_url.split(':')[0]} |\n"
        f"| setup (migrate, bootstrap the hall and 90 matters, tokens) | {outcome.setup_seconds:.1f} s |\n"
        f"| replay ({counters.ticks} ticks, {counters.sweeps} sweeps) | **{outcome.run_seconds:.1f} s** |\n"
        f"| requests | {replay.api.requests:,} ({replay.api.requests / max(outcome.run_seconds, 0.001):.1f}/s; "
        f"{replay.api.busy} answered busy and retried) |\n"
        f"| cases | {len(cases) / max(outcome.run_seconds, 0.001):.2f} cases/s |\n"
        f"| comparison | {outcome.compare_seconds:.1f} s |\n"
        f"| machine | {os.cpu_count()} cores, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} at the end; "
        f"Python {platform.python_version()} |")
    add("")
    add("## Every case ended?")
    add("")
    outcomes = Counter(c.outcome if not c.is_open else None for c in cases)
    add(f"**{len(ended)} of {len(cases)} ended** ({_pct(len(ended), len(cases))}) by {end_day}. " + "; ".join(
        f"{OUTCOME_NAMES.get(k, k)} {n}" for k, n in outcomes.most_common()) + ".")
    judged = [c for c in cases if c.on_time is not None]
    add(f"On time (the ledger): {sum(1 for c in judged if c.on_time)} of {len(judged)} with a verdict "
        f"({_pct(sum(1 for c in judged if c.on_time), len(judged))}).")
    if replay.errors:
        add("")
        add(f"**{len(replay.errors)} answers the replay did not expect:**")
        add("")
        for error in replay.errors[:50]:
            add(f"- case {error['case']} ({error['matter']}), {error['action']}: {error['status']} {error['body'][:160]}")
    if replay.notes:
        add("")
        for note in replay.notes[:50]:
            add(f"- {note}")
    add("")
    add("## The API against the replay's own ledger")
    add("")
    if comparison is None:
        add("Not compared (`--no-compare`).")
    else:
        checked = comparison.checked
        add(f"Checked: {checked['cases']} cases ({checked['case fields']} fields: state, outcome, on time, working days "
            f"used, due date, window, received and accepted dates, green channel), {checked['figures']} statistics "
            f"figures (summary, by kind, {len(comparison.api.get('departments', {}).get('items', []))} departments, "
            f"{len(comparison.api.get('windows', {}).get('items', []))} windows, "
            f"{len(comparison.api.get('matters', {}).get('items', []))} matters) and {checked['warnings']} "
            "supervision warnings the ledger expects (every one raised, open or closed since).")
        add("")
        wanted, got = comparison.expected.get("warnings", Counter()), comparison.api.get("warnings", Counter())
        add("| warning | ledger | API |\n|---|---|---|")
        for kind in sorted(set(wanted) | set(got)):
            add(f"| {WARNING_NAMES.get(kind, kind)} (`{kind}`) | {wanted[kind]} | {got[kind]} |")
        add("")
        if comparison.equal:
            add("**No difference**: every case, figure and warning the API reports equals the ledger.")
        else:
            by_area = Counter(d.area for d in comparison.differences)
            add(f"**{len(comparison.differences)} differences** — " + ", ".join(
                f"{n} in {area}" for area, n in by_area.most_common()) + ":")
            add("")
            explained = Counter()
            for d in comparison.differences:
                why = _explain(d, cases_by_n)
                if why:
                    explained[why.split("：")[0]] += 1
            if by_area.get("statistics"):
                remaining = aggregation_differences(comparison, cases)
                add(f"- The statistics, summed from the cases as the API lists them, differ from the API's own "
                    f"statistics in **{remaining}** figures: "
                    + ("every statistics difference comes from the cases' own verdicts below, none from the counting."
                       if remaining == 0 else "the counting itself differs too."))
            for reason, n in explained.items():
                add(f"- {n} case fields: {reason} (each case below).")
            add("")
            add("| area | what | field | ledger | API | why |\n|---|---|---|---|---|---|")
            for d in comparison.differences[:LIMIT]:
                why = _explain(d, cases_by_n) or ""
                add(f"| {d.area} | {d.key} | {d.field} | {d.expected} | {d.actual} | {why} |")
            if len(comparison.differences) > LIMIT:
                add(f"\n… and {len(comparison.differences) - LIMIT} more.")
    add("")
    add("## Charts")
    add("")
    for path, caption in ((daily, "Daily intake and closing"), (by_window, "On-time rate by window"),
                          (by_kind, "Working days by kind")):
        add(f"![{caption}]({path.name})")
        add("")
    report = folder / "REPORT.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return report
