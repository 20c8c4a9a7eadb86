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
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, transaction
from django.db.models import Subquery
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from PIL import Image

from diagnosis.models import CONDITIONS, QUALITY_MESSAGES, REVIEW_PERMISSION, Label, Scan
from diagnosis.readouts.lesions import findings as lesion_findings
from diagnosis.selectors import first_photo_of, photo_stored
from diagnosis.storage import STORAGE_ERRORS, read_bytes
from facediag_site import metrics
from ml import selectors as ml_selectors
from ml import services as ml_services
from ml.core.lesions import GRADES
from ml.core.report import ita_group
from ml.models import ModelVersion

from . import drift, selectors
from .models import USABLE_LABELS, AuditEvent, DriftReport, ModelResult, Review, ReviewLabel

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.db.models import QuerySet

    from accounts.models import User
    from ml.core.inference import Prediction

    # A staff member, or the name of the operator who ran a management command (``--actor``, else the OS user).
    Actor = User | AnonymousUser | str | None

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
#: Reviewers' acne grades beside the manifest: ``path`` and ``grade`` as in ACNE04's acne04_grades.csv, so the
#: lesion training can read both; what the lesion readout said, for the corrections.
LESION_GRADES_CSV = "lesion_grades.csv"
LESION_GRADE_FIELDS = ("path", "grade", "model_grade", "model_count", "source", "reviewed_at")


class ReviewNotAllowed(Exception):
    pass


# --- audit -------------------------------------------------------------------------------------------------


def record_event(
    *, actor: Actor, action: str, scan_id: uuid.UUID | None = None, detail: dict[str, Any] | None = None
) -> AuditEvent:
    if isinstance(actor, str):  # an operator at the command line: no account, a name
        return AuditEvent.objects.create(actor_name=actor[:150], action=action, scan_id=scan_id, detail=detail or {})
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_ref=str(actor.pk) if actor is not None and actor.is_authenticated else "",
        action=action,
        scan_id=scan_id,
        detail=detail or {},
    )


def record_image_view(*, scan: Scan, user: Actor, kind: str, view: str = "front") -> AuditEvent:
    """``kind``: image or heatmap; ``view``: which photo of the scan (front, left, right)."""
    return record_event(actor=user, action=AuditEvent.Action.IMAGE_VIEWED, scan_id=scan.pk,
                        detail={"kind": kind, "view": view})


# --- reviews -----------------------------------------------------------------------------------------------


def save_review(
    *, scan: Scan, reviewer: User, label: str, comment: str = "", lesion_grade: int | None = None
) -> tuple[Review, bool]:
    """Create or update the scan's review and audit it. Returns (review, created).

    ``lesion_grade``: the reviewer's acne grade (0-3, ``ml.core.lesions.GRADES``), kept beside what the lesion
    readout said (the correction, exported like the labels); only for an acne label, else dropped."""
    if label not in ReviewLabel.values:
        raise ReviewNotAllowed(_("Unknown label %(label)r.") % {"label": label})
    if lesion_grade is not None and not 0 <= lesion_grade < len(GRADES):
        raise ReviewNotAllowed(_("Unknown acne grade %(grade)r.") % {"grade": lesion_grade})
    if label != ReviewLabel.ACNE:
        lesion_grade = None  # a grade of acne only for a photo of acne
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
        previous_grade = None if found is None else found.lesion_grade
        review = Review(scan=locked, model_label=locked.label) if found is None else found
        review.reviewer = reviewer
        review.label = label
        review.comment = comment or ""
        model_findings = lesion_findings(locked.first_photo)
        review.model_lesion_count = model_findings.count if model_findings else None
        review.model_lesion_grade = model_findings.grade if model_findings else None
        review.lesion_grade = lesion_grade
        review.save()
        detail = {"label": label, "model_label": review.model_label, "has_comment": bool(review.comment)}
        if lesion_grade is not None or previous_grade is not None:
            detail.update(lesion_grade=lesion_grade, model_lesion_grade=review.model_lesion_grade)
        if not created:
            detail["previous_label"] = previous
            if previous_grade != lesion_grade:
                detail["previous_lesion_grade"] = previous_grade
        record_event(
            actor=reviewer,
            action=AuditEvent.Action.REVIEW_CREATED if created else AuditEvent.Action.REVIEW_UPDATED,
            scan_id=locked.pk,
            detail=detail,
        )
    version = locked.model_version.name if locked.model_version is not None else ""
    metrics.review_saved(created=created, agreed=review.label == review.model_label, version=version)
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
        .filter(photo_stored("scan"))
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
    lesion_grades: int = 0  # rows of lesion_grades.csv


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
    grades: list[dict[str, str]] = []
    skipped, per_label = 0, {label: 0 for label in USABLE_LABELS}
    try:
        for label in USABLE_LABELS:
            (tmp / label).mkdir()
        for i, review in enumerate(reviews, start=1):
            rel = f"{review.label}/{export_name(review.scan_id)}.jpg"
            try:
                first = review.scan.first_photo
                if first is None:
                    raise FileNotFoundError("the scan has no photo")
                _write_clean_jpeg(first.image.name, tmp / rel)
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
                if review.lesion_grade is not None:
                    grades.append({
                        "path": rel, "grade": str(review.lesion_grade),
                        "model_grade": "" if review.model_lesion_grade is None else str(review.model_lesion_grade),
                        "model_count": "" if review.model_lesion_count is None else str(review.model_lesion_count),
                        "source": EXPORT_SOURCE, "reviewed_at": review.updated_at.date().isoformat(),
                    })
            if progress:
                progress(i, total)
        rows.sort(key=lambda r: r["path"])  # order by hash: reveals nothing about upload or review order
        with open(tmp / "manifest.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=MANIFEST_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        grades.sort(key=lambda r: r["path"])
        with open(tmp / LESION_GRADES_CSV, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=LESION_GRADE_FIELDS)
            writer.writeheader()
            writer.writerows(grades)
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
        detail={"written": len(rows), "skipped": skipped, "per_label": per_label, "lesion_grades": len(grades)},
    )
    return ExportResult(out=out, written=len(rows), skipped=skipped, per_label=per_label, lesion_grades=len(grades))


# --- results of each model version, kept apart from the scan's -------------------------------------------


def _result_row(scan_id: uuid.UUID, prediction: Prediction, version: ModelVersion, kind: str) -> ModelResult:
    details = prediction.details or {}
    distance = details.get("feature_distance")
    return ModelResult(
        scan_id=scan_id,
        model_version=version,
        kind=kind,
        label=prediction.label,
        reason=prediction.reason or "",
        probabilities={c: float(prediction.probabilities.get(c, 0.0)) for c in CONDITIONS},
        top_probability=float(prediction.top_probability),
        quality={k: bool(v) for k, v in (prediction.quality or {}).items()},
        tone=ita_group(details.get("ita")),
        feature_distance=float(distance) if distance is not None else None,
    )


def record_model_results(results: list[tuple[uuid.UUID, Prediction]], *, kind: str) -> int:
    """Store each (scan id, prediction) as its model version's result on that scan, apart from the scan's
    own result. A result the version already has on a scan is kept; a scan deleted meanwhile is skipped.
    Returns how many were stored."""
    names = {p.model_version for _scan_id, p in results}
    versions = {v.name: v for v in ModelVersion.objects.filter(name__in=names)}
    rows = [_result_row(scan_id, p, versions[p.model_version], kind) for scan_id, p in results
            if p.model_version in versions]
    if not rows:
        return 0
    existing = set(Scan.objects.filter(id__in=[r.scan_id for r in rows]).values_list("id", flat=True))
    rows = [r for r in rows if r.scan_id in existing]
    try:
        with transaction.atomic():
            return len(ModelResult.objects.bulk_create(rows, ignore_conflicts=True))
    except IntegrityError:  # a scan deleted since the check above: store the others one by one
        stored = 0
        for row in rows:
            try:
                with transaction.atomic():
                    ModelResult.objects.bulk_create([row], ignore_conflicts=True)
            except IntegrityError:  # raised at the commit (the key is checked there): not stored
                continue
            stored += 1
        return stored


@dataclass
class RescoreResult:
    version: str
    total: int
    scored: int
    unreadable: int


def rescore_reviewed(
    version: ModelVersion,
    *,
    replace: bool = False,
    batch_size: int = 16,
    progress: Callable[[int, int], object] | None = None,
) -> RescoreResult:
    """Replay the stored photos of reviewed scans whose owner consented (``selectors.rescorable_scans``)
    through ``version`` and store its results (kind ``rescored``), so that a candidate has figures on past
    reviews at once. Raises ``ml.runtime.ModelUnavailable`` when the version cannot be loaded."""
    from ml.runtime import load_version

    scans = list(selectors.rescorable_scans(version, replace=replace)
                 .annotate(image=Subquery(first_photo_of().values("image"))).values_list("id", "image"))
    predictor = load_version(version)
    scored = unreadable = 0
    for start in range(0, len(scans), batch_size):
        batch: list[tuple[uuid.UUID, bytes]] = []
        for scan_id, image in scans[start : start + batch_size]:
            try:
                batch.append((scan_id, read_bytes(image)))
            except (FileNotFoundError, *STORAGE_ERRORS):
                unreadable += 1
        if batch:
            predictions = predictor.predict_many([data for _id, data in batch], batch_size=batch_size)
            done = [(scan_id, p) for (scan_id, _data), p in zip(batch, predictions, strict=True)
                    if not isinstance(p, Exception)]
            unreadable += len(batch) - len(done)
            if replace:
                ModelResult.objects.filter(model_version=version, kind=ModelResult.Kind.RESCORED,
                                           scan_id__in=[scan_id for scan_id, _p in done]).delete()
            scored += record_model_results(done, kind=ModelResult.Kind.RESCORED)
        if progress:
            progress(min(start + batch_size, len(scans)), len(scans))
    return RescoreResult(version=version.name, total=len(scans), scored=scored, unreadable=unreadable)


# --- promotion gate and rollback ---------------------------------------------------------------------------


class PromotionError(Exception):
    """The promotion cannot even be considered (already active, --force without a reason)."""


@dataclass
class PromotionOutcome:
    version: str
    previous: str | None
    accepted: bool
    forced: bool
    comparison: dict[str, Any]


def promote_model(
    version: ModelVersion, *, actor: Actor = None, force: bool = False, reason: str = ""
) -> PromotionOutcome:
    """Make ``version`` active only if the promotion gate passes on reviewed scans
    (``selectors.compare_with_active``), or when ``force`` with a ``reason``. Either way, an audit event."""
    reason = (reason or "").strip()
    if force and not reason:
        raise PromotionError("--force needs --reason: say why the gate is overridden")
    if version.active:
        raise PromotionError(f"{version.name} is already the active version")
    active = ml_selectors.active_version()
    if active is None:
        comparison: dict[str, Any] = {"passed": True, "n": 0, "checks": [], "note": "no active version to compare with"}
    else:
        comparison = selectors.compare_with_active(version, active)
    passed = bool(comparison["passed"])
    accepted, forced = passed or force, force and not passed
    previous = active.name if active else None
    detail = {"version": version.name, "previous": previous, "forced": forced, "reason": reason,
              "comparison": comparison}
    with transaction.atomic():
        if accepted:
            ml_services.activate_version(version, via="promote_model", actor=actor)
        record_event(actor=actor, detail=detail,
                     action=AuditEvent.Action.MODEL_PROMOTED if accepted else AuditEvent.Action.MODEL_PROMOTION_REFUSED)
    return PromotionOutcome(version=version.name, previous=previous, accepted=accepted, forced=forced,
                            comparison=comparison)


class RollbackImpossible(Exception):
    pass


def rollback_model(*, actor: Actor = None, reason: str = "") -> tuple[ModelVersion, ModelVersion | None]:
    """Make the version that was active before the current one active again. Returns (now active, replaced)."""
    with transaction.atomic():
        target = ml_selectors.previous_version()
        if target is None:
            raise RollbackImpossible("no version was active before the current one")
        current = ml_selectors.active_version()
        ml_services.activate_version(target, via="rollback_model", actor=actor)
        record_event(actor=actor, action=AuditEvent.Action.MODEL_ROLLED_BACK,
                     detail={"version": target.name, "previous": current.name if current else None,
                             "reason": (reason or "").strip()})
    return target, current


def record_activation(
    *, version: ModelVersion, previous: ModelVersion | None, via: str, actor: Actor = None, reason: str = ""
) -> None:
    """Audit a change of active version, however it was made (a re-activation changes nothing: not audited)."""
    if previous is not None and previous.pk == version.pk:
        return
    detail = {"version": version.name, "previous": previous.name if previous else None, "via": via}
    if reason:
        detail["reason"] = reason
    record_event(actor=actor, action=AuditEvent.Action.MODEL_ACTIVATED, detail=detail)


# --- drift -------------------------------------------------------------------------------------------------


def run_drift_check(*, now: datetime | None = None) -> DriftReport:
    """Compare the scans of the last DRIFT_RECENT_DAYS with the DRIFT_BASELINE_DAYS before (review.drift)
    and store the report the dashboard and the alert metric read."""
    end = now or timezone.now()
    recent_start = end - timedelta(days=settings.DRIFT_RECENT_DAYS)
    baseline_start = recent_start - timedelta(days=settings.DRIFT_BASELINE_DAYS)
    recent = selectors.drift_items(recent_start, end, limit=settings.DRIFT_MAX_SCANS)
    baseline = selectors.drift_items(baseline_start, recent_start, limit=settings.DRIFT_MAX_SCANS)
    result = drift.compare_windows(recent, baseline, labels=list(Label.values), flags=list(QUALITY_MESSAGES),
                                   alpha=settings.DRIFT_ALPHA, min_scans=settings.DRIFT_MIN_SCANS)
    report = DriftReport.objects.create(
        baseline_start=baseline_start, recent_start=recent_start, recent_end=end, baseline_n=len(baseline),
        recent_n=len(recent), alpha=result["alpha"], drifted=result["drifted"], checks=result["checks"],
    )
    if report.drifted:
        names = ", ".join(c["name"] for c in result["checks"] if c.get("drifted"))
        logger.warning("drift: the last %d days differ from the %d before (%s)", settings.DRIFT_RECENT_DAYS,
                       settings.DRIFT_BASELINE_DAYS, names)
    return report
