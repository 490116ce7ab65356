"""The ledger against the API: every case (GET /instances summaries), the statistics (summary and by kind,
departments, windows, matters) and every supervision warning raised (GET /supervision/warnings?state=all). Each
difference is kept with what the ledger expected, what the API said and the cases concerned."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from . import truth
from .truth import COMPARED, CaseTruth

CENTER = "yanliqun"  # 中心督查: the whole center's figures and warnings
ADMIN = "admin"
CASE_FIELDS = ("state", "outcome", "on_time", "working_days_used", "due_date", "window_no", "received_on",
               "accepted_on", "green_channel", "light")


@dataclass
class Difference:
    area: str  # case | statistics | warnings | run
    key: str  # what: a case number, a report and its group, a warning kind
    field: str
    expected: object
    actual: object
    cases: list[int] = field(default_factory=list)


@dataclass
class Comparison:
    differences: list[Difference] = field(default_factory=list)
    checked: Counter = field(default_factory=Counter)
    api: dict = field(default_factory=dict)  # what the API answered (summary, warnings by kind…)
    expected: dict = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        return not self.differences

    def add(self, *args, **kwargs) -> None:
        self.differences.append(Difference(*args, **kwargs))


def _pages(api, path: str, user: str, params: dict) -> list[dict]:
    items, offset = [], 0
    while True:
        status, body = api.call("GET", path, user, params={**params, "limit": 500, "offset": offset})
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body}")
        items.extend(body["items"])
        offset += 500
        if offset >= body["total"]:
            return items


def expected_case(t: CaseTruth) -> dict:
    return {"state": "running" if t.is_open else ("cancelled" if t.outcome == "withdrawn" else "completed"),
            "outcome": t.outcome, "on_time": t.on_time, "working_days_used": t.working_days_used,
            "due_date": t.due.isoformat(), "window_no": t.window,
            "received_on": t.received_on.isoformat(), "accepted_on": t.accepted_on.isoformat() if t.accepted_on else None,
            "supplement_count": t.supplement_count, "extended_days": t.extended_days, "green_channel": t.green,
            "light": t.light}


def compare(api, cases: list[CaseTruth], start: dt.date, end: dt.date, *, open_too: bool = False) -> Comparison:
    """Set the ledger of `cases` (received from `start` to `end`) against the API."""
    result = Comparison()
    by_id = {c.instance_id: c for c in cases if c.instance_id}
    period = {"from": start.isoformat(), "to": end.isoformat()}

    # every case, field by field
    listed = {item["id"]: item for item in _pages(api, "/instances", ADMIN, {
        "received_from": start.isoformat(), "received_to": end.isoformat()})}
    result.api["cases"] = listed
    for instance_id, t in by_id.items():
        item = listed.get(instance_id)
        result.checked["cases"] += 1
        if item is None:
            result.add("case", f"#{t.n}", "listed", True, False, [t.n])
            continue
        want = expected_case(t)
        for name in CASE_FIELDS:
            if name == "light" and not (open_too and t.is_open):
                continue
            result.checked["case fields"] += 1
            if item.get(name) != want[name]:
                result.add("case", item.get("case_number") or f"#{t.n}", name, want[name], item.get(name), [t.n])
    for instance_id in set(listed) - set(by_id):
        result.add("case", listed[instance_id].get("case_number") or instance_id, "unknown to the replay", None,
                   listed[instance_id].get("business_key"))

    # the statistics
    status, summary = api.call("GET", "/statistics/summary", CENTER, params=period)
    result.api["summary"] = summary
    result.expected["summary"] = truth.figures(cases)
    _figures(result, "summary", "中心", truth.figures(cases), summary, cases)
    for row in summary.get("by_kind", []):
        mine = [c for c in cases if c.kind == row["kind"]]
        _figures(result, "summary.by_kind", row["kind_name"], truth.figures(mine), row, mine)
    groups = (("departments", "code", lambda c: c.department, {}),
              ("windows", "no", lambda c: c.window, {}),
              ("matters", "code", lambda c: c.code, {}))
    for report, key, of, extra in groups:
        status, body = api.call("GET", f"/statistics/{report}", CENTER, params={**period, **extra})
        result.api[report] = body
        for row in body.get("items", []):
            mine = [c for c in cases if of(c) == row[key]]
            _figures(result, report, str(row[key]), truth.figures(mine), row, mine)
        if report == "windows":
            known = {row["no"] for row in body.get("items", [])}
            rest = [c for c in cases if c.window not in known]
            _figures(result, report, "unassigned", truth.figures(rest), body.get("unassigned") or {}, rest)

    # supervision: every warning raised (open or closed since)
    warnings = _pages(api, "/supervision/warnings", CENTER, {"state": "all"})
    result.api["warnings"] = Counter(f"{w['kind']}" for w in warnings)
    actual = Counter()
    for w in warnings:
        if w["instance_id"] in by_id:
            actual[(w["instance_id"], w["kind"], w["level"], w.get("task_id"))] += 1
    wanted = Counter()
    for t in cases:
        for w in t.warnings:
            wanted[(t.instance_id, w.kind, w.level, w.task_id)] += 1
    result.expected["warnings"] = Counter(kind for (_, kind, _, _), n in wanted.items() for _ in range(n))
    result.checked["warnings"] = sum(wanted.values())
    number = {c.instance_id: c.n for c in cases}
    for key in sorted(set(actual) | set(wanted), key=lambda k: (k[1], k[0], str(k[3]))):
        if actual[key] != wanted[key]:
            instance_id, kind, level, task_id = key
            element = next((s.step.element_id for s in by_id[instance_id].steps.values() if s.task_id == task_id),
                           None) if instance_id in by_id and task_id else None
            result.add("warnings", kind, f"{level} {element or ''}".strip(), wanted[key], actual[key],
                       [number.get(instance_id)])
    return result


def _figures(result: Comparison, report: str, group: str, want: dict, got: dict, cases: list[CaseTruth]) -> None:
    for name in COMPARED:
        if name not in got:
            continue
        result.checked["figures"] += 1
        if got[name] != want[name]:
            result.add("statistics", f"{report} {group}", name, want[name], got[name], [c.n for c in cases][:20])


def as_the_api_says(cases: list[CaseTruth], listed: dict) -> list[CaseTruth]:
    """The ledger's cases with each one's verdict, outcome and window as the API lists them: the statistics summed
    from these must equal the API's own, whatever the ledger thinks of the verdicts (the aggregation checked apart
    from the cases' clocks)."""
    import copy

    mirrored = []
    for case in cases:
        item = listed.get(case.instance_id)
        copied = copy.copy(case)
        if item is not None:
            copied.on_time, copied.working_days_used = item.get("on_time"), item.get("working_days_used")
            copied.outcome, copied.window = item.get("outcome"), item.get("window_no")
        mirrored.append(copied)
    return mirrored


def aggregation_differences(result: Comparison, cases: list[CaseTruth]) -> int:
    """How many statistics figures still differ once the cases' own values are the API's (0: every statistics
    difference comes from the cases' verdicts, none from the counting)."""
    listed = result.api.get("cases") or {}
    mirrored = as_the_api_says(cases, listed)
    check = Comparison()
    summary = result.api.get("summary") or {}
    _figures(check, "summary", "中心", truth.figures(mirrored), summary, mirrored)
    for row in summary.get("by_kind", []):
        mine = [c for c in mirrored if c.kind == row["kind"]]
        _figures(check, "summary.by_kind", row["kind_name"], truth.figures(mine), row, mine)
    for report, key, of in (("departments", "code", lambda c: c.department), ("windows", "no", lambda c: c.window),
                            ("matters", "code", lambda c: c.code)):
        for row in (result.api.get(report) or {}).get("items", []):
            mine = [c for c in mirrored if of(c) == row[key]]
            _figures(check, report, str(row[key]), truth.figures(mine), row, mine)
    return len(check.differences)
