"""Reads. Every query here is scoped to an owner, so a user only ever sees their own scans."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from . import signals
from .models import CONDITIONS, REVIEW_PERMISSION, PhotoView, Scan, ScanPhoto
from .readouts import lesions as lesion_readout
from .results import inference_problem

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


@dataclass(frozen=True)
class ClinicianReview:
    """A clinician's label of a scan, as the report and the export show it (the review app keeps reviews)."""

    label: str  # a review label's value ("acne", ..., "not_assessable")
    label_display: str  # its name in the active language
    reviewed_at: datetime


def clinician_review(scan: Scan) -> ClinicianReview | None:
    """The scan's clinician review, or None: asked of whichever app keeps reviews (``signals.review_of_scan``),
    so that diagnosis does not import the review app that sits on it."""
    for _receiver, review in signals.review_of_scan.send(sender=Scan, scan=scan):
        if isinstance(review, ClinicianReview):
            return review
    return None


def scans_for_owner(
    owner: User,
    *,
    label: str | None = None,
    status: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    with_photos: bool = False,
) -> QuerySet[Scan]:
    """The owner's scans, newest first; ``with_photos``: their other photos fetched too (one query for all),
    for lists that show every photo of each scan."""
    scans = Scan.objects.filter(owner=owner).select_related("model_version", "review")
    if with_photos:
        scans = scans.prefetch_related("photos")
    if label:
        scans = scans.filter(label=label)
    if status:
        scans = scans.filter(status=status)
    if date_from:
        scans = scans.filter(created_at__date__gte=date_from)
    if date_to:
        scans = scans.filter(created_at__date__lte=date_to)
    return scans.order_by("-created_at")


def get_owned_scan(owner: User, scan_id: uuid.UUID | str) -> Scan:
    """The owner's scan, or 404 for anyone else's (ids reveal nothing)."""
    try:
        return (Scan.objects.select_related("model_version", "review").prefetch_related("photos")
                .get(id=scan_id, owner=owner))
    except (Scan.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404(_("No such scan.")) from None


def get_scan_for_media(user: User | AnonymousUser, scan_id: uuid.UUID | str) -> Scan:
    """Media are served to the owner, and to reviewers for review work: only once the scan is done
    (reviewable), never while it is queued, analysing or failed."""
    try:
        scan = Scan.objects.get(id=scan_id)
    except (Scan.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404(_("No such scan.")) from None
    if scan.owner_id == user.id:
        return scan
    if scan.status == Scan.Status.DONE and user.has_perm(REVIEW_PERMISSION):
        return scan
    raise Http404(_("No such scan."))


def chart_scans(
    owner: User, *, label: str | None = None, date_from: date | None = None, date_to: date | None = None
) -> QuerySet[Scan]:
    """The scans the history chart draws: finished, with a class, within the history page's filters."""
    return scans_for_owner(owner, label=label, status=Scan.Status.DONE, date_from=date_from, date_to=date_to).filter(
        label__in=CONDITIONS
    )


def has_chart_points(owner: User, **filters: Any) -> bool:
    return chart_scans(owner, **filters).exists()


def confidence_series(
    owner: User, *, label: str | None = None, date_from: date | None = None, date_to: date | None = None
) -> dict[str, Any]:
    """Per condition, the confidence of each finished scan over time (oldest first), for charts; and under
    ``lesions``, ``{"points": [...]}``: the spots counted on those scans' front photos that have lesion findings
    (``readouts.lesions.series_points``), from the same rows.

    Only scans that got a class count: "uncertain" and "no skin" results carry no usable confidences.
    The filters are the history page's, so the chart shows the same scans as the list.
    """
    # Plain rows, not model instances: this runs over the whole history (1,000+ scans for some people).
    first = first_photo_of()
    rows = list(
        chart_scans(owner, label=label, date_from=date_from, date_to=date_to)
        .order_by("created_at")
        .select_related(None)
        # the first photo's lesion findings, their count and grade only: the boxes stay in the database
        .annotate(lesion_count=Subquery(first.values("lesions__count")),
                  lesion_grade=Subquery(first.values("lesions__grade")))
        .values_list("id", "created_at", "label", "probabilities", "lesion_count", "lesion_grade")
    )
    points: list[dict[str, Any]] = []
    series: dict[str, list[dict[str, Any]]] = {c: [] for c in CONDITIONS}
    for scan_id, created_at, scan_label, stored, _count, _grade in rows:
        when = created_at.isoformat()
        probabilities = {c: round(float(stored.get(c, 0.0)), 4) for c in CONDITIONS}
        points.append(
            {"scan_id": str(scan_id), "created_at": when, "label": scan_label, "probabilities": probabilities}
        )
        for c in CONDITIONS:
            series[c].append({"t": when, "y": probabilities[c]})
    lesions = lesion_readout.series_points([(i, t, lb, n, g) for i, t, lb, _p, n, g in rows if n is not None])
    return {"classes": list(CONDITIONS), "points": points, "series": series, "lesions": {"points": lesions}}


def has_lesion_points(owner: User, **filters: Any) -> bool:
    return chart_scans(owner, **filters).filter(photos__position=0, photos__lesions__isnull=False).exists()


def stuck_scans(older_than: datetime) -> QuerySet[Scan, uuid.UUID]:
    """Ids of scans queued, or claimed, before ``older_than``: their message was probably lost."""
    queued = Scan.objects.filter(status=Scan.Status.QUEUED, updated_at__lt=older_than)
    analysing = Scan.objects.filter(status=Scan.Status.ANALYSING, claimed_at__lt=older_than)
    return (queued | analysing).values_list("id", flat=True)


def unpublished_scans() -> QuerySet[Scan, uuid.UUID]:
    """Ids of queued scans whose analysis message could not be published (the broker was down)."""
    return Scan.objects.filter(status=Scan.Status.QUEUED, publish_failed=True).values_list("id", flat=True)


def waiting_scans() -> QuerySet[Scan, uuid.UUID]:
    """Ids of every queued scan."""
    return Scan.objects.filter(status=Scan.Status.QUEUED).values_list("id", flat=True)


def analysis_state(scan: Scan) -> dict[str, Any] | None:
    """For a scan still waiting: whether analysis is running or paused, and why, in words. A running scan
    waiting longer than SCAN_SLOW_AFTER_SECONDS has the reason ``slow``: its page stops promising seconds."""
    if scan.status in (Scan.Status.DONE, Scan.Status.FAILED):
        return None
    from facediag_site.health import analysis_pause_reason

    pause = analysis_pause_reason()
    if pause:
        code, problem = pause
        return {
            "state": "paused",
            "reason": code,
            "detail": _("Analysis is paused: %(problem)s. Your photo is kept and will be analysed automatically.")
            % {"problem": problem},
        }
    waited = (timezone.now() - scan.created_at).total_seconds()
    if waited > settings.SCAN_SLOW_AFTER_SECONDS:
        return {"state": "running", "reason": "slow",
                "detail": _("Taking longer than usual: we are on it. Your photo is kept; this page updates by "
                            "itself.")}
    return {"state": "running", "reason": None, "detail": _("Your photo is being analysed.")}


def analysis_backlog() -> int:
    """Scans of every owner accepted and not finished yet (queued or being analysed): the work waiting."""
    return Scan.objects.filter(status__in=(Scan.Status.QUEUED, Scan.Status.ANALYSING)).count()


def oldest_waiting_scan_age(now: datetime | None = None) -> float:
    """Seconds since the oldest scan still waiting (queued or being analysed) was uploaded; 0 when none waits.
    Backpressure caps how many scans wait, not how long: during an outage this grows the whole time."""
    oldest = (Scan.objects.filter(status__in=(Scan.Status.QUEUED, Scan.Status.ANALYSING))
              .order_by("created_at").values_list("created_at", flat=True).first())
    return max(0.0, ((now or timezone.now()) - oldest).total_seconds()) if oldest else 0.0


def scans_finished_since(moment: datetime) -> int:
    """Scans of every owner whose analysis ended (done or failed) at or after ``moment``."""
    return Scan.objects.filter(completed_at__gte=moment).count()


@dataclass(frozen=True)
class ModelServing:
    """How the active version fared on the scans it finished lately (``model_serving``)."""

    version: str | None
    judged: int  # scans it finished: results and failures at inference (other failures are not its doing)
    failed: int  # of those, failed at inference
    problem: str | None  # the exception most of them raised

    @property
    def failed_share(self) -> float:
        return self.failed / self.judged if self.judged else 0.0

    @property
    def failing(self) -> bool:
        return self.failed >= settings.MODEL_FAILING_MIN_SCANS and self.failed_share >= settings.MODEL_FAILING_SHARE

    def sentence(self) -> str | None:
        """What /healthz/ says when the model is failing, else None."""
        if not self.failing:
            return None
        return (f"the active model ({self.version}) failed {self.failed} of the last {self.judged} scans it "
                f"analysed ({self.problem})")


def model_serving(now: datetime | None = None) -> ModelServing:
    """The active version's last MODEL_HEALTH_SCANS finished scans within MODEL_HEALTH_WINDOW_SECONDS, and
    since it became active (a rollback starts it afresh), read from the database: the same answer in every
    web process, every worker and at every scrape."""
    from ml.selectors import active_version

    version = active_version()
    if version is None:
        return ModelServing(version=None, judged=0, failed=0, problem=None)
    since = (now or timezone.now()) - timedelta(seconds=settings.MODEL_HEALTH_WINDOW_SECONDS)
    if version.activated_at and version.activated_at > since:
        since = version.activated_at
    finished = (Scan.objects.filter(completed_at__gte=since, status__in=(Scan.Status.DONE, Scan.Status.FAILED))
                .order_by("-completed_at").values_list("status", "error")[: settings.MODEL_HEALTH_SCANS])
    problems: Counter[str] = Counter()
    judged = 0
    for status, error in finished:
        problem = inference_problem(error) if status == Scan.Status.FAILED else None
        if status == Scan.Status.DONE or problem:
            judged += 1
        if problem:
            problems[problem] += 1
    top = problems.most_common(1)
    return ModelServing(version=version.name, judged=judged, failed=sum(problems.values()),
                        problem=top[0][0] if top else None)


def inference_failures_since(moment: datetime) -> list[Scan]:
    """Scans that failed at inference (the model's doing, not the photo's) at or after ``moment``, photo kept."""
    failed = Scan.objects.filter(status=Scan.Status.FAILED, completed_at__gte=moment, image_deleted_at__isnull=True)
    return [scan for scan in failed.order_by("completed_at") if inference_problem(scan.error)]


@dataclass(frozen=True)
class PhotoOfScan:
    """One photo of a scan: its row (files and readouts), and once the scan is done, the photo's own result."""

    view: str
    files: ScanPhoto
    result: dict[str, Any] | None

    @property
    def view_title(self) -> str:
        return str(PhotoView(self.view).label)

    @property
    def label(self) -> str | None:
        return self.result["label"] if self.result else None

    @property
    def has_class(self) -> bool:
        return self.label in CONDITIONS

    @property
    def counted(self) -> bool | None:
        return bool(self.result["counted"]) if self.result else None

    @property
    def top_probability(self) -> float | None:
        if not self.result or not self.has_class:
            return None
        return max(float(v) for v in self.result["probabilities"].values())


def photo_result(photo: ScanPhoto) -> dict[str, Any]:
    """One photo's own result as the API and the export write it: {view, label, reason, probabilities,
    quality, counted}."""
    return {"view": photo.view, "label": photo.label, "reason": photo.reason,
            "probabilities": dict(photo.probabilities or {}), "quality": dict(photo.quality or {}),
            "counted": bool(photo.counted)}


def previous_photos(owner: User) -> dict[str, ScanPhoto]:
    """The owner's latest photo of each view that still has its image (retention clears old ones), by view:
    the "ghost" the upload page lays over the live camera so a new photo is framed like the last (issue 32).
    Empty for someone who never took one."""
    if not owner.is_authenticated:
        return {}
    photos = (ScanPhoto.objects.filter(scan__owner=owner).exclude(image="").select_related("scan")
              .order_by("view", "-scan__created_at").distinct("view"))
    return {photo.view: photo for photo in photos}


def first_photo_of(scan_path: str = "pk") -> QuerySet[ScanPhoto]:
    """The first photo of the scan at ``scan_path`` (an OuterRef path from the outer query), for subqueries."""
    return ScanPhoto.objects.filter(scan=OuterRef(scan_path)).order_by("position")[:1]


def photo_stored(scan_path: str = "pk") -> Exists:
    """Whether the scan at ``scan_path`` still has its (first) photo stored: retention clears them."""
    return Exists(ScanPhoto.objects.filter(scan=OuterRef(scan_path), position=0).exclude(image=""))


def scan_photos(scan: Scan) -> list[PhotoOfScan]:
    """The scan's photos in PHOTO_VIEWS order, each with its own result once the scan is done (the photos
    prefetched where many scans are listed)."""
    done = scan.status == Scan.Status.DONE
    return [PhotoOfScan(photo.view, photo, photo_result(photo) if done and photo.label else None)
            for photo in scan.photos.all()]

