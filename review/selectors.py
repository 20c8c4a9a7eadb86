"""Reads: the review queue and the agreement statistics."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from diagnosis.models import CONDITIONS, QUALITY_MESSAGES, Label, Scan
from diagnosis.selectors import photo_stored
from ml.models import ModelVersion

from . import measures
from .drift import DriftItem
from .models import USABLE_LABELS, DriftReport, ModelResult, Review, ReviewLabel

if TYPE_CHECKING:
    from accounts.models import User

#: (model_label, reviewer_label, model version name, reviewed_at): one review, as the agreement reads it.
AgreementRow = tuple[str, str, str | None, datetime]

QUALITY_FLAGS = tuple(QUALITY_MESSAGES)  # no_face, blurry, too_dark, too_bright, too_small
NO_FLAGS = "none"
ORDER_UNCERTAIN = "uncertain"
ORDER_OLDEST = "oldest"
MODEL_LABELS: tuple[str, ...] = tuple(Label.values)  # the conditions, uncertain, no_skin
REVIEW_LABELS: tuple[str, ...] = tuple(ReviewLabel.values)  # the conditions, unusable


# --- queue -------------------------------------------------------------------------------------------------


def _order_by(order: str) -> list[Any]:
    if order == ORDER_OLDEST:
        return ["created_at", "id"]
    return [F("top_probability").asc(nulls_first=True), "created_at", "id"]


def review_queue(
    reviewer: User,
    *,
    order: str = ORDER_UNCERTAIN,
    label: str | None = None,
    flags: Iterable[str] = (),
    model_version: ModelVersion | None = None,
) -> QuerySet[Scan]:
    """Finished, unreviewed scans that still have their photo, not the reviewer's own.

    ``flags``: each named quality flag must be set; the pseudo-flag ``none`` means no flag is set.
    Default order: most uncertain first (lowest top probability), then oldest.
    """
    scans = (
        Scan.objects.filter(photo_stored(), status=Scan.Status.DONE, review__isnull=True)
        .exclude(owner=reviewer)
        .select_related("model_version")
    )
    if label:
        scans = scans.filter(label=label)
    for flag in flags or ():
        if flag == NO_FLAGS:
            for name in QUALITY_FLAGS:
                # has_key first: a missing key compares as NULL, and NOT NULL would drop the row.
                scans = scans.exclude(Q(quality__has_key=name) & Q(**{f"quality__{name}": True}))
        elif flag in QUALITY_FLAGS:
            scans = scans.filter(**{f"quality__{flag}": True})
    if model_version is not None:
        scans = scans.filter(model_version=model_version)
    return scans.order_by(*_order_by(order))


def _after(scan: Scan, order: str) -> Q:
    """Scans strictly after ``scan`` in the queue order (keyset pagination)."""
    later = Q(created_at__gt=scan.created_at) | Q(created_at=scan.created_at, id__gt=scan.id)
    if order == ORDER_OLDEST:
        return later
    tp = scan.top_probability
    if tp is None:
        return Q(top_probability__isnull=True) & later | Q(top_probability__isnull=False)
    return Q(top_probability__gt=tp) | Q(top_probability=tp) & later


def next_in_queue(reviewer: User, current: Scan, **filters: Any) -> Scan | None:
    """The scan after ``current`` in the same order and filters; wraps round to the start; None when empty."""
    queue = review_queue(reviewer, **filters).exclude(pk=current.pk)
    return queue.filter(_after(current, filters.get("order", ORDER_UNCERTAIN))).first() or queue.first()


def get_scan_for_review(reviewer: User, scan_id: uuid.UUID | str) -> Scan:
    try:
        scan = Scan.objects.select_related("model_version", "review", "review__reviewer").get(
            id=scan_id, status=Scan.Status.DONE
        )
    except (Scan.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such scan.")) from None
    if scan.owner_id == reviewer.pk:
        raise Http404(_("You cannot review your own scan."))
    return scan


def review_of(scan: Scan) -> Review | None:
    """The scan's review, or None. The one way other apps read a scan's review (Scan has no field for it:
    the review app adds the reverse relation)."""
    try:
        return scan.review
    except ObjectDoesNotExist:  # Review.DoesNotExist, or any other "no such row"
        return None


# --- agreement ---------------------------------------------------------------------------------------------


def agreement_rows(*, model_version: ModelVersion | None = None) -> list[AgreementRow]:
    """(model_label, reviewer_label, model_version_name, reviewed_at) for every review."""
    reviews = Review.objects.all()
    if model_version is not None:
        reviews = reviews.filter(scan__model_version=model_version)
    return list(
        reviews.order_by("created_at").values_list("model_label", "label", "scan__model_version__name", "created_at")
    )


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _period_start(moment: datetime, period: str) -> date:
    day = timezone.localtime(moment).date() if timezone.is_aware(moment) else moment.date()
    if period == "day":
        return day
    if period == "month":
        return day.replace(day=1)
    return day - timedelta(days=day.weekday())  # week: Monday


def compute_agreement(rows: Iterable[AgreementRow], *, period: str = "week") -> dict[str, Any]:
    """Model vs reviewer, from ``(model_label, reviewer_label, version, reviewed_at)`` rows.

    - ``matrix[model_label][reviewer_label]``: counts, rows = model labels (incl. uncertain, no_skin),
      columns = reviewer labels (incl. unusable).
    - ``usable``: reviews whose reviewer label is not "unusable"; agreement is measured on these only.
    - ``agreement``: usable reviews where the reviewer kept the model's label / usable reviews.
    - per class c: ``model_count`` (model said c), ``reviewer_count`` (reviewer said c), ``agreed`` (both);
      ``confirmed_rate`` = agreed / model_count (how often the model's c was confirmed) and
      ``found_rate`` = agreed / reviewer_count (how often a c the reviewer saw, the model had said).
    - ``by_version`` and ``timeline`` (per period start, per version) give n, agreed and rate.
    """
    matrix = {m: {r: 0 for r in REVIEW_LABELS} for m in MODEL_LABELS}
    per_class: dict[str, dict[str, Any]] = {c: {"model_count": 0, "reviewer_count": 0, "agreed": 0} for c in CONDITIONS}
    versions: defaultdict[str, dict[str, int]] = defaultdict(
        lambda: {"total": 0, "usable": 0, "agreed": 0, "unusable": 0}
    )
    periods: defaultdict[tuple[date, str], dict[str, int]] = defaultdict(lambda: {"usable": 0, "agreed": 0})
    total = usable = agreed = 0
    for model_label, reviewer_label, version, reviewed_at in rows:
        version = version or "unknown"
        total += 1
        if model_label in matrix and reviewer_label in matrix[model_label]:
            matrix[model_label][reviewer_label] += 1
        v = versions[version]
        v["total"] += 1
        if reviewer_label not in USABLE_LABELS:
            v["unusable"] += 1
            continue
        usable += 1
        v["usable"] += 1
        hit = model_label == reviewer_label
        p = periods[(_period_start(reviewed_at, period), version)]
        p["usable"] += 1
        per_class[reviewer_label]["reviewer_count"] += 1
        if model_label in per_class:
            per_class[model_label]["model_count"] += 1
        if hit:
            agreed += 1
            v["agreed"] += 1
            p["agreed"] += 1
            per_class[reviewer_label]["agreed"] += 1
    for stats in per_class.values():
        stats["confirmed_rate"] = _rate(stats["agreed"], stats["model_count"])
        stats["found_rate"] = _rate(stats["agreed"], stats["reviewer_count"])
    by_version = [
        {"version": name, **v, "agreement": _rate(v["agreed"], v["usable"])} for name, v in sorted(versions.items())
    ]
    timeline = [
        {"period": start.isoformat(), "version": name, **p, "agreement": _rate(p["agreed"], p["usable"])}
        for (start, name), p in sorted(periods.items())
    ]
    return {
        "model_labels": list(MODEL_LABELS),
        "reviewer_labels": list(REVIEW_LABELS),
        "total": total,
        "usable": usable,
        "unusable": total - usable,
        "agreed": agreed,
        "agreement": _rate(agreed, usable),
        "matrix": matrix,
        "per_class": per_class,
        "by_version": by_version,
        "period": period,
        "timeline": timeline,
    }


def agreement_stats(*, model_version: ModelVersion | None = None, period: str = "week") -> dict[str, Any]:
    return compute_agreement(agreement_rows(model_version=model_version), period=period)


# --- every version measured on reviewed scans -----------------------------------------------------------


def _argmax(probabilities: dict[str, float]) -> str:
    return max(CONDITIONS, key=lambda c: float(probabilities.get(c, 0.0)))


def version_judgements(version: ModelVersion) -> measures.Judged:
    """``version``'s results on reviewed scans: its stored results (served, shadow or re-scored), and for
    scans it served before results were stored apart, the scan's own result (skin tone unknown)."""
    judged = measures.Judged(CONDITIONS)
    stored = ModelResult.objects.filter(model_version=version, scan__review__isnull=False).order_by("scan_id")
    for scan_id, truth, label, top, probabilities, tone in stored.values_list(
        "scan_id", "scan__review__label", "label", "top_probability", "probabilities", "tone"
    ):
        judged.add(scan_id, truth, label, top, _argmax(probabilities), tone)
    older = (
        Review.objects.filter(scan__model_version=version)
        .exclude(Exists(ModelResult.objects.filter(scan=OuterRef("scan"), model_version=version)))
        .order_by("scan_id")
    )
    for scan_id, truth, label, scan_top, probabilities in older.values_list(
        "scan_id", "label", "scan__label", "scan__top_probability", "scan__probabilities"
    ):
        judged.add(scan_id, truth, label, scan_top or 0.0, _argmax(probabilities or {}), "unknown")
    return judged


def served_versions() -> QuerySet[ModelVersion]:
    """Versions whose results were served on some scan (the active one included), newest first."""
    return ModelVersion.objects.filter(Q(active=True) | Q(Exists(Scan.objects.filter(model_version=OuterRef("pk")))))


def _role(version: ModelVersion) -> str:
    """ModelVersion.role, where a version that served scans before activations were dated is "past" too."""
    role = version.role
    return "past" if role == "registered" and getattr(version, "served", False) else role


def _role_order(version: ModelVersion) -> tuple[int, float]:
    rank = {"active": 0, "shadow": 1, "past": 2, "registered": 3}[_role(version)]
    moment = version.activated_at or version.created
    return rank, -moment.timestamp()


def measured_versions() -> list[ModelVersion]:
    """The active and shadow versions, and every other version with a result on a reviewed scan; active
    first, then the shadow, then the others, most recently active first."""
    judged = Q(active=True) | Q(shadow=True) | Q(
        Exists(ModelResult.objects.filter(model_version=OuterRef("pk"), scan__review__isnull=False))
    ) | Q(Exists(Review.objects.filter(scan__model_version=OuterRef("pk"))))
    versions = ModelVersion.objects.filter(judged).annotate(
        served=Exists(Scan.objects.filter(model_version=OuterRef("pk")))
    )
    return sorted(versions, key=_role_order)


def version_figures(*, n_boot: int = measures.N_BOOT) -> list[dict[str, Any]]:
    """Per measured version: its name, role and figures on the reviewed scans it judged (review.measures)."""
    return [
        {"version": v.name, "id": v.pk, "role": _role(v),
         "figures": measures.figures(version_judgements(v), n_boot=n_boot)}
        for v in measured_versions()
    ]


def compare_with_active(candidate: ModelVersion, active: ModelVersion) -> dict[str, Any]:
    """The promotion gate's comparison of ``candidate`` with ``active`` (review.measures.compare)."""
    return measures.compare(
        version_judgements(candidate),
        version_judgements(active),
        min_reviewed=settings.MODEL_PROMOTION_MIN_REVIEWED,
        recall_tolerance=settings.MODEL_PROMOTION_RECALL_TOLERANCE,
    )


def rescorable_scans(version: ModelVersion, *, replace: bool = False) -> QuerySet[Scan]:
    """Reviewed scans whose owner consented to their photos improving the model, with the photo still
    stored, that ``version`` has no result on (``replace``: also those it has only a re-scored result on)."""
    scans = (
        Scan.objects.filter(photo_stored(), status=Scan.Status.DONE, review__isnull=False,
                            owner__consent_training=True, owner__is_active=True)
    )
    results = ModelResult.objects.filter(scan=OuterRef("pk"), model_version=version)
    if replace:
        results = results.exclude(kind=ModelResult.Kind.RESCORED)
    return scans.exclude(Exists(results)).order_by("created_at", "id")


# --- drift ---------------------------------------------------------------------------------------------


def drift_items(start: datetime, end: datetime, *, limit: int) -> list[DriftItem]:
    """Finished scans uploaded in [start, end): at most ``limit``, a uniform sample (scan ids are random),
    each with the skin tone and feature distance its served result recorded."""
    served = ModelResult.objects.filter(scan=OuterRef("pk"), kind=ModelResult.Kind.SERVED)
    rows = (
        Scan.objects.filter(status=Scan.Status.DONE, created_at__gte=start, created_at__lt=end)
        .annotate(tone=Subquery(served.values("tone")[:1]), distance=Subquery(served.values("feature_distance")[:1]))
        .order_by("id")
        .values_list("label", "top_probability", "quality", "tone", "distance")[:limit]
    )
    return [
        DriftItem(label=label, top=top, flags={k: bool(v) for k, v in (quality or {}).items()},
                  feature_distance=distance, tone=tone or "unknown")
        for label, top, quality, tone, distance in rows
    ]


def latest_drift_report() -> DriftReport | None:
    return DriftReport.objects.first()
