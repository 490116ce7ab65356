"""The script sandbox, parent side: a pool of worker processes, the limits, and SpiffWorkflow's environment.

Every script, condition and expression a diagram holds runs in a worker process (`sandbox_runtime.py`) that
was started with an empty environment and no inherited file descriptors, runs as `nobody` when the server
runs as root, has an address-space limit and a CPU-time backstop, and is killed and replaced when it does
not answer within the wall-clock timeout. Data crosses the pipe as JSON.

Only one kind of evaluation stays in-process: a condition made of nothing but names, literals, comparisons
and `and`/`or`/`not` (`outcome == "accept"`) over plain JSON data; see `_FastCondition` for why that cannot
loop, allocate or escape. Everything else goes to a worker.

Nothing here knows Flask: the limits come in as `SandboxLimits` (the app builds them from its config).
"""

from __future__ import annotations

import ast
import atexit
import json
import logging
import math
import os
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from . import sandbox_runtime as rt
from .errors import CaseFailed

log = logging.getLogger(__name__)
check_source = rt.check_source  # deploy-time validation: check_source(text, "exec" | "eval") -> str | None
ALLOWED_MODULES = rt.ALLOWED_MODULES
_RUNTIME = str(Path(rt.__file__).resolve())
_STARTUP_SECONDS = 15.0  # a worker's start (interpreter, RestrictedPython, warm-up) is not the script's time


@dataclass(frozen=True)
class SandboxLimits:
    """What one evaluation may take. timeout: wall clock seconds; memory: the worker's address space in MB."""

    timeout_seconds: float = 2.0
    memory_mb: int = 256
    workers: int = 2  # worker processes per server process
    max_output_bytes: int = 16 * 1024 * 1024  # the data a script hands back, as JSON

    def __post_init__(self) -> None:
        if not self.timeout_seconds > 0:
            raise ValueError("timeout_seconds must be positive")
        if self.memory_mb < 64:
            raise ValueError("memory_mb must be at least 64 (the worker's interpreter needs about 20)")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")


DEFAULT_LIMITS = SandboxLimits()


class SandboxUnavailable(RuntimeError):
    """No worker could be started or reached: a failure of the sandbox, not of the script."""


# --- one worker process ----------------------------------------------------------------------------------

class _Worker:
    def __init__(self, memory_mb: int) -> None:
        self.proc = subprocess.Popen(  # our own interpreter and module, no shell
            [sys.executable, "-I", _RUNTIME, "--memory-mb", str(memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, env={}, cwd="/", close_fds=True, bufsize=0)
        self.ready = False

    def wait_ready(self) -> None:
        try:
            reply = self._read_frame(time.monotonic() + _STARTUP_SECONDS)
        except _WorkerDied as exc:
            raise SandboxUnavailable(f"the sandbox worker exited at start (status {exc.status})") from None
        if reply is None or not json.loads(reply).get("ready"):
            self.kill()
            raise SandboxUnavailable("the sandbox worker did not start")
        self.ready = True

    def call(self, payload: bytes, timeout: float, max_reply: int = 1 << 30) -> bytes | None:
        """The worker's reply, or None when it did not answer in time (it is killed then).

        A reply announced larger than `max_reply` is not read: the worker is killed and _ReplyTooLarge raised.
        """
        if not self.ready:
            self.wait_ready()
        try:
            view = memoryview(len(payload).to_bytes(4, "big") + payload)
            while view:  # an unbuffered pipe may take a large request in parts
                view = view[self.proc.stdin.write(view):]
        except (BrokenPipeError, OSError):
            raise _WorkerDied(self.exit_status()) from None
        reply = self._read_frame(time.monotonic() + timeout, max_reply)
        if reply is None:
            self.kill()
        return reply

    def _read_frame(self, deadline: float, max_size: int = 1 << 20) -> bytes | None:
        header = self._read(4, deadline)
        if header is None:
            return None
        size = int.from_bytes(header, "big")
        if size > max_size:
            self.kill()
            raise _ReplyTooLarge(size)
        return self._read(size, deadline)

    def _read(self, size: int, deadline: float) -> bytes | None:
        fd = self.proc.stdout.fileno()
        chunks: list[bytes] = []
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        while size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(max(1, math.ceil(remaining * 1000))):
                if time.monotonic() >= deadline:
                    return None
                continue
            chunk = os.read(fd, min(size, 1 << 20))
            if not chunk:
                raise _WorkerDied(self.exit_status())
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def exit_status(self) -> int | None:
        try:
            return self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignored
            log.error("sandbox worker %s did not die", self.proc.pid)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def close(self) -> None:
        """Polite end: the worker exits when its request pipe closes."""
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class _ReplyTooLarge(Exception):
    pass


class _WorkerDied(Exception):
    def __init__(self, status: int | None) -> None:
        super().__init__(status)
        self.status = status


# --- the pool ----------------------------------------------------------------------------------------------

class _Pool:
    """Up to `size` reusable workers of one memory limit; a spare is started in the background after a kill."""

    def __init__(self, memory_mb: int, size: int) -> None:
        self.memory_mb = memory_mb
        self.size = size
        self._idle: list[_Worker] = []
        self._count = 0  # idle + busy + starting
        self._cond = threading.Condition()
        self._closed = False

    def acquire(self, wait: float) -> _Worker:
        deadline = time.monotonic() + wait
        with self._cond:
            while not self._idle and self._count >= self.size:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    raise SandboxUnavailable("all sandbox workers are busy")
                self._cond.wait(remaining)
            if self._idle:
                return self._idle.pop()
            self._count += 1
        return self._start()

    def release(self, worker: _Worker, healthy: bool, retire: bool = False) -> None:
        """healthy: it answered; retire: it answered but should go (it once used much memory)."""
        keep = healthy and not retire and worker.proc.poll() is None
        with self._cond:
            if keep and not self._closed:
                self._idle.append(worker)
            else:
                self._count -= 1
            self._cond.notify()
        if not keep:
            threading.Thread(target=worker.kill if not healthy else worker.close, daemon=True).start()
            self._start_spare()

    def _start(self) -> _Worker:
        try:
            try:
                worker = _Worker(self.memory_mb)
            except OSError as exc:  # no process could be made (EAGAIN, ENOMEM...)
                raise SandboxUnavailable(f"the sandbox worker could not be started: {exc}") from None
            worker.wait_ready()
            return worker
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _start_spare(self) -> None:
        """Keep one worker ready so the next evaluation does not pay for a start (~0.15 s)."""
        with self._cond:
            if self._closed or self._idle or self._count >= self.size:
                return
            self._count += 1

        def start() -> None:
            try:
                worker = self._start()
            except Exception:  # the next acquire starts one and reports
                log.exception("could not start a spare sandbox worker")
                return
            self.release(worker, healthy=True)

        threading.Thread(target=start, daemon=True, name="sandbox-spare").start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for worker in idle:
            worker.close()

    def forget(self) -> None:
        """In a forked child: the workers belong to the parent; close our copies of their pipes only."""
        for worker in self._idle:
            for stream in (worker.proc.stdin, worker.proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        self._idle = []


_pools: dict[tuple[int, int], _Pool] = {}
_pools_lock = threading.Lock()


def _pool(limits: SandboxLimits) -> _Pool:
    key = (limits.memory_mb, limits.workers)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = _Pool(limits.memory_mb, limits.workers)
        return pool


def _forget_pools() -> None:
    global _pools_lock
    _pools_lock = threading.Lock()
    for pool in _pools.values():
        pool.forget()
    _pools.clear()


def shutdown() -> None:
    """End every worker (at exit; tests may call it too)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


atexit.register(shutdown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools)


# --- messages ------------------------------------------------------------------------------------------------

def _what(kind: str) -> str:
    return "表达式" if kind == "eval" else "脚本"


def _failure_message(reply: dict[str, Any], op: str, limits: SandboxLimits) -> str:
    what = _what(op)
    english = "expression" if op == "eval" else "script"
    kind = reply.get("kind")
    message = reply.get("message") or ""
    line = f"（第 {reply['line']} 行）" if reply.get("line") else ""
    if kind == "rule":
        return rt.rule_message(message)
    if kind == "memory":
        return (f"{what}内存超限，超过 {limits.memory_mb} MB{line} "
                f"(the {english} needed more than {limits.memory_mb} MB of memory)")
    if kind == "recursion":
        return f"{what}递归过深{line} (the {english} recursed too deeply)"
    if kind == "not_data":
        path, kind_name = reply.get("path") or "?", message
        return (f"脚本留下的数据不是 JSON：{path} 是 {kind_name} "
                f"(the script left a value that is not JSON in the data: {path} is {kind_name}; "
                f"convert it, e.g. to a string, a number or a list, or delete it)")
    if kind == "result":
        return f"表达式的值不是数据：{message} (the expression's value is not data: {message})"
    if kind == "error":
        detail = f"{reply.get('type', 'Error')}: {message}" if message else reply.get("type", "Error")
        return f"{what}运行出错{line}：{detail} (the {english} raised an error)"
    return f"{what}沙箱出错：{message} (sandbox failure)"


def _timeout_message(op: str, limits: SandboxLimits) -> str:
    english = "expression" if op == "eval" else "script"
    return (f"{_what(op)}运行超时，超过 {limits.timeout_seconds:g} 秒 "
            f"(the {english} ran longer than {limits.timeout_seconds:g} s and was stopped)")


# --- the in-process fast path for plain conditions ------------------------------------------------------------

_FAST_NODES = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.Compare,
               ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
               ast.IfExp, ast.Name, ast.Load, ast.Constant, ast.Tuple, ast.List, ast.Set)
_FAST_CONSTANTS = (str, int, float, bool, type(None))
_FAST_VALUES = (str, int, float, bool, type(None), datetime, date)
_FAST_MAX_NODES = 2000  # elements of list/dict values a fast condition may compare against


class _FastCondition:
    """A condition that is evaluated in-process because it provably cannot loop, allocate or escape.

    Accepted source: names, literal constants (str, int, float, bool, None; numbers may be negated), tuples,
    lists and sets of such literals, comparisons (==, !=, <, <=, >, >=, in, not in, is, is not), `and`, `or`,
    `not` and `x if c else y` — no calls, attributes, subscripts, arithmetic, comprehensions or lambdas, so no
    code of anyone runs but CPython's own comparisons. Accepted values (checked on every evaluation, else the
    worker evaluates): each name is bound in the data to a str, int, float, bool, None, datetime or date, or a
    list/dict of those of at most `_FAST_MAX_NODES` elements in all. Comparisons of these built-in types run in C,
    take time linear in the sizes of their operands (which are bounded by the data), and allocate nothing but
    their result; the expression has no loop but the one inside a comparison. Names starting with "_" and
    RestrictedPython's `print`/`printed` are left to the worker, which gives the same errors it always does.
    """

    def __init__(self, source: str, code, names: tuple[str, ...]) -> None:
        self.source = source
        self.code = code
        self.names = names

    def namespace(self, data: dict[str, Any], external: dict[str, Any] | None) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        budget = [_FAST_MAX_NODES]
        for name in self.names:
            if external and name in external:
                value = external[name]
            elif name in data:
                value = data[name]
            else:
                return None  # a missing name: the worker reports it as it reports every NameError
            if not _plain(value, budget, 0):
                return None
            values[name] = value
        return values


def _plain(value: Any, budget: list[int], depth: int) -> bool:
    kind = type(value)
    if kind in _FAST_VALUES:
        return True
    if depth > 20:
        return False
    if kind is list:
        budget[0] -= len(value)
        return budget[0] >= 0 and all(_plain(v, budget, depth + 1) for v in value)
    if kind is dict:
        budget[0] -= len(value)
        return budget[0] >= 0 and all(type(k) is str and _plain(v, budget, depth + 1) for k, v in value.items())
    return False


@lru_cache(maxsize=1024)
def _fast_condition(source: str) -> _FastCondition | None:
    text = source.strip()
    if len(text) > 500:
        return None
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names: list[str] = []
    for count, node in enumerate(ast.walk(tree)):
        if count > 200 or not isinstance(node, _FAST_NODES):
            return None
        if isinstance(node, ast.Constant) and type(node.value) not in _FAST_CONSTANTS:
            return None
        if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not) and not (
                isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float)):
            return None
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and not all(
                isinstance(e, ast.Constant) for e in node.elts):
            return None
        if isinstance(node, ast.Name):
            if node.id.startswith("_") or node.id in ("print", "printed"):
                return None
            names.append(node.id)
    code = compile(tree, rt.EXPRESSION_FILE, "eval")
    return _FastCondition(text, code, tuple(dict.fromkeys(names)))


# --- the sandbox ----------------------------------------------------------------------------------------------

class Sandbox:
    """Evaluates expressions and runs scripts under `limits`; every failure is a CaseFailed (element unset)."""

    def __init__(self, limits: SandboxLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits

    def evaluate(self, expression: str, context: dict[str, Any], external: dict[str, Any] | None = None) -> Any:
        fast = _fast_condition(expression) if isinstance(expression, str) else None
        if fast is not None:
            values = fast.namespace(context, external)
            if values is not None:
                try:
                    return eval(fast.code, {"__builtins__": {}}, values)  # see _FastCondition
                except Exception as exc:  # e.g. TypeError comparing str with int
                    raise CaseFailed(_failure_message(
                        {"kind": "error", "type": type(exc).__name__, "message": str(exc)}, "eval", self.limits),
                    ) from None
        reply = self._call("eval", expression, context, external)
        return reply["value"]

    def execute(self, script: str, context: dict[str, Any], external: dict[str, Any] | None = None) -> None:
        """Run `script` on a copy of `context` (the task data); the data it leaves replaces the context's."""
        reply = self._call("exec", script, context, external)
        context.clear()
        context.update(reply["data"])

    def _call(self, op: str, source: str, context: dict[str, Any], external: dict[str, Any] | None) -> dict:
        request = {"op": op, "src": source, "data": context, "ext": external or {},
                   "cpu": math.ceil(self.limits.timeout_seconds) + 1}
        try:
            payload = _encode(request)
        except (rt.NotData, ValueError, TypeError, RecursionError) as exc:
            raise CaseFailed(f"数据无法交给{_what(op)}：{exc} (the case data cannot be handed to the {op})") from None
        pool = _pool(self.limits)
        try:
            worker = pool.acquire(wait=max(10.0, self.limits.timeout_seconds * (pool.size + 2)))
        except SandboxUnavailable as exc:
            raise CaseFailed(f"脚本沙箱不可用：{exc} (the script sandbox is unavailable)") from None
        reusable = False  # a worker that answered (even with a script's error) serves again; a killed one not
        retire = False
        try:
            try:
                raw = worker.call(payload, self.limits.timeout_seconds, self.limits.max_output_bytes + 65536)
            except _ReplyTooLarge:
                raise CaseFailed(f"脚本留下的数据过大，超过 {self.limits.max_output_bytes // (1024 * 1024)} MB "
                                 f"(the data the script left is too large)") from None
            except _WorkerDied as exc:
                raise CaseFailed(f"{_what(op)}使沙箱进程终止（状态 {exc.status}）"
                                 f"(the sandbox process died while running the {op}: status {exc.status})") from None
            except SandboxUnavailable as exc:
                raise CaseFailed(f"脚本沙箱不可用：{exc} (the script sandbox is unavailable)") from None
            if raw is None:
                raise CaseFailed(_timeout_message(op, self.limits))
            reusable = True
            try:
                reply = rt.loads(raw)
            except (ValueError, TypeError, RecursionError) as exc:
                reusable = False
                raise CaseFailed(f"沙箱返回的数据无效 (the sandbox returned invalid data: {exc})") from None
            if reply.get("kind") == "memory":  # a worker that hit its memory limit is not trusted again
                reusable = False
            retire = bool(reply.get("retire"))
            if not reply.get("ok"):
                raise CaseFailed(_failure_message(reply, op, self.limits))
            return reply
        finally:
            pool.release(worker, healthy=reusable, retire=retire)


def _encode(request: dict[str, Any]) -> bytes:
    try:
        text = json.dumps(request, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_no_default)
    except _NeedsPacking:
        text = None
    if text is None or "\\u0000" in text:  # datetimes, decimals, or a key that looks like our tag: the slow path
        return rt.dumps({**request, "data": rt.pack(request["data"], "data"), "ext": rt.pack(request["ext"], "ext")})
    return text.encode()


class _NeedsPacking(Exception):
    pass


def _no_default(value: Any) -> Any:
    raise _NeedsPacking


# --- SpiffWorkflow's hook ---------------------------------------------------------------------------------------

class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow's script environment, sandboxed: what `PythonScriptEngine` and the specs call."""

    def __init__(self, limits: SandboxLimits = DEFAULT_LIMITS) -> None:
        super().__init__({})
        self.sandbox = Sandbox(limits)

    @property
    def limits(self) -> SandboxLimits:
        return self.sandbox.limits

    @limits.setter
    def limits(self, limits: SandboxLimits) -> None:
        self.sandbox = Sandbox(limits)

    def evaluate(self, expression, context, external_context=None):
        return self.sandbox.evaluate(expression, context, external_context)

    def execute(self, script, context, external_context=None):
        self.sandbox.execute(script, context, external_context)
        return True

    def call_service(self, context, **kwargs):
        raise CaseFailed("不支持服务任务 (service tasks are not supported)")
