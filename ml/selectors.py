"""Read-only queries for model versions."""

from __future__ import annotations

import os
from pathlib import Path

from .models import ModelVersion


def active_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(active=True).first()


def shadow_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(shadow=True).first()


def previous_version() -> ModelVersion | None:
    """The version that was active most recently before the active one (what a rollback returns to)."""
    return ModelVersion.objects.filter(active=False, activated_at__isnull=False).order_by("-activated_at").first()


def version_by_name(name: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(name=name).first()


_health_cache: dict = {}


def _stamp(path: Path) -> tuple[str, int | None, int | None]:
    try:
        st = os.stat(path)
        return (str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        return (str(path), None, None)


def active_model_problem() -> str | None:
    """Why the active model cannot analyse scans, in words, or None when it can.

    Checks what a worker needs without loading TensorFlow: an active version, its artifact matching the
    registered checksum, and the VGG16 base it was trained on. Cached until one of the files changes.
    """
    from django.conf import settings

    from .core import artifact
    from .core.model import SHIPPED_BASE_WEIGHTS, load_base_weights
    from .services import resolve_artifact_path

    version = active_version()
    if version is None:
        return "no model is active"
    path = resolve_artifact_path(version.artifact_path)
    base_path = settings.VGG16_WEIGHTS_PATH or SHIPPED_BASE_WEIGHTS
    key = (version.pk, version.sha256, _stamp(path / artifact.WEIGHTS_FILE), _stamp(path / artifact.METADATA_FILE),
           _stamp(base_path))
    if key in _health_cache:
        return _health_cache[key]
    problem = None
    try:
        if artifact.artifact_sha256(path) != version.sha256:
            raise artifact.ArtifactError("its files do not match the registered checksum")
        meta, _weights, _extra = artifact.load(path)
        _base, base_id = load_base_weights(settings.VGG16_WEIGHTS_PATH)
        if meta.get("base_weights_id") and meta["base_weights_id"] != base_id:
            raise artifact.ArtifactError("it was trained on other VGG16 base weights than the ones installed")
    except (artifact.ArtifactError, OSError, KeyError, ValueError) as exc:
        problem = f"the active model {version.name!r} cannot be loaded ({exc})"
    _health_cache.clear()
    _health_cache[key] = problem
    return problem
