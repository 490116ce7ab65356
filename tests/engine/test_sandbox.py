"""The script sandbox: escape and abuse attempts end as CaseFailed (or are refused at compile time), harmless
Python keeps working, and the worker that ran an attack serves the next script."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from app.engine import sandbox
from app.engine.case import Case
from app.engine.compiler import compile_bpmn
from app.engine.errors import CaseFailed
from app.engine.sandbox import Sandbox, SandboxLimits, check_source

LIMITS = SandboxLimits(timeout_seconds=1.0, memory_mb=160, workers=1)
BOX = Sandbox(LIMITS)


def run(script: str, **data) -> dict:
    context = dict(data)
    BOX.execute(script, context)
    return context


def fails(script: str, *fragments: str, **data) -> str:
    """The script fails as a CaseFailed naming the reason; the sandbox still runs a harmless script afterwards."""
    with pytest.raises(CaseFailed) as caught:
        run(script, **data)
    message = caught.value.message
    for fragment in fragments:
        assert fragment in message, message
    assert run("y = x + 1", x=1) == {"x": 1, "y": 2}
    return message


# --- escapes: imports, builtins, dunders, introspection -------------------------------------------------------

ESCAPES = {
    "dunder import": "m = __import__('os')",
    "import os": "import os\nenv = dict(os.environ)",
    "import subprocess": "import subprocess\nsubprocess.run(['id'])",
    "from os import": "from os import environ",
    "import sys": "import sys\nv = sys.modules['os'].environ['HOME']",
    "relative import": "from . import sandbox",
    "star import": "from math import *",
    "open a file": "text = open('/etc/passwd').read()",
    "subclasses walk": "x = ().__class__.__bases__[0].__subclasses__()",
    "getattr dunder": "x = getattr((), '__class__')",
    "getattr built dunder": "name = '_' + '_class__'\nx = getattr((), name)",
    "globals": "g = globals()",
    "vars": "v = vars()",
    "locals": "v = locals()",
    "dir": "v = dir()",
    "eval": "v = eval('1 + 1')",
    "exec": "exec('v = 1')",
    "compile": "c = compile('1', '<x>', 'eval')",
    "type of": "t = type(1)",
    "type three args": "T = type('T', (), {})",
    "class statement": "class T:\n    pass",
    "generator frame": "g = (i for i in [1])\nf = g.gi_frame.f_back",
    "generator frame via getattr": "g = (i for i in [1])\nf = getattr(g, 'gi_frame')",
    "generator code": "g = (i for i in [1])\nc = getattr(g, 'gi_code')",
    "format attribute": "s = '{0.__class__}'.format(1)",
    "format deep": "s = '{0.__class__.__mro__[1].__subclasses__}'.format(1)",
    "format_map attribute": "s = '{x.__class__}'.format_map({'x': 1})",
    "unbound str.format": "f = lambda: 0\ns = str.format('{0.__globals__}', f)",
    "function globals": "f = lambda: 0\ng = getattr(f, '__globals__')",
    "function code": "f = lambda: 0\nc = f.__code__",
    "traceback frame": "try:\n    1 / 0\nexcept Exception as e:\n    t = getattr(e, '__traceback__')",
    "builtins name": "b = __builtins__",
    "open via builtins dict": "b = __builtins__['open']",
    "module loader": "import math\nl = getattr(math, '__loader__')",
    "json codecs": "import json\nf = json.codecs.open('/etc/passwd').read()",
    "statistics sys": "import statistics\nenv = statistics.sys.modules['os'].environ",
    "re internals": "import re\nc = re._compiler",
    "decimal context": "import decimal\ndecimal.getcontext().prec = 1",
    "module write": "import math\nmath.pi = 3",
    "setattr": "import math\nsetattr(math, 'pi', 3)",
    "bound method self": "f = [].append\nl = getattr(f, '__self__')",
    "mro": "m = int.mro()",
    "breakpoint": "breakpoint()",
    "input": "v = input()",
    "help": "help()",
    "underscore name": "_secret = 1",
}


@pytest.mark.parametrize("script", ESCAPES.values(), ids=ESCAPES.keys())
def test_escapes_fail_as_case_failed_and_the_sandbox_goes_on(script):
    message = fails(script)
    assert "(" in message and ")" in message  # Chinese first, English in parentheses


COMPILE_TIME = ["dunder import", "import os", "import subprocess", "from os import", "import sys", "relative import",
                "star import", "subclasses walk", "class statement", "function code", "builtins name",
                "open via builtins dict", "re internals", "underscore name", "eval", "exec", "generator frame"]


@pytest.mark.parametrize("name", COMPILE_TIME)
def test_syntax_level_escapes_are_refused_at_compile_time(name):
    assert check_source(ESCAPES[name], "exec") is not None


# --- abuse: exits, loops, recursion, memory, CPU ---------------------------------------------------------------

@pytest.mark.parametrize("script,fragment", [
    ("raise SystemExit(3)", "SystemExit"),
    ("raise KeyboardInterrupt", "KeyboardInterrupt"),
    ("raise BaseException('out')", "BaseException"),
    ("raise GeneratorExit", "GeneratorExit"),
    ("x = 1 / 0", "division by zero"),
    ("x = {}['missing']", "KeyError"),
])
def test_raising_anything_fails_only_the_step(script, fragment):
    assert "运行出错" in fails(script, fragment)


def test_an_endless_loop_is_killed_at_the_timeout_and_the_worker_replaced():
    fails("while True:\n    pass", "超时", "1 s")


def test_a_cpu_bound_big_power_is_stopped():
    fails("x = 10 ** 10 ** 10")


def test_deep_recursion_is_an_error_of_the_step():
    fails("def f(n):\n    return f(n + 1)\nf(0)", "递归过深")


@pytest.mark.parametrize("script", ["s = 'x' * 10 ** 10", "l = [0] * 10 ** 9", "l = list(range(10 ** 9))",
                                    "s = 'x' * (200 * 1024 * 1024)"])
def test_large_allocations_hit_the_memory_limit(script):
    fails(script)


def test_data_too_large_to_hand_back_is_refused():
    box = Sandbox(SandboxLimits(timeout_seconds=2, memory_mb=160, workers=1, max_output_bytes=1024 * 1024))
    with pytest.raises(CaseFailed, match="过大"):
        box.execute("s = 'x' * (2 * 1024 * 1024)", {})
    assert box.evaluate("len('abc') == 3", {}) is True


# --- what a script leaves in the data -------------------------------------------------------------------------

@pytest.mark.parametrize("script,what", [
    ("s = {1, 2}", "set"),
    ("import math\nholder = [math]", "SafeModule"),
    ("f = [lambda: 1]", "function"),
    ("g = (i for i in [1])", "generator"),
    ("d = Decimal('1.5')", "Decimal"),
    ("t = timedelta(days=1)", "timedelta"),
    ("x = float('nan')", "NaN"),
    ("m = {1: 'a'}", "not a string"),
    ("x = ...", "ellipsis"),
    ("e = ValueError('x')", "ValueError"),
    ("x = []\nfor i in range(300):\n    x = [x]", "nested deeper"),
])
def test_a_value_that_is_not_json_is_an_error_of_the_step(script, what):
    fails(script, "不是 JSON", what)


def test_datetimes_left_in_the_data_become_iso_strings():
    out = run("from datetime import date\nwhen = datetime(2026, 11, 25, 9, 0)\nday = date(2026, 11, 25)\n"
              "later = [datetime(2026, 1, 1) + timedelta(days=1)]")
    assert out == {"when": "2026-11-25T09:00:00", "day": "2026-11-25", "later": ["2026-01-02T00:00:00"]}


def test_tools_and_helper_functions_are_not_data():
    out = run("import math\nimport datetime as dt\nfrom math import sqrt\nf = len\n"
              "def double(v):\n    return v * 2\nkey = lambda v: -v\ny = double(sqrt(16))", x=1)
    assert out == {"x": 1, "y": 8.0}


def test_a_script_cannot_reach_the_secrets_of_the_server(monkeypatch):
    monkeypatch.setenv("TONGBAN_ADMIN_TOKEN", "top-secret-token")
    for script in ("import os", "v = open('/proc/self/environ').read()",
                   "import json\nv = json.codecs.open('/proc/self/environ').read()"):
        fails(script)
    worker = sandbox._pool(LIMITS).acquire(wait=10)
    try:
        with open(f"/proc/{worker.proc.pid}/environ", "rb") as handle:
            assert handle.read() == b""  # the worker was started with an empty environment
        fds = os.listdir(f"/proc/{worker.proc.pid}/fd")
        assert len(fds) <= 6  # stdin/stdout/stderr (as /dev/null), the two protocol pipes: no DB sockets
        if os.getuid() == 0:
            with open(f"/proc/{worker.proc.pid}/status") as handle:
                uid_line = next(line for line in handle if line.startswith("Uid:"))
            assert uid_line.split()[1] == "65534"  # nobody
    finally:
        sandbox._pool(LIMITS).release(worker, healthy=True)


# --- harmless Python keeps working ---------------------------------------------------------------------------

def test_common_python_works():
    script = """
import math
import json
import re
import statistics
from datetime import datetime as dt
from decimal import Decimal as D

total = sum(amounts)
biggest, smallest = max(amounts), min(amounts)
squares = [a * a for a in amounts if a > 1]
lookup = {name: len(name) for name in names}
unique = sorted(set(names))
label = f"{applicant} 共 {len(amounts)} 项"
formatted = "{} / {:.1f}".format(applicant, 2.25)
mapped = "{name}".format_map({"name": applicant})
percent = "%s=%d" % ("n", 3)
first = names[0].upper()
names.append("丙")
info = dict(a=1)
info.update({"b": 2})
count = 0
for index, name in enumerate(names):
    count += index
root = round(math.sqrt(total), 2)
avg = statistics.mean(amounts)
encoded = json.dumps({"k": 1})
digits = re.sub(r"\\D", "", "电话 138-0000")
flag = isinstance(total, int) and bool(total) and str(total) == "6" and int("7") == 7 and float("1.5") == 1.5
money = str(D("0.1") + D("0.2"))
year = dt.now().year > 2000
deadline = datetime.now() + timedelta(days=3)
stamp = datetime(2026, 11, 25).strftime("%Y年%m月%d日")
parsed = datetime.strptime("2026-11-25 09:30", "%Y-%m-%d %H:%M")
in_time = deadline > datetime.now()
try:
    int("x")
except ValueError as err:
    problem = str(err)
print("ok")
del info["a"]
"""
    out = run(script, applicant="张三", amounts=[1, 2, 3], names=["甲", "乙"])
    assert out["total"] == 6 and out["biggest"] == 3 and out["squares"] == [4, 9]
    assert out["lookup"] == {"甲": 1, "乙": 1} and out["unique"] == ["乙", "甲"]
    assert out["label"] == "张三 共 3 项" and out["formatted"] == "张三 / 2.2" and out["mapped"] == "张三"
    assert out["percent"] == "n=3" and out["names"] == ["甲", "乙", "丙"] and out["info"] == {"b": 2}
    assert out["count"] == 3 and out["root"] == 2.45 and out["avg"] == 2 and out["encoded"] == '{"k": 1}'
    assert out["digits"] == "1380000" and out["flag"] is True and out["money"] == "0.3"
    assert out["year"] is True and out["in_time"] is True and isinstance(out["deadline"], str)
    assert "invalid literal" in out["problem"]
    assert out["stamp"] == "2026年11月25日" and out["parsed"] == "2026-11-25T09:30:00"


def test_a_script_deletes_and_keeps_data():
    assert run("del a\nb = b + 1", a=1, b=2, c={"x": [1]}) == {"b": 3, "c": {"x": [1]}}


def test_data_whose_keys_look_like_internals_survives_a_script():
    data = {"\x00": {"\x00": "dict"}, "_getattr_": "mine", "typename": "nope", "x": 1}
    assert run("x = x + 1", **data) == {**data, "x": 2}


# --- expressions: conditions, timers, DMN --------------------------------------------------------------------

def test_plain_conditions_are_evaluated_in_process_and_give_the_same_answers():
    data = {"outcome": "accept", "amount": 1200, "tags": ["急", "重"], "when": datetime(2026, 1, 1)}
    for text, expected in [('outcome == "accept"', True), ('outcome not in ("accept", "supplement")', False),
                           ("amount > 1000 and not outcome == 'reject'", True), ('"急" in tags', True),
                           ("amount >= -1 if outcome else False", True), ("outcome is None", False)]:
        assert sandbox._fast_condition(text) is not None, text
        assert BOX.evaluate(text, data) is expected
        assert BOX._call("eval", text, data, None)["value"] is expected  # the worker agrees


def test_other_expressions_go_to_the_worker():
    for text in ("len(tags) == 2", "amount * 2", "tags[0]", "outcome.upper()", "[x for x in tags]"):
        assert sandbox._fast_condition(text) is None, text
    data = {"tags": ["a", "b"], "amount": 2, "outcome": "ok"}
    assert BOX.evaluate("len(tags) == 2", data) is True
    assert BOX.evaluate("amount * 2", data) == 4
    assert BOX.evaluate("outcome.upper()", data) == "OK"


def test_a_failing_condition_is_case_failed():
    with pytest.raises(CaseFailed, match="TypeError"):
        BOX.evaluate("amount > 'x'", {"amount": 1})
    with pytest.raises(CaseFailed, match="NameError"):
        BOX.evaluate("missing == 1", {})
    with pytest.raises(CaseFailed, match="不符合沙箱规则"):
        BOX.evaluate("().__class__", {})
    with pytest.raises(CaseFailed, match="超时"):
        BOX.evaluate("any(False for i in iter(int, 1))", {})
    with pytest.raises(CaseFailed, match="超时"):
        BOX.evaluate("sum(1 for i in iter(int, 1))", {})


def test_expression_values_that_are_not_json_cross_back_typed():
    assert BOX.evaluate("datetime(2026, 1, 1) + timedelta(days=1)", {}) == datetime(2026, 1, 2)
    assert BOX.evaluate("timedelta(hours=1)", {}) == timedelta(hours=1)
    assert BOX.evaluate("Decimal('1.10')", {}) == Decimal("1.10")
    assert BOX.evaluate("when + timedelta(days=1)", {"when": datetime(2026, 1, 1)}) == datetime(2026, 1, 2)
    with pytest.raises(CaseFailed, match="不是数据"):
        BOX.evaluate("len", {})


def test_check_source_reports_syntax_and_rules():
    assert check_source("x = 1", "exec") is None
    assert check_source('outcome == "accept"', "eval") is None
    assert "SyntaxError" in check_source("x = ", "exec")
    assert "import" in check_source("import os", "exec")
    assert check_source("x = 1", "eval") is not None  # a statement is not an expression
    with pytest.raises(ValueError):
        check_source("x", "single")


def test_limits_are_validated():
    with pytest.raises(ValueError):
        SandboxLimits(timeout_seconds=0)
    with pytest.raises(ValueError):
        SandboxLimits(memory_mb=16)


# --- through the engine: the element of the failing step -----------------------------------------------------

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://t">
  <bpmn:process id="scripted" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc" />
    <bpmn:scriptTask id="calc" name="计算"><bpmn:script>SCRIPT</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="gate" />
    <bpmn:exclusiveGateway id="gate" default="f4" />
    <bpmn:sequenceFlow id="f3" sourceRef="gate" targetRef="big">
      <bpmn:conditionExpression>CONDITION</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="gate" targetRef="small" />
    <bpmn:endEvent id="big" />
    <bpmn:endEvent id="small" />
  </bpmn:process>
</bpmn:definitions>"""


def _case(script: str, condition: str = "total > 10", data: dict | None = None) -> Case:
    source = BPMN.replace("SCRIPT", script).replace("CONDITION", condition).encode()
    process = compile_bpmn(source, "scripted.bpmn")[0]
    return Case.start(process, data or {"amounts": [5, 6]}, limits=LIMITS)


def test_a_case_runs_scripts_and_conditions_in_the_sandbox():
    case = _case("import math\ntotal = sum(amounts)\nroot = math.sqrt(total)")
    assert case.workflow.is_completed()
    assert case.data()["total"] == 11 and [s.element_id for s in case.steps][-1] == "big"


@pytest.mark.parametrize("script,condition,element,fragment", [
    ("import os", "True", "calc", "import"),
    ("while True:\n    pass", "True", "calc", "超时"),
    ("raise SystemExit(3)", "True", "calc", "SystemExit"),
    ("total = {1}", "True", "calc", "不是 JSON"),
    ("total = 1", "total.__class__", "gate", "不符合沙箱规则"),
    ("total = 1", "[0] * 10 ** 9", "gate", "内存"),
])
def test_a_failing_step_names_its_element(script, condition, element, fragment):
    with pytest.raises(CaseFailed) as caught:
        _case(script, condition)
    assert caught.value.element == element and fragment in caught.value.message, caught.value.message
    assert _case("total = sum(amounts)").workflow.is_completed()


def test_a_cached_case_follows_new_limits():
    case = _case("total = 1")
    case.set_limits(SandboxLimits(timeout_seconds=3))
    assert case.workflow.script_engine.limits.timeout_seconds == 3
    assert case.workflow.script_engine.now is not None


def test_check_spec_finds_every_refused_script_condition_and_expression():
    from app.engine.sandbox_checks import check_spec

    bad = (BPMN.replace("SCRIPT", "import os").replace("CONDITION", "total.__class__")
           .replace('<bpmn:endEvent id="small" />',
                    '<bpmn:intermediateCatchEvent id="small"><bpmn:timerEventDefinition><bpmn:timeDuration>'
                    "__import__('os')</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"))
    from lxml import etree
    from SpiffWorkflow.bpmn.parser import BpmnParser

    parser = BpmnParser()
    parser.add_bpmn_xml(etree.fromstring(bad.encode()), filename="bad.bpmn")
    spec = parser.get_spec("scripted")
    found = dict(check_spec(spec))
    assert set(found) == {"calc", "gate", "small"}, found
    assert all("沙箱规则" in message for message in found.values())
    good = compile_bpmn(BPMN.replace("SCRIPT", "total = 1").replace("CONDITION", "total > 0").encode(), "g.bpmn")[0]
    assert check_spec(good.spec, good.subprocess_specs) == []


def test_the_kernel_stops_a_worker_whose_parent_does_not():
    """The CPU backstop: even with a parent that waits for ever, a looping worker dies of SIGXCPU."""
    import signal

    from app.engine.sandbox_runtime import dumps

    worker = sandbox._Worker(160)
    try:
        worker.wait_ready()
        payload = dumps({"op": "exec", "src": "while True:\n    pass", "data": {}, "ext": {}, "cpu": 1})
        with pytest.raises(sandbox._WorkerDied) as died:
            worker.call(payload, timeout=30)
        assert died.value.status == -signal.SIGXCPU
    finally:
        worker.kill()


def test_every_shipped_diagram_passes_the_sandbox_rules():
    from pathlib import Path

    from app.engine.sandbox_checks import check_spec

    root = Path(__file__).resolve().parents[2] / "processes"
    checked = 0
    for path in sorted(root.rglob("*.bpmn")):
        for process in compile_bpmn(path.read_bytes(), path.name):
            assert check_spec(process.spec, process.subprocess_specs) == [], path
            checked += 1
    assert checked >= 90


def test_a_sandbox_that_cannot_start_fails_the_step_not_the_server(monkeypatch, tmp_path):
    broken = tmp_path / "broken_runtime.py"
    broken.write_text("raise SystemExit(1)\n")
    monkeypatch.setattr(sandbox, "_RUNTIME", str(broken))
    box = Sandbox(SandboxLimits(timeout_seconds=1, memory_mb=96, workers=1))  # a pool of its own
    with pytest.raises(CaseFailed, match="沙箱不可用"):
        box.execute("x = 1", {})
    assert box.evaluate('x == "a"', {"x": "a"}) is True  # plain conditions need no worker
    sandbox._pools.pop((96, 1)).close()
