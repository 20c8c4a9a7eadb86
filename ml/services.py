"""Registering and activating trained model artifacts."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.db import transaction

from .core import artifact
from .models import ModelVersion


def _stored_path(art_dir: Path) -> str:
    """Paths inside the repository are stored relative to BASE_DIR so a checkout can move."""
    base = Path(settings.BASE_DIR).resolve()
    try:
        return str(art_dir.resolve().relative_to(base))
    except ValueError:
        return str(art_dir.resolve())


def resolve_artifact_path(stored: str) -> Path:
    p = Path(stored)
    return p if p.is_absolute() else Path(settings.BASE_DIR) / p


def register_model(path: str | Path, *, activate: bool = False, name: str | None = None) -> tuple[ModelVersion, bool]:
    """Add the artifact at ``path`` (directory or its metadata.json); idempotent on sha256.

    Returns (version, created). Raises ``artifact.ArtifactError`` for an invalid artifact.
    """
    art_dir = Path(path)
    if art_dir.is_file():
        art_dir = art_dir.parent
    meta, _weights, _extra = artifact.load(art_dir)  # validates the artifact
    sha = artifact.artifact_sha256(art_dir)
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().filter(sha256=sha).first()
        created = version is None
        if version is None:
            base_name = name or meta.get("name") or art_dir.name
            unique, n = base_name, 2
            while ModelVersion.objects.filter(name=unique).exists():
                unique, n = f"{base_name}-{n}", n + 1
            version = ModelVersion.objects.create(
                name=unique,
                artifact_path=_stored_path(art_dir),
                sha256=sha,
                classes=list(meta["classes"]),
                metrics=json.loads(json.dumps(meta.get("metrics", {}))),
            )
        if activate:
            activate_version(version)
    return version, created


def activate_version(version: ModelVersion) -> ModelVersion:
    """Make ``version`` the one workers use; scans waiting for a usable model are queued again at once."""
    from diagnosis.services import requeue_waiting_scans

    with transaction.atomic():
        ModelVersion.objects.filter(active=True).exclude(pk=version.pk).update(active=False)
        if not version.active:
            version.active = True
            version.save(update_fields=["active"])
        transaction.on_commit(requeue_waiting_scans)
    return version
