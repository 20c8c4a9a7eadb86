"""Registering trained model artifacts, activating one, and choosing the shadow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .core import artifact
from .models import ModelVersion
from .signals import model_activated


class ShadowNotAllowed(ValueError):
    """The active version cannot also be the shadow."""


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


def register_model(
    path: str | Path, *, activate: bool = False, shadow: bool = False, name: str | None = None
) -> tuple[ModelVersion, bool]:
    """Add the artifact at ``path`` (directory or its metadata.json); idempotent on sha256.

    ``activate`` makes it the active version at once (no promotion gate: for the first model and for
    deployments); ``shadow`` makes it the shadow version instead. Returns (version, created).
    Raises ``artifact.ArtifactError`` for an invalid artifact, ``ShadowNotAllowed`` for the active one.
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
            activate_version(version, via="register_model")
        elif shadow:
            set_shadow(version)
    return version, created


def activate_version(version: ModelVersion, *, via: str = "activate_version", actor: Any = None) -> ModelVersion:
    """Make ``version`` the one whose results are served, and announce it (``ml.signals.model_activated``,
    inside the transaction; ``previous`` is the version it replaced, itself when it was active already).

    ``actor``: the staff member who asked, passed on to the receivers (None: a command or the system).
    It stops being the shadow if it was one. Announcing a re-activation too lets scans that waited for a
    repaired artifact of the same version go on at once.
    """
    with transaction.atomic():
        previous = ModelVersion.objects.select_for_update().filter(active=True).first()
        if previous is None or previous.pk != version.pk:
            ModelVersion.objects.filter(active=True).update(active=False)
            version.active, version.shadow, version.activated_at = True, False, timezone.now()
            version.save(update_fields=["active", "shadow", "activated_at"])
        model_activated.send(sender=ModelVersion, version=version, previous=previous, via=via, actor=actor)
    return version


def set_shadow(version: ModelVersion | None) -> ModelVersion | None:
    """Make ``version`` the shadow (replacing any other), or stop shadowing with None."""
    if version is not None and version.active:
        raise ShadowNotAllowed(f"{version.name} is the active version; it cannot be its own shadow")
    with transaction.atomic():
        others = ModelVersion.objects.filter(shadow=True)
        if version is not None:
            others = others.exclude(pk=version.pk)
        others.update(shadow=False)
        if version is not None and not version.shadow:
            version.shadow = True
            version.save(update_fields=["shadow"])
    return version
