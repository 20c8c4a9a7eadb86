"""Registering trained model artifacts, activating one, and choosing the shadow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
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


class ActivationNeedsReason(ValueError):
    """A forced activation would replace the active version without saying why."""


def register_model(
    path: str | Path,
    *,
    activate: bool = False,
    activate_if_none: bool = False,
    shadow: bool = False,
    name: str | None = None,
    actor: Any = None,
    reason: str = "",
    require_reason: bool = False,
) -> tuple[ModelVersion, bool]:
    """Add the artifact at ``path`` (directory or its metadata.json); idempotent on sha256.

    ``activate_if_none`` makes it the active version only when no version is active (a fresh install: what
    deployments ask for, so that a deploy never undoes a promotion). ``activate`` forces it active whatever
    is active (no promotion gate: the first model, emergencies, tests); with ``require_reason`` (the command)
    replacing another version that way needs a ``reason``. ``shadow`` makes it the shadow version instead.
    ``actor`` (a user or an operator's name) and ``reason`` go to the audit trail. Returns (version, created).
    Raises ``artifact.ArtifactError`` for an invalid artifact, ``ShadowNotAllowed`` for the active one,
    ``ActivationNeedsReason`` for a forced replacement without a reason.
    """
    reason = (reason or "").strip()
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
            current = ModelVersion.objects.filter(active=True).exclude(pk=version.pk).first()
            if current is not None and require_reason and not reason:
                raise ActivationNeedsReason(
                    f"{current.name} is active: replacing it without the promotion gate needs a reason"
                )
            activate_version(version, via="register_model --activate", actor=actor, reason=reason)
        elif activate_if_none:
            if not ModelVersion.objects.filter(active=True).exists():
                try:
                    with transaction.atomic():  # a savepoint: two deploys racing, the other one won
                        activate_version(version, via="register_model --activate-if-none", actor=actor, reason=reason)
                except IntegrityError:
                    version.refresh_from_db()
        elif shadow:
            set_shadow(version)
    return version, created


def activate_version(
    version: ModelVersion, *, via: str = "activate_version", actor: Any = None, reason: str = ""
) -> ModelVersion:
    """Make ``version`` the one whose results are served, and announce it (``ml.signals.model_activated``,
    inside the transaction; ``previous`` is the version it replaced, itself when it was active already).

    ``actor``: the staff member who asked, or the operator's name from a command (None: the system), and
    ``reason``, passed on to the receivers (the audit trail).
    It stops being the shadow if it was one. Announcing a re-activation too lets scans that waited for a
    repaired artifact of the same version go on at once.
    """
    with transaction.atomic():
        previous = ModelVersion.objects.select_for_update().filter(active=True).first()
        if previous is None or previous.pk != version.pk:
            ModelVersion.objects.filter(active=True).update(active=False)
            version.active, version.shadow, version.activated_at = True, False, timezone.now()
            version.save(update_fields=["active", "shadow", "activated_at"])
        model_activated.send(sender=ModelVersion, version=version, previous=previous, via=via, actor=actor,
                             reason=reason)
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
