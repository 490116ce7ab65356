"""The catalog files in processes/: hall.yaml and the 90 matter yaml files (plain YAML, no app import).

The catalog describes one year, 2008 (README, "The catalog"): the laws it cites, the matters it holds.
"""
import importlib.util
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
CODE_RE = re.compile(r"^32021300([A-Z]{2})-(XK|QR|CJ|JF|JL|BA|QT|GG)-(\d{4})$")
TYPES = {"行政许可": "XK", "行政确认": "QR", "行政裁决": "CJ", "行政给付": "JF", "行政奖励": "JL",
         "行政备案": "BA", "其他行政权力": "QT", "公共服务": "GG"}
KINDS = {"immediate", "promised", "joint", "reported"}
POST_KINDS = {"window_a", "window_b", "review", "approve", "supervise", "head", "government"}
ROLES = {"clerk", "supervisor", "center_supervisor", "analyst", "ops", "admin"}
MATTER_FIELDS = {
    "code": str, "name": str, "type": str, "department": str, "kind": str, "co_departments": list,
    "statutory_days": int, "promised_days": int, "statutory_basis": str, "effective_from": date,
    "acceptance_conditions": str, "materials": list,
    "fee_charged": bool, "fee_basis": str, "fee_standard": str, "result": dict, "legal_basis": list,
    "procedure": list, "special_procedures": list, "place": str, "hours": str, "visits": int,
    "consultation": str, "complaint": str, "online": bool, "green_channel": bool,
}


def _load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _laws():
    """app/matters/laws.py alone (it imports nothing of the app)."""
    spec = importlib.util.spec_from_file_location("catalog_laws", ROOT / "app" / "matters" / "laws.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


laws = _laws()


@pytest.fixture(scope="module")
def hall():
    return _load(PROCESSES / "hall.yaml")


@pytest.fixture(scope="module")
def departments(hall):
    return {d["code"]: d for d in hall["departments"]}


@pytest.fixture(scope="module")
def matters():
    return {p: _load(p) for p in sorted(PROCESSES.glob("*/*.yaml"))}


# ---------------------------------------------------------------- the hall

def test_exactly_ten_departments_with_unique_codes_shorts_and_letters(hall):
    deps = hall["departments"]
    assert len(deps) == 10
    for key in ("code", "name", "short", "letters"):
        assert len({d[key] for d in deps}) == 10, key
    for d in deps:
        assert re.fullmatch(r"[a-z]+", d["code"]) and len(d["code"]) <= 6
        assert re.fullmatch(r"[A-Z]{2}", d["letters"])


def test_23_windows_with_exactly_one_comprehensive_window(hall, departments):
    wins = hall["windows"]
    assert len(wins) == 23
    assert sorted(w["no"] for w in wins) == list(range(1, 24))
    comprehensive = [w for w in wins if w["department"] is None]
    assert len(comprehensive) == 1
    assert comprehensive[0]["no"] == 1 and comprehensive[0]["name"] == "综合窗口"
    for w in wins:
        assert w["department"] is None or w["department"] in departments
    assert {w["department"] for w in wins if w["department"]} == set(departments)


def test_posts_are_exactly_the_conventional_ones(hall, departments):
    posts = {p["name"]: p for p in hall["posts"]}
    # five posts per department and its head (负责人岗, who approves a 延期), the center's three, and the district
    # government's coordinating post (a 联办 dissent it decides)
    assert len(posts) == len(hall["posts"]) == 6 * 10 + 3 + 1
    for code, d in departments.items():
        s = d["short"]
        expected = {f"{s}受理A岗": "window_a", f"{s}受理B岗": "window_b", f"{s}审核岗": "review",
                    f"{s}审批岗": "approve", f"{s}督查岗": "supervise", f"{s}负责人岗": "head"}
        for name, kind in expected.items():
            assert posts[name]["kind"] == kind and posts[name]["department"] == code
    assert posts["综合受理A岗"]["kind"] == "window_a" and posts["综合受理A岗"]["department"] is None
    assert posts["综合受理B岗"]["kind"] == "window_b" and posts["综合受理B岗"]["department"] is None
    assert posts["中心督查岗"]["kind"] == "supervise" and posts["中心督查岗"]["department"] is None
    assert posts["区政府协调岗"]["kind"] == "government" and posts["区政府协调岗"]["department"] is None
    assert all(p["kind"] in POST_KINDS for p in posts.values())


def test_every_post_referenced_by_a_user_exists(hall):
    names = {p["name"] for p in hall["posts"]}
    for u in hall["users"]:
        for post in u.get("posts", []):
            assert post in names, (u["username"], post)


def test_users_have_unique_ascii_usernames_and_known_roles(hall):
    users = hall["users"]
    usernames = [u["username"] for u in users]
    assert len(set(usernames)) == len(usernames)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in usernames)
    for u in users:
        assert u["roles"] and set(u["roles"]) <= ROLES, u["username"]
    assert any(u["username"] == "admin" and u["roles"] == ["admin"] for u in users)
    for role in ("analyst", "ops"):
        assert any(role in u["roles"] for u in users)


def test_22_window_clerks_each_holding_the_a_post_of_their_window(hall):
    posts = {p["name"]: p for p in hall["posts"]}
    windows = {w["no"]: w for w in hall["windows"]}
    clerks = [u for u in hall["users"] if u.get("window") is not None]
    assert len(clerks) == 22
    for u in clerks:
        assert "clerk" in u["roles"]
        dept = windows[u["window"]]["department"]
        a_posts = [p for p in u["posts"] if posts[p]["kind"] == "window_a"]
        assert len(a_posts) == 1, u["username"]
        assert posts[a_posts[0]]["department"] == dept, u["username"]


def test_every_department_has_reviewer_approver_and_supervisor(hall, departments):
    held = {p for u in hall["users"] for p in u.get("posts", [])}
    for d in departments.values():
        for suffix in ("受理A岗", "审核岗", "审批岗", "督查岗"):
            assert d["short"] + suffix in held
    assert "中心督查岗" in held
    for u in hall["users"]:
        if any(p.endswith("督查岗") for p in u.get("posts", [])):  # 中心督查岗: center_supervisor (sees all)
            expected = "center_supervisor" if "中心督查岗" in u["posts"] else "supervisor"
            assert expected in u["roles"], u["username"]


def test_every_window_a_post_has_a_backup_held_by_someone_else(hall):
    posts = {p["name"]: p for p in hall["posts"]}
    holders = {}
    for u in hall["users"]:
        for p in u.get("posts", []):
            holders.setdefault(p, set()).add(u["username"])
    for p in posts.values():
        if p["kind"] != "window_a":
            continue
        backup = p.get("backup")
        assert backup in posts and posts[backup]["kind"] == "window_b", p["name"]
        assert posts[backup]["department"] == p["department"]
        a_holders = holders.get(p["name"], set())
        assert a_holders, p["name"]
        assert holders.get(backup, set()) - a_holders, f"{backup} has no holder outside {p['name']}"


# ---------------------------------------------------------------- the matters

def test_90_matters_with_unique_codes(matters):
    assert len(matters) == 90
    codes = [m["code"] for m in matters.values()]
    assert len(set(codes)) == 90
    assert len({m["name"] for m in matters.values()}) == 90


def test_matter_code_matches_pattern_folder_file_and_type(matters, departments):
    for path, m in matters.items():
        match = CODE_RE.match(m["code"])
        assert match, path
        assert path.stem == m["code"]
        assert path.parent.name == m["department"] in departments
        assert match.group(1) == departments[m["department"]]["letters"], path
        assert match.group(2) == TYPES[m["type"]], path


def test_serials_start_at_0001_per_department_and_type(matters):
    serials = {}
    for m in matters.values():
        prefix, serial = m["code"].rsplit("-", 1)
        serials.setdefault(prefix, []).append(int(serial))
    for prefix, nums in serials.items():
        assert sorted(nums) == list(range(1, len(nums) + 1)), prefix


def test_every_required_field_is_present_with_the_right_type(matters):
    for path, m in matters.items():
        for field, typ in MATTER_FIELDS.items():
            assert field in m, (path.name, field)
            assert isinstance(m[field], typ), (path.name, field)
            if typ is int:
                assert not isinstance(m[field], bool) and m[field] >= 0, (path.name, field)
        assert "higher_authority" in m
        assert m["higher_authority"] is None or isinstance(m["higher_authority"], str)
        assert m["kind"] in KINDS and m["type"] in TYPES
        assert m["acceptance_conditions"].strip() and m["legal_basis"] and m["procedure"]
        assert m["result"].get("type") in {"证照", "批文", "其他"} and m["result"].get("name")
        assert m["visits"] >= 1
        assert "0510-8" in m["consultation"] and "0510-8" in m["complaint"]


def test_materials_rows(matters):
    for path, m in matters.items():
        assert 3 <= len(m["materials"]) <= 8, path.name
        for row in m["materials"]:
            assert isinstance(row["name"], str) and row["name"]
            assert isinstance(row["originals"], int) and isinstance(row["copies"], int)
            assert row["originals"] + row["copies"] >= 1, (path.name, row["name"])
            assert isinstance(row["required"], bool)
            assert isinstance(row["source"], str) and isinstance(row["note"], str)


def test_fees(matters):
    for path, m in matters.items():
        if m["fee_charged"]:
            assert m["fee_basis"] != "不收费" and m["fee_standard"] != "不收费", path.name
        else:
            assert m["fee_basis"] == m["fee_standard"] == "不收费", path.name


def test_special_procedures(matters):
    for path, m in matters.items():
        for sp in m["special_procedures"]:
            assert isinstance(sp["name"], str) and sp["name"], path.name
            assert isinstance(sp["max_days"], int) and sp["max_days"] > 0, path.name


def test_time_limits(matters):
    """No statute sets 0 days: every matter has a statutory limit and its basis; promised ≤ statutory;
    immediate matters are decided on the spot (promised 0) within their statutory limit."""
    for path, m in matters.items():
        assert m["statutory_days"] >= 1, path.name
        assert m["promised_days"] <= m["statutory_days"], path.name
        assert "《" in m["statutory_basis"], path.name
        if m["kind"] == "immediate":
            assert m["promised_days"] == 0, path.name
        else:
            assert m["promised_days"] > 0, path.name


def test_joint_matters_have_valid_co_departments(matters, departments):
    for path, m in matters.items():
        if m["kind"] == "joint":
            co = m["co_departments"]
            assert 1 <= len(co) <= 3, path.name
            assert len(set(co)) == len(co)
            for d in co:
                assert d in departments and d != m["department"], (path.name, d)
        else:
            assert m["co_departments"] == [], path.name


def test_reported_matters_have_higher_authority(matters):
    for path, m in matters.items():
        if m["kind"] == "reported":
            assert isinstance(m["higher_authority"], str) and m["higher_authority"].strip(), path.name
        else:
            assert m["higher_authority"] is None, path.name


def test_every_department_has_matters_and_all_kinds_occur(matters, departments):
    assert {m["department"] for m in matters.values()} == set(departments)
    assert {m["kind"] for m in matters.values()} == KINDS
    assert any(m["green_channel"] for m in matters.values())


def test_posts_b_are_held_within_their_department_or_at_the_comprehensive_window(hall):
    """A B post decides its department's 即办件 when the A post is away: never another department's clerk."""
    posts = {p["name"]: p for p in hall["posts"]}
    windows = {w["no"]: w for w in hall["windows"]}
    for u in hall["users"]:
        own = {posts[p]["department"] for p in u["posts"] if posts[p]["kind"] != "window_b"}
        window = windows[u["window"]] if u.get("window") is not None else None
        for name in u["posts"]:
            post = posts[name]
            if post["kind"] != "window_b":
                continue
            if window is not None:  # a window clerk: of the post's department, or at the comprehensive window
                assert window["department"] in (post["department"], None), (u["username"], name)
            else:  # staff without a window: holding another post of the department (the center's: none)
                assert post["department"] in own or (post["department"] is None and not own), (u["username"], name)
    comprehensive = [u for u in hall["users"] if u.get("window") == 1]
    assert comprehensive and all(f"{d['short']}受理B岗" in comprehensive[0]["posts"] for d in hall["departments"])


def test_the_comprehensive_window_is_a_candidate_of_every_acceptance(matters, departments):
    for path, m in matters.items():
        bpmn = path.with_suffix(".bpmn").read_text(encoding="utf-8")
        accept = re.search(r'<bpmn:userTask id="accept"[^>]*>', bpmn).group(0)
        groups = re.search(r'camunda:candidateGroups="([^"]*)"', accept).group(1).split(",")
        assert groups == [f"{departments[m['department']]['short']}受理A岗", "综合受理A岗"], path.name


# ---------------------------------------------------------------- one year: 2008

def test_the_catalog_describes_2008(matters):
    assert laws.REFERENCE_YEAR == 2008
    for path, m in matters.items():
        assert isinstance(m["effective_from"], date) and m["effective_from"].year <= laws.REFERENCE_YEAR, path.name
        assert "cancelled_on" in m, path.name
        cancelled = m["cancelled_on"]
        assert cancelled is None or (isinstance(cancelled, date) and cancelled >= m["effective_from"]), path.name


def test_no_law_after_the_reference_year(matters):
    for path, m in matters.items():
        for text in [*m["legal_basis"], m["statutory_basis"]]:
            year = laws.citation_year(text)
            assert year is not None, (path.name, text)
            assert year <= laws.REFERENCE_YEAR, (path.name, text, year)
            assert year <= m["effective_from"].year, (path.name, text, year)
        year = laws.citation_year(m["fee_basis"])
        assert year is None or year <= laws.REFERENCE_YEAR, (path.name, m["fee_basis"])


@pytest.mark.parametrize(("text", "year"), [
    ("《企业投资项目核准和备案管理条例》第三条", 2016),
    ("《中华人民共和国医师法》第十三条", 2021),
    ("《中华人民共和国城市房地产管理法》（2019年修正）第四十五条", 2019),
    ("《中华人民共和国城市房地产管理法》（2007年修正）第四十五条", 2007),
    ("《国务院关于投资体制改革的决定》（国发〔2004〕20号）", 2004),
    ("《国家中长期人才发展规划纲要（2010-2020年）》", 2020),
    ("《房屋登记办法》第二十三条", 2008),
    ("区人才公寓管理暂行办法", None),
])
def test_citation_years(text, year):
    assert laws.citation_year(text) == year


def _by_name(matters, fragment):
    found = [m for m in matters.values() if fragment in m["name"]]
    assert len(found) == 1, (fragment, [m["name"] for m in found])
    return found[0]


@pytest.mark.parametrize(("fragment", "department"), [
    ("食品卫生许可证", "wsj"), ("从业人员健康证明", "wsj"), ("城市房屋拆迁许可", "fgju"), ("廉租住房", "fgju"),
    ("经济适用住房", "fgju"), ("音像制品零售", "wtj"), ("收费许可证", "fgj"), ("人事代理", "rlj"),
    ("劳动用工备案", "rlj"),
    # abolished later, in force in 2008: they belong to it
    ("会计从业资格认定", "czj"), ("政府采购代理机构资格认定", "czj"), ("竣工环境保护验收", "hbj"),
])
def test_a_2008_district_center_has(matters, fragment, department):
    assert _by_name(matters, fragment)["department"] == department


@pytest.mark.parametrize("fragment", ["公共租赁住房", "劳务派遣", "人力资源服务许可", "高危险性体育项目", "人才公寓",
                                      "城镇污水排入排水管网", "登记表备案", "节能审查"])
def test_matters_created_after_2008_are_not_in_it(matters, fragment):
    assert not [m for m in matters.values() if fragment in m["name"]]


def test_limits_from_the_statute(matters):
    mortgage = _by_name(matters, "抵押权")
    assert mortgage["statutory_days"] == 10 and "《房屋登记办法》" in mortgage["statutory_basis"] \
        and "第二十三条" in mortgage["statutory_basis"]
    entertainment = _by_name(matters, "娱乐场所")
    assert entertainment["statutory_days"] == 20 and entertainment["kind"] == "promised"
    assert "《娱乐场所管理条例》" in entertainment["statutory_basis"] and "第十一条" in entertainment["statutory_basis"]
    for fragment in ("房屋所有权首次登记", "房屋所有权转移登记"):
        assert _by_name(matters, fragment)["statutory_days"] == 30  # 《房屋登记办法》第二十三条
    assert _by_name(matters, "建设项目环境影响报告书")["statutory_days"] == 60  # 环评法第二十二条
    assert _by_name(matters, "建设项目环境影响报告表")["statutory_days"] == 30
    assert _by_name(matters, "建设项目环境影响登记表")["statutory_days"] == 15
    assert _by_name(matters, "工伤认定")["statutory_days"] == 60  # 《工伤保险条例》第二十条
    assert _by_name(matters, "医疗机构执业登记")["statutory_days"] == 45  # 《医疗机构管理条例》第十七条
    assert _by_name(matters, "商品房预售许可")["statutory_days"] == 10  # 《城市商品房预售管理办法》第七条


def test_nurse_registration_is_reported_to_the_province(matters):
    nurse = _by_name(matters, "护士执业注册")
    assert nurse["kind"] == "reported" and "卫生厅" in nurse["higher_authority"]
    assert nurse["statutory_days"] == 20 and "第四十三条" in nurse["statutory_basis"]


def test_ten_departments_each_with_matters(matters, departments):
    assert len(departments) == 10
    counts = {code: sum(m["department"] == code for m in matters.values()) for code in departments}
    assert all(n >= 3 for n in counts.values()), counts
    assert sum(counts.values()) == 90
