"""The import rules docs/architecture.md describes, checked on the source."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))  # "..tasks" in "from ..tasks import x"
            names |= {alias.name for alias in node.names}  # "tasks" in "from .. import tasks"
    return names


def test_services_never_import_tasks():
    for path in (ROOT / "diagnosis" / "services").glob("*.py"):
        assert not any("tasks" in name for name in _imports(path)), path.name


def test_ml_core_has_no_django():
    for path in (ROOT / "ml" / "core").glob("*.py"):
        assert not any(name.split(".")[0] == "django" for name in _imports(path)), path.name
