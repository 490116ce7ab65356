"""The architecture, checked from the code: every import of `app.*` (module-level and function-local, TYPE_CHECKING
included) folded to its top-level package, with no cycle between packages and no import against the layering

    base ← engine ← runtime ← domain services ← hall ← API ← web ← the app (composition root)

A failure prints each offending import with its file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

LAYERS: list[tuple[str, set[str]]] = [
    ("base", {"errors", "extensions", "clock", "caches", "models_base", "schemas", "serials", "config",
              "validation_messages"}),
    ("engine", {"engine"}),
    ("runtime", {"hookspecs", "plugins", "audit", "forms", "definitions", "instances", "tasks", "timers",
                 "messages", "external", "incidents"}),
    ("domain services", {"people", "calendar", "matters"}),
    ("hall", {"hall"}),
    ("API", {"api", "ops"}),
    ("web", {"web"}),
    ("app", {"cli", "cli_main", "wsgi", "bootstrap", "__init__"}),
]
LAYER = {package: (rank, name) for rank, (name, packages) in enumerate(LAYERS) for package in packages}


def _module(path: Path) -> str:
    parts = ["app", *path.relative_to(APP).with_suffix("").parts]
    return ".".join(parts[:-1]) if parts[-1] == "__init__" else ".".join(parts)


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports() -> list[tuple[str, str, str, int]]:
    """(importing package, imported package, file, line) for every import of app.* between packages."""
    modules = {_module(p) for p in APP.rglob("*.py")}
    found = []
    for path in sorted(APP.rglob("*.py")):
        module = _module(path)
        package_parts = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = ".".join(package_parts[: len(package_parts) - node.level + 1]) if node.level else ""
                name = ".".join(part for part in (base, node.module or "") if part)
                targets = [f"{name}.{alias.name}" for alias in node.names] + [name]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                if not target.startswith("app"):
                    continue
                while target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                source, imported = _package(module), _package(target)
                if source != imported:
                    found.append((source, imported, str(path.relative_to(APP.parent)), node.lineno))
                break
    return found


def _cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components of more than one package (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_package_has_a_layer():
    unknown = sorted({p for edge in imports() for p in edge[:2]} - set(LAYER))
    assert not unknown, f"packages with no layer in tests/test_architecture.py LAYERS: {unknown}"


def test_no_import_goes_up_the_layers():
    upward = [f"{file}:{line}: {source} ({LAYER[source][1]}) imports {target} ({LAYER[target][1]})"
              for source, target, file, line in imports()
              if source in LAYER and target in LAYER and LAYER[source][0] < LAYER[target][0]]
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


def test_no_cycle_between_packages():
    found = imports()
    cycles = _cycles({(a, b) for a, b, _, _ in found})
    lines = []
    for component in cycles:
        members = set(component)
        lines.append(f"cycle of {len(component)} packages: {', '.join(component)}")
        lines += [f"  {file}:{line}: {a} → {b}" for a, b, file, line in found if a in members and b in members]
    assert not cycles, "\n".join(lines)


def test_the_runtime_names_no_plugin():
    """The runtime raises hooks; it imports nothing of the hall, supervision, notices, the catalog or absences."""
    runtime = {"instances", "engine", "tasks", "timers", "definitions", "messages", "external"}
    plugins = {"hall", "matters", "calendar", "people"}
    found = [f"{file}:{line}: {a} imports {b}" for a, b, file, line in imports() if a in runtime and b in plugins]
    assert not found, "\n".join(found)


def test_plugins_run_in_their_declared_order(app):
    """create_app declares the plugins' order; pluggy calls each hook's implementations in it."""
    from app import plugins

    assert plugins.order("case_starting", app) == ["people", "hall"]  # the matter's department wins over posts'
    assert plugins.order("step_new_tasks", app) == ["people", "hall"]  # AB routing first, then the owner's steps
    assert plugins.order("deploy_checks", app) == ["people", "hall"]
    assert plugins.order("scheduled_jobs", app) == ["people", "hall"]
    assert plugins.order("working_days", app) == ["calendar"]
