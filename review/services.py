"""Writes: reviews, audit events and the consented training export."""

from __future__ import annotations

import csv
import io
import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from PIL import Image

from diagnosis.models import REVIEW_PERMISSION, Scan
from diagnosis.storage import read_bytes
from facediag_site import metrics

from .models import USABLE_LABELS, AuditEvent, Review, ReviewLabel

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.db.models import QuerySet

    from accounts.models import User

    Actor = User | AnonymousUser | None

logger = logging.getLogger(__name__)

REVIEWER_GROUP = "reviewer"
REVIEWER_PERMISSIONS = (
    REVIEW_PERMISSION,
    "diagnosis.view_scan",
    "ml.view_modelversion",
    "review.view_review",
    "review.view_auditevent",
)
EXPORT_SOURCE = "facediag_review"
MANIFEST_FIELDS = ("path", "label", "source", "model_label", "reviewed_at")


class ReviewNotAllowed(Exception):
    pass


# --- audit -------------------------------------------------------------------------------------------------


def record_event(
    *, actor: Actor, action: str, scan_id: uuid.UUID | None = None, detail: dict[str, Any] | None = None
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_ref=str(actor.pk) if actor is not None and actor.is_authenticated else "",
        action=action,
        scan_id=scan_id,
        detail=detail or {},
    )


def record_image_view(*, scan: Scan, user: Actor, kind: str) -> AuditEvent:
    return record_event(actor=user, action=AuditEvent.Action.IMAGE_VIEWED, scan_id=scan.pk, detail={"kind": kind})


# --- reviews -----------------------------------------------------------------------------------------------


def save_review(*, scan: Scan, reviewer: User, label: str, comment: str = "") -> tuple[Review, bool]:
    """Create or update the scan's review and audit it. Returns (review, created)."""
    if label not in ReviewLabel.values:
        raise ReviewNotAllowed(_("Unknown label %(label)r.") % {"label": label})
    with transaction.atomic():
        # Lock the scan row: two reviewers submitting at once serialise here instead of colliding.
        locked = Scan.objects.select_for_update().get(pk=scan.pk)
        if locked.status != Scan.Status.DONE:
            raise ReviewNotAllowed(_("Only finished scans can be reviewed."))
        if locked.owner_id == reviewer.pk:
            raise ReviewNotAllowed(_("You cannot review your own scan."))
        found = Review.objects.filter(scan=locked).first()
        created = found is None
        previous = None if found is None else found.label
        review = Review(scan=locked, model_label=locked.label) if found is None else found
        review.reviewer = reviewer
        review.label = label
        review.comment = comment or ""
        review.save()
        detail = {"label": label, "model_label": review.model_label, "has_comment": bool(review.comment)}
        if not created:
            detail["previous_label"] = previous
        record_event(
            actor=reviewer,
            action=AuditEvent.Action.REVIEW_CREATED if created else AuditEvent.Action.REVIEW_UPDATED,
            scan_id=locked.pk,
            detail=detail,
        )
    metrics.review_saved(created=created, agreed=review.label == review.model_label)
    return review, created


# --- roles -------------------------------------------------------------------------------------------------


def ensure_reviewer_group() -> tuple[Group, bool]:
    group, created = Group.objects.get_or_create(name=REVIEWER_GROUP)
    perms = []
    for dotted in REVIEWER_PERMISSIONS:
        app_label, codename = dotted.split(".")
        perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if perm is None:
            raise LookupError(f"permission {dotted} does not exist (run migrate first)")
        perms.append(perm)
    group.permissions.add(*perms)
    return group, created


# --- training export ---------------------------------------------------------------------------------------


def exportable_reviews() -> QuerySet[Review]:
    """Consented, reviewed, usable scans that still have their photo."""
    return (
        Review.objects.filter(
            label__in=USABLE_LABELS,
            scan__status=Scan.Status.DONE,
            scan__owner__consent_training=True,
            scan__owner__is_active=True,
        )
        .exclude(scan__image="")
        .select_related("scan")
        .order_by("pk")
    )


def export_name(scan_id: uuid.UUID) -> str:
    """A keyed hash of the scan id: stable across exports, meaningless without the server's secret."""
    return salted_hmac("review.export.filename", str(scan_id), algorithm="sha256").hexdigest()[:32]


def _write_clean_jpeg(src_name: str | None, dest: Path) -> None:
    data = read_bytes(src_name)
    with Image.open(io.BytesIO(data)) as img:
        # Re-encode: only pixels are written (no EXIF, ICC, comments), whatever the stored file held.
        img.convert("RGB").save(dest, "JPEG", quality=95)


@dataclass
class ExportResult:
    out: Path
    written: int
    skipped: int
    per_label: dict[str, int]


def _is_previous_export(path: Path) -> bool:
    manifest = path / "manifest.csv"
    if not manifest.is_file():
        return False
    with open(manifest, newline="") as fh:
        header = next(csv.reader(fh), [])
    return tuple(header) == MANIFEST_FIELDS


def export_reviewed(
    out: str | Path,
    *,
    replace: bool = False,
    progress: Callable[[int, int], object] | None = None,
    actor: Actor = None,
) -> ExportResult:
    """Write ``out/<label>/<hash>.jpg`` and ``out/manifest.csv`` for every exportable review.

    The export is built in a temporary folder next to ``out`` and moved into place at the end, so a
    reader never sees half an export, and ``replace`` swaps a previous export out entirely: photos whose
    owner withdrew consent since then are gone from the new one.
    """
    out = Path(out).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not replace:
            raise FileExistsError(f"{out} exists and is not empty (use --replace to overwrite a previous export)")
        if not _is_previous_export(out):
            raise FileExistsError(f"{out} does not look like a previous export; refusing to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    reviews = list(exportable_reviews())
    total = len(reviews)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    rows: list[dict[str, str]] = []
    skipped, per_label = 0, {label: 0 for label in USABLE_LABELS}
    try:
        for label in USABLE_LABELS:
            (tmp / label).mkdir()
        for i, review in enumerate(reviews, start=1):
            rel = f"{review.label}/{export_name(review.scan_id)}.jpg"
            try:
                _write_clean_jpeg(review.scan.image.name, tmp / rel)
            except (OSError, ValueError):
                skipped += 1  # photo missing or unreadable: leave it out, say so, carry on
                logger.warning("export: photo of one reviewed scan could not be read; skipped")
            else:
                rows.append(
                    {
                        "path": rel,
                        "label": review.label,
                        "source": EXPORT_SOURCE,
                        "model_label": review.model_label,
                        "reviewed_at": review.updated_at.date().isoformat(),
                    }
                )
                per_label[review.label] += 1
            if progress:
                progress(i, total)
        rows.sort(key=lambda r: r["path"])  # order by hash: reveals nothing about upload or review order
        with open(tmp / "manifest.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=MANIFEST_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        tmp.chmod(0o755)
        if out.exists():
            old = out.with_name(f".{out.name}-old-{tmp.name[-8:]}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    record_event(
        actor=actor,
        action=AuditEvent.Action.EXPORT_CREATED,
        detail={"written": len(rows), "skipped": skipped, "per_label": per_label},
    )
    return ExportResult(out=out, written=len(rows), skipped=skipped, per_label=per_label)
