"""The folders the embedded defaults write to. Made when Django starts (apps ready), not when settings
are imported: importing settings has no side effects."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def local_dirs() -> list[Path]:
    """The folders that must exist: the SQLite database's."""
    dirs = []
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith(".sqlite3") and str(database["NAME"]) != ":memory:":
        dirs.append(Path(database["NAME"]).parent)
    return dirs


def ensure_local_dirs() -> None:
    for path in local_dirs():
        path.mkdir(parents=True, exist_ok=True)
