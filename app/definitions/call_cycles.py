"""Deploy check: a process may not call itself, directly (A calls A) or through others (A → B → A).

Such a diagram would nest called processes without end the moment a case reaches the call. The graph is the
upload's processes (every call activity, embedded subprocesses included) together with the current version
of each deployed key they reach; a cycle through an uploaded process refuses its file, naming the call
activity and the path. What the check cannot see — a cycle closed by a version deployed before this check, a
key deployed later under another binding — meets the engine's nesting limit at run time (engine/budget.py).
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask

from ..engine.compiler import CompiledProcess
from ..engine.specs import ResolvedCallActivity
from . import checks
from . import service as definitions

Edges = dict[str, list[tuple[str, str]]]  # spec name -> (called spec or process key, call activity id)


def calls_of(process: CompiledProcess) -> Edges:
    """Every call of each spec in a compiled process (its own, its embedded subprocesses', same-file callees')."""
    edges: Edges = {}
    for spec in [process.spec, *(s for s in process.subprocess_specs.values() if s is not None)]:
        out = edges.setdefault(spec.name, [])
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, ResolvedCallActivity):
                target = task_spec.spec if task_spec.spec in process.subprocess_specs else task_spec.called_element
            elif isinstance(task_spec, SubWorkflowTask):
                target = task_spec.spec
            else:
                continue
            if target and "${" not in target and "#{" not in target:
                out.append((target, task_spec.bpmn_id or task_spec.name))
    return edges


def problems(uploaded: list[tuple[object, list[CompiledProcess], object]]) -> list[tuple[object, dict]]:
    """(report, problem) for each uploaded process that reaches itself through call activities."""
    graph: Edges = {}
    owner: dict[str, tuple[object, object, str]] = {}  # spec name -> (report, tree, file) for uploaded specs
    for report, processes, tree in uploaded:
        for process in processes:
            for name, out in calls_of(process).items():
                graph[name] = out
                owner[name] = (report, tree, report.file)
    found, reported = [], set()
    for start in [process.key for _, processes, _ in uploaded for process in processes]:
        path = _cycle_from(start, graph)
        if path is None or start in reported:
            continue
        reported.add(start)
        report, tree, filename = owner[start]
        element = path[0][1]
        route = " → ".join([start, *(target for target, _ in path)])
        found.append((report, {"code": "recursive_call", "file": filename, "line": checks.line_of(tree, element),
                               "element": element, "path": [start, *(t for t, _ in path)],
                               "message": f"{filename}: 调用活动 {element} 形成循环调用：{route}"
                                          f"（流程不能直接或间接调用自身）(a process may not call itself)"}))
    return found


def _cycle_from(start: str, graph: Edges) -> list[tuple[str, str]] | None:
    """The calls from `start` back to it, if any (depth-first; deployed keys are read as they are reached)."""
    stack = [(start, iter(_edges(start, graph)))]
    path: list[tuple[str, str]] = []
    seen = {start}
    while stack:
        _, edges = stack[-1]
        step = next(edges, None)
        if step is None:
            stack.pop()
            if path:
                path.pop()
            continue
        target, element = step
        if target == start:
            return [*path, step]
        if target in seen:
            continue
        seen.add(target)
        path.append(step)
        stack.append((target, iter(_edges(target, graph))))
    return None


def _edges(name: str, graph: Edges) -> list[tuple[str, str]]:
    if name not in graph:
        graph[name] = _deployed_calls(name)
    return graph[name]


def _deployed_calls(key: str) -> list[tuple[str, str]]:
    """The calls of the current version of a deployed key (none when it is not deployed or cannot compile)."""
    definition = definitions.current(key)
    if definition is None or definition.kind != "bpmn":
        return []
    try:
        process = definitions.compiled(definition)
    except Exception:  # a stored version that no longer compiles calls nothing we can see
        return []
    edges = calls_of(process)
    # the same-file callees of that version are part of it: their calls are the key's as well
    return [edge for out in edges.values() for edge in out]
