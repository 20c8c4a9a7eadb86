"""ml is the bottom layer: it imports none of the apps built on it (docs/architecture.md)."""

import ast
from pathlib import Path

ML = Path(__file__).resolve().parents[1]
APPS_ABOVE = {"diagnosis", "review", "api", "accounts", "reminders"}


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_ml_imports_no_app_above_it():
    offenders = {}
    for path in ML.rglob("*.py"):
        if "tests" in path.relative_to(ML).parts or "migrations" in path.relative_to(ML).parts:
            continue
        above = {name for name in _imported_modules(path) if name.split(".")[0] in APPS_ABOVE}
        if above:
            offenders[str(path.relative_to(ML))] = sorted(above)
    assert offenders == {}
