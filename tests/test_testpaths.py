"""Every test module is collected by a plain ``pytest`` run (CI): a folder of tests missing from
``testpaths`` would never run (the reminders tests did not, until issue 34)."""

import os
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_test_module_is_under_testpaths():
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    roots = [ROOT / p for p in options["testpaths"]]
    skipped = {".venv", ".git", "node_modules", "var"}
    modules = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in skipped]  # never walk the virtualenv's thousands of files
        modules += [Path(folder) / f for f in files
                    if f.startswith("test_") and f.endswith(".py") and f != "test_settings.py"]
    assert modules, "found no test module at all"
    outside = sorted(str(p.relative_to(ROOT)) for p in modules if not any(p.is_relative_to(r) for r in roots))
    assert outside == [], f"test modules no pytest run collects (add their folder to testpaths): {outside}"
