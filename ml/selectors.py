"""Read-only queries for model versions."""

from __future__ import annotations

from .models import ModelVersion


def active_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(active=True).first()


def version_by_sha(sha256: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(sha256=sha256).first()


def list_versions():
    return ModelVersion.objects.all().order_by("-created")
