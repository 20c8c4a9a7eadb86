"""No import cycle between the project's Django apps, counting every import: module level, inside functions
and under TYPE_CHECKING. A function-level import hides a cycle from Python's start-up but not from whoever
reads or changes the code; an app's tests and migrations are left out (they may reach anywhere).

The allowed direction is drawn in docs/architecture.md."""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The project's apps (INSTALLED_APPS) plus the site package, which holds shared code (facediag_site.lib,
#: metrics) and the URL conf that ties the apps together.
APPS = ("accounts", "ml", "diagnosis", "review", "api", "reminders", "facediag_site")

#: facediag_site modules that sit on top of every app and may import any of them: the URL conf, settings,
#: the WSGI entry point, the Celery app, the health checks and the /metrics endpoint. Everything else in
#: facediag_site (lib, metrics, middleware...) is shared code below the apps, and counted.
SITE_TOP = {"urls", "settings", "test_settings", "wsgi", "celery", "health", "metrics_export"}


def _app_modules(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "tests" in parts or "migrations" in parts:
            continue
        if app == "facediag_site" and len(parts) > 1 and parts[1] in SITE_TOP:
            continue
        yield path, parts


def _imported_names(path: Path, parts: tuple[str, ...]):
    """Absolute module names imported anywhere in the file (relative imports resolved)."""
    package = parts[:-1]  # a module's package; for an __init__, the package itself
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                yield ".".join((*base, node.module or "")).rstrip("."), node.lineno
            else:
                yield node.module or "", node.lineno


def app_import_graph() -> dict[str, dict[str, list[str]]]:
    """{importing app: {imported app: ["path:line", ...]}} across app boundaries."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for app in APPS:
        for path, parts in _app_modules(app):
            for module, line in _imported_names(path, parts):
                target = module.split(".")[0]
                if target in APPS and target != app:
                    graph[app][target].append(f"{path.relative_to(ROOT)}:{line}")
    return graph


def find_cycles(graph) -> list[list[str]]:
    """Every strongly connected group of more than one app (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in APPS:
        if node not in index:
            visit(node)
    return groups


def test_the_site_top_modules_exist():
    """A renamed module would silently leave this list and start counting (or stop being excused)."""
    assert sorted(m for m in SITE_TOP if not (ROOT / "facediag_site" / f"{m}.py").exists()) == []


def test_the_cycle_finder_finds_a_planted_cycle():
    planted = {"accounts": {"reminders": ["x"]}, "reminders": {"accounts": ["y"]}, "api": {"diagnosis": ["z"]}}
    assert find_cycles(planted) == [["accounts", "reminders"]]
    three = {"diagnosis": {"review": []}, "review": {"ml": []}, "ml": {"diagnosis": []}}
    assert find_cycles(three) == [["diagnosis", "ml", "review"]]


def test_the_graph_sees_function_level_imports(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("def later():\n    from review.services import x\n\nif True:\n    from ..models import Scan\n"
                      "    import accounts.models\n")
    assert sorted(n for n, _ in _imported_names(source, ("diagnosis", "services", "probe"))) == [
        "accounts.models", "diagnosis.models", "review.services"]


def test_no_import_cycle_between_apps():
    graph = app_import_graph()
    cycles = find_cycles(graph)
    if cycles:
        lines = []
        for group in cycles:
            for app in group:
                for target in group:
                    for where in graph[app].get(target, []):
                        lines.append(f"{app} -> {target} at {where}")
        pytest.fail("import cycles between apps " + ", ".join(" <-> ".join(g) for g in cycles) + ":\n  "
                    + "\n  ".join(lines))
