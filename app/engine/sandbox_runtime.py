"""The restricted language of diagrams, and the worker process that runs it.

This module imports nothing of the app (only the standard library and RestrictedPython), because it is also
run on its own, by path, as the sandbox worker: `python -I sandbox_runtime.py --memory-mb 256`. The parent
side (pool, timeouts, the SpiffWorkflow environment) is `sandbox.py`.

What a script may do is decided twice: at compile time by RestrictedPython's transformer plus `_Policy`
(no names or attributes starting with `_`, no classes, imports only from `MODULES`), and at run time by the
guards handed to the compiled code (`_getattr_`, `_getitem_`, `_write_`, `__import__`...). The worker adds
the limits the language cannot: an address-space limit, a CPU backstop, no environment, no files.
"""

from __future__ import annotations

import ast
import datetime as _dt
import decimal as _decimal
import json
import math
import operator
import os
import re
import statistics
import string
import sys
import types
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer

SCRIPT_FILE = "<script>"
EXPRESSION_FILE = "<expression>"
MAX_DEPTH = 200  # nesting of the data a script leaves behind (and of the values crossing the pipe)
MAX_MESSAGE = 500  # characters of an error message that cross back


# --- the modules a script may import (read-only views of the allowed names only) -------------------------

class SafeModule:
    """A read-only module view: only the listed names; `json.codecs`, `statistics.sys`... are not reachable."""

    __slots__ = ("_SafeModule__name", "_SafeModule__attrs")

    def __init__(self, name: str, attrs: dict[str, Any]) -> None:
        object.__setattr__(self, "_SafeModule__name", name)
        object.__setattr__(self, "_SafeModule__attrs", dict(attrs))

    def __getattr__(self, attr: str) -> Any:
        try:
            return self.__attrs[attr]
        except KeyError:
            raise AttributeError(f"module '{self.__name}' has no attribute '{attr}' (or it is not allowed)") from None

    def __setattr__(self, attr: str, value: Any) -> None:
        raise AttributeError(f"module '{self.__name}' is read-only")

    def __delattr__(self, attr: str) -> None:
        raise AttributeError(f"module '{self.__name}' is read-only")

    def __dir__(self) -> list[str]:
        return sorted(self.__attrs)

    def __repr__(self) -> str:
        return f"<module '{self.__name}'>"


def _public(module: types.ModuleType, names: list[str] | None = None) -> dict[str, Any]:
    names = names if names is not None else [n for n in dir(module) if not n.startswith("_")]
    # Never a module inside a module: that is how `json.codecs.open` or `statistics.sys.modules` would escape.
    return {n: getattr(module, n) for n in names if not isinstance(getattr(module, n), types.ModuleType)}


_ROUNDINGS = [n for n in dir(_decimal) if n.startswith("ROUND_")]
MODULES: dict[str, SafeModule] = {
    "math": SafeModule("math", _public(math)),
    "datetime": SafeModule("datetime", _public(_dt, ["date", "datetime", "time", "timedelta", "timezone", "tzinfo",
                                                      "MINYEAR", "MAXYEAR", "UTC"])),
    # no getcontext/setcontext/localcontext: a worker's decimal context would outlive the script that changed it
    "decimal": SafeModule("decimal", _public(_decimal, ["Decimal", "DecimalException", "InvalidOperation",
                                                        "DivisionByZero", "Inexact", "Rounded", *_ROUNDINGS])),
    "json": SafeModule("json", _public(json, ["dumps", "loads", "JSONDecodeError"])),
    "re": SafeModule("re", _public(re, ["compile", "search", "match", "fullmatch", "split", "findall", "finditer",
                                        "sub", "subn", "escape", "error", "A", "ASCII", "I", "IGNORECASE", "M",
                                        "MULTILINE", "S", "DOTALL", "X", "VERBOSE", "U", "UNICODE"])),
    "statistics": SafeModule("statistics", _public(statistics, [
        "mean", "fmean", "geometric_mean", "harmonic_mean", "median", "median_low", "median_high",
        "median_grouped", "mode", "multimode", "quantiles", "pstdev", "pvariance", "stdev", "variance",
        "StatisticsError"])),
}
ALLOWED_MODULES = tuple(sorted(MODULES))

# Names every script and expression sees without importing (the first four as SpiffWorkflow's default
# environment and Tongban's timer expressions always had them; data of the same name wins).
PRESET: dict[str, Any] = {
    "datetime": _dt.datetime, "date": _dt.date, "timedelta": _dt.timedelta, "timezone": _dt.timezone,
    "Decimal": _decimal.Decimal,
    **{name: module for name, module in MODULES.items() if name != "datetime"},
}


# --- compile time ----------------------------------------------------------------------------------------

class RuleBroken(Exception):
    """The source breaks a sandbox rule or is not valid Python: refused before it runs."""


def _allowed_module(name: str | None) -> bool:
    return name in MODULES


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's rules, plus: imports only from the allow-list, and no class statements."""

    def visit_Import(self, node: ast.Import) -> ast.AST:
        for alias in node.names:
            if not _allowed_module(alias.name):
                self.error(node, f'import of "{alias.name}" is not allowed (allowed: {", ".join(ALLOWED_MODULES)})')
        return super().visit_Import(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        if node.level or not _allowed_module(node.module):
            self.error(node, f'import from "{node.module or "."}" is not allowed '
                             f'(allowed: {", ".join(ALLOWED_MODULES)})')
        return super().visit_ImportFrom(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "class statements are not allowed")
        return node


_CODE_CACHE: dict[tuple[str, str], types.CodeType] = {}


def compile_source(source: str, mode: str) -> types.CodeType:
    """Restricted code for a script (mode 'exec') or an expression (mode 'eval'); RuleBroken if refused."""
    key = (mode, source)
    code = _CODE_CACHE.get(key)
    if code is not None:
        return code
    if not isinstance(source, str):
        raise RuleBroken("source is not text")
    try:
        if mode == "exec":
            result = compile_restricted_exec(source, SCRIPT_FILE, policy=_Policy)
        else:
            result = compile_restricted_eval(source.strip(), EXPRESSION_FILE, policy=_Policy)
    except (RecursionError, MemoryError):
        raise RuleBroken("the source is nested too deeply") from None
    except (SyntaxError, ValueError) as exc:  # null bytes and the like
        raise RuleBroken(f"{type(exc).__name__}: {exc}") from None
    if result.errors or result.code is None:
        raise RuleBroken("; ".join(result.errors) or "the source does not compile")
    if len(_CODE_CACHE) > 512:
        _CODE_CACHE.clear()
    _CODE_CACHE[key] = result.code
    return result.code


def check_source(source: str, mode: str = "exec") -> str | None:
    """None when `source` compiles under the sandbox's rules, else why not (Chinese, English in parentheses).

    mode: 'exec' for scripts (script tasks, pre/post scripts), 'eval' for conditions and expressions.
    For deploy-time validation; it only compiles, never runs anything.
    """
    if mode not in ("exec", "eval"):
        raise ValueError(f"mode must be 'exec' or 'eval', not {mode!r}")
    try:
        compile_source(source, mode)
    except RuleBroken as exc:
        return rule_message(str(exc))
    return None


def rule_message(detail: str) -> str:
    return f"脚本不符合沙箱规则：{detail} (the script breaks a sandbox rule)"


# --- run time: the guards ----------------------------------------------------------------------------------

_DENIED_ATTRIBUTES = INSPECT_ATTRIBUTES | {"mro", "format_field", "get_field", "get_value", "vformat"}


class _SafeFormatter(string.Formatter):
    """str.format / format_map whose fields go through the same attribute guard ("{0.__class__}" fails)."""

    def get_field(self, field_name: str, args, kwargs):
        import _string  # the C helper string.Formatter itself uses

        first, rest = _string.formatter_field_name_split(field_name)
        obj = self.get_value(first, args, kwargs)
        for is_attr, key in rest:
            obj = guarded_getattr(obj, key) if is_attr else obj[key]
        return obj, first


_FORMATTER = _SafeFormatter()


def _safe_format(text: str):
    def format(*args, **kwargs):  # the name scripts call
        return _FORMATTER.vformat(text, args, kwargs)
    return format


def _safe_format_map(text: str):
    def format_map(mapping):
        return _FORMATTER.vformat(text, (), mapping)
    return format_map


def _unbound_format(text, *args, **kwargs):
    if type(text) is not str:
        raise TypeError("descriptor 'format' requires a 'str' object")
    return _FORMATTER.vformat(text, args, kwargs)


def _unbound_format_map(text, mapping):
    if type(text) is not str:
        raise TypeError("descriptor 'format_map' requires a 'str' object")
    return _FORMATTER.vformat(text, (), mapping)


_MISSING = object()


def guarded_getattr(obj: Any, name: Any, default: Any = _MISSING) -> Any:
    """`obj.name` in a script (and its getattr()): no `_` names, no frames or code, a format that checks fields."""
    if type(name) is not str:
        raise TypeError("attribute name must be a string")
    if name.startswith("_") or name in _DENIED_ATTRIBUTES:
        raise AttributeError(f'access to attribute "{name}" is not allowed')
    if name in ("format", "format_map"):
        if type(obj) is str:
            return _safe_format(obj) if name == "format" else _safe_format_map(obj)
        if obj is str:
            return _unbound_format if name == "format" else _unbound_format_map
    if isinstance(obj, string.Formatter):
        raise AttributeError("string.Formatter is not allowed")
    if default is _MISSING:
        return getattr(obj, name)
    return getattr(obj, name, default)


def _guarded_hasattr(obj: Any, name: Any) -> bool:
    try:
        guarded_getattr(obj, name)
    except AttributeError:
        return False
    return True


def _guarded_getitem(obj: Any, key: Any) -> Any:
    return obj[key]


# C functions import through the __import__ of the running code: datetime.strftime imports `time`, strptime
# `_strptime`. They get the real modules; a script cannot name them, the compile-time rule refuses that.
_C_HELPERS = ("time", "_strptime")


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):  # __import__'s signature
    if level == 0 and name in MODULES:
        return MODULES[name]
    if level == 0 and name in _C_HELPERS and name in sys.modules:
        return sys.modules[name]
    raise ImportError(f"import of '{name}' is not allowed (allowed: {', '.join(ALLOWED_MODULES)})")


def _apply(function, *args, **kwargs):
    return function(*args, **kwargs)


_INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
            "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
            ">>=": operator.irshift, "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand,
            "@=": operator.imatmul}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    return _INPLACE[op](target, value)


def _builtins() -> dict[str, Any]:
    import builtins

    names = {n: v for n, v in safe_builtins.items() if n not in ("__build_class__", "setattr", "delattr")}
    for name in ("list", "dict", "set", "frozenset", "tuple", "enumerate", "zip", "min", "max", "sum", "any", "all",
                 "map", "filter", "reversed", "sorted", "iter", "next", "format", "ascii", "bin"):
        names[name] = getattr(builtins, name)
    names.update(getattr=guarded_getattr, hasattr=_guarded_hasattr, __import__=_guarded_import)
    return names


BUILTINS = _builtins()
# Names RestrictedPython's compiled code calls; they always win over data of the same name.
GUARDS: dict[str, Any] = {
    "__builtins__": BUILTINS,
    "__name__": "script",
    "_getattr_": guarded_getattr,
    "_getitem_": _guarded_getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_print_": PrintCollector,
    "_inplacevar_": _inplacevar,
    "_apply_": _apply,
}
# Objects the sandbox hands out: a name a script bound to one of them (`import math`, `from math import sqrt`,
# `f = len`) is a tool, not data, and is not kept in the case data.
# Only callables and modules: `x = 1` must not be taken for `datetime.MINYEAR`, which is the same object.
_PROVIDED_IDS = frozenset(id(v) for v in [*PRESET.values(), *MODULES.values(), *BUILTINS.values(),
                                          *(getattr(m, n) for m in MODULES.values() for n in dir(m))]
                          if callable(v) or isinstance(v, SafeModule))


def script_globals(data: dict[str, Any], external: dict[str, Any] | None) -> dict[str, Any]:
    namespace = {name: value for name, value in PRESET.items() if name not in data and name not in (external or {})}
    namespace.update(data)
    if external:
        namespace.update(external)
    namespace.update(GUARDS)
    return namespace


# --- data in, data out -------------------------------------------------------------------------------------

class NotData(Exception):
    def __init__(self, path: str, what: str) -> None:
        super().__init__(f"{path}: {what}")
        self.path = path
        self.what = what


_SCALARS = (str, int, bool, type(None))


def as_data(value: Any, path: str, depth: int = 0) -> Any:
    """The JSON value a script leaves in the data; datetime/date/time become ISO 8601 strings."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise NotData(path, "NaN/Infinity")
        return value
    if depth >= MAX_DEPTH:
        raise NotData(path, f"nested deeper than {MAX_DEPTH}")
    if kind is list or kind is tuple:
        return [as_data(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise NotData(f"{path}[{key!r}]", "a key that is not a string")
            out[key] = as_data(item, f"{path}.{key}", depth + 1)
        if TAG in out:  # escaped, so that the parent's decoder does not take user data for a tagged value
            return {TAG: "dict", "items": [[k, v] for k, v in out.items()]}
        return out
    if kind in (_dt.datetime, _dt.date, _dt.time):
        return value.isoformat()
    raise NotData(path, kind.__name__)


# Values that cross the pipe as tagged JSON (evaluation results and the context going in): what SpiffWorkflow's
# timers and DMN tables may need beyond JSON. A user dict that happens to use the tag key is escaped.
TAG = "\x00"


def pack(value: Any, path: str = "value", depth: int = 0) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise NotData(path, "NaN/Infinity")
        return value
    if depth >= MAX_DEPTH:
        raise NotData(path, f"nested deeper than {MAX_DEPTH}")
    if kind is list or kind is tuple:
        return [pack(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    if kind is dict:
        for key in value:
            if type(key) is not str:
                raise NotData(f"{path}[{key!r}]", "a key that is not a string")
        if TAG in value:
            return {TAG: "dict", "items": [[k, pack(v, f"{path}.{k}", depth + 1)] for k, v in value.items()]}
        return {k: pack(v, f"{path}.{k}", depth + 1) for k, v in value.items()}
    if kind is _dt.datetime:
        return {TAG: "datetime", "v": value.isoformat()}
    if kind is _dt.date:
        return {TAG: "date", "v": value.isoformat()}
    if kind is _dt.time:
        return {TAG: "time", "v": value.isoformat()}
    if kind is _dt.timedelta:
        return {TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if kind is _decimal.Decimal:
        return {TAG: "decimal", "v": str(value)}
    raise NotData(path, kind.__name__)


def _unpack_hook(obj: dict) -> Any:
    tag = obj.get(TAG)
    if tag is None:
        return obj
    value = obj.get("v")
    if tag == "dict":
        return {k: v for k, v in obj["items"]}
    if tag == "datetime":
        return _dt.datetime.fromisoformat(value)
    if tag == "date":
        return _dt.date.fromisoformat(value)
    if tag == "time":
        return _dt.time.fromisoformat(value)
    if tag == "timedelta":
        return _dt.timedelta(days=value[0], seconds=value[1], microseconds=value[2])
    if tag == "decimal":
        return _decimal.Decimal(value)
    raise ValueError(f"unknown tag {tag!r}")


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


_DECODER = json.JSONDecoder(object_hook=_unpack_hook)


def loads(raw: bytes) -> Any:
    return _DECODER.decode(raw.decode())


# --- running one request -----------------------------------------------------------------------------------

def _line_of(exc: BaseException) -> int | None:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in (SCRIPT_FILE, EXPRESSION_FILE):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _failure(kind: str, message: str = "", exc: BaseException | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": False, "kind": kind, "message": message[:MAX_MESSAGE]}
    if exc is not None:
        out["type"] = type(exc).__name__
        out["line"] = _line_of(exc)
    return out


def _short(path: str) -> str:
    return path if len(path) <= 80 else path[:40] + "…" + path[-36:]


def _data_after(namespace: dict[str, Any], data: dict[str, Any], external: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in namespace.items():
        if name.startswith("_"):  # the guards and RestrictedPython's own names; a script cannot bind such names
            if name in data:  # a data key the guards shadowed while the script ran: kept as it came
                out[name] = data[name]
            continue
        if name in external:
            continue
        if id(value) in _PROVIDED_IDS or isinstance(value, (types.FunctionType, SafeModule)):
            continue  # tools and the script's own helper functions, not data
        out[name] = as_data(value, name)
    if TAG in out:
        return {TAG: "dict", "items": [[k, v] for k, v in out.items()]}
    return out


def run(request: dict[str, Any]) -> dict[str, Any]:
    """One evaluation: {'op': 'eval'|'exec', 'src', 'data', 'ext'} -> {'ok': True, 'value'|'data'} or a failure."""
    op = request.get("op")
    mode = "eval" if op == "eval" else "exec"
    try:
        code = compile_source(request["src"], mode)
    except RuleBroken as exc:
        return _failure("rule", str(exc))
    data = request.get("data") or {}
    external = request.get("ext") or {}
    namespace = script_globals(data, external)
    try:
        if mode == "eval":
            result = eval(code, namespace)  # restricted code, in the sandbox worker
            try:
                return {"ok": True, "value": pack(result)}
            except NotData as exc:
                return _failure("result", exc.what)
        exec(code, namespace)  # restricted code, in the sandbox worker
        try:
            return {"ok": True, "data": _data_after(namespace, data, external)}
        except NotData as exc:
            return {**_failure("not_data", exc.what), "path": _short(exc.path)}
    except MemoryError as exc:
        return _failure("memory", "", exc)
    except RecursionError as exc:
        return _failure("recursion", str(exc), exc)
    except BaseException as exc:  # SystemExit, KeyboardInterrupt and all: the script's failure, never the worker's
        try:
            message = str(exc)
        except BaseException:  # a message that cannot be shown is still a failure
            message = ""
        return _failure("error", message, exc)


# --- the worker process ------------------------------------------------------------------------------------

def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _write_frame(fd: int, payload: bytes) -> None:
    view = memoryview(len(payload).to_bytes(4, "big") + payload)
    while view:
        view = view[os.write(fd, view):]


def _warm_up() -> None:
    """Everything the stdlib would otherwise load lazily, while files can still be read."""
    import _strptime  # noqa: F401 - datetime.strptime imports it on first use
    import encodings.gb2312  # noqa: F401
    import encodings.gb18030  # noqa: F401
    import encodings.gbk  # noqa: F401
    import encodings.latin_1  # noqa: F401
    import encodings.utf_16  # noqa: F401
    import encodings.utf_32  # noqa: F401
    import time

    time.localtime()
    _dt.datetime.now()
    _dt.datetime.strptime("2026-01-01 09:00", "%Y-%m-%d %H:%M")
    statistics.median([1, 2, 3]), statistics.stdev([1.0, 2.0])
    re.compile(r"\d+").findall("1 2")
    for source, mode in (("x = [i for i in range(3)]\ny = f'{x}'", "exec"), ("a == 'b'", "eval")):
        eval(compile_source(source, mode), script_globals({"a": "b"}, None))


def _confine(memory_mb: int) -> None:
    """Drop what the worker inherited and cap what it may take; untrusted code only runs after this."""
    import resource

    os.environ.clear()
    os.chdir("/")
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for which, value in ((resource.RLIMIT_FSIZE, 0), (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NPROC, 0)):
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass
    if hasattr(os, "getuid") and os.getuid() == 0:  # root: run as nobody, so an escape could read nothing of ours
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
        except OSError:
            pass


def _set_cpu_budget(seconds: int) -> None:
    """A CPU-time backstop for this request: the kernel ends the worker even if the parent could not."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + max(1, seconds)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _bloated(memory_mb: int) -> bool:
    import resource

    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak_kb * 1024 > memory_mb * 1024 * 1024 // 2


def serve(memory_mb: int) -> None:
    import gc
    import warnings

    warnings.simplefilter("ignore")  # a script's SyntaxWarning is not the log's business
    requests, replies = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # nothing a library prints can reach the protocol pipe
    os.dup2(devnull, 1)
    _warm_up()
    _confine(memory_mb)
    _write_frame(replies, b'{"ready":true}')
    served = 0
    while True:
        header = _read_exact(requests, 4)
        if header is None:
            return  # the parent went away
        raw = _read_exact(requests, int.from_bytes(header, "big"))
        if raw is None:
            return
        try:
            request = loads(raw)
            _set_cpu_budget(int(request.get("cpu", 5)))
            reply = run(request)
            if _bloated(memory_mb):
                reply["retire"] = True  # a script took much memory: the parent replaces this worker
            try:
                payload = dumps(reply)
            except (ValueError, TypeError, RecursionError) as exc:
                payload = dumps({**_failure("not_data", str(exc)), "path": "value"})
            except MemoryError:
                payload = dumps(_failure("memory"))
            del reply, request
        except MemoryError:
            payload = dumps(_failure("memory"))
        except Exception as exc:  # a broken request is answered, the worker goes on
            payload = dumps(_failure("internal", f"{type(exc).__name__}: {exc}"))
        _write_frame(replies, payload)
        served += 1
        if served % 64 == 0:
            gc.collect()  # cycles a script left behind do not pile up against the memory limit


if __name__ == "__main__":
    memory = 256
    if "--memory-mb" in sys.argv:
        memory = int(sys.argv[sys.argv.index("--memory-mb") + 1])
    serve(memory)
