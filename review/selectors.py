"""Reads: the review queue and the agreement statistics."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from diagnosis.models import CONDITIONS, QUALITY_MESSAGES, Label, Scan

from .models import USABLE_LABELS, Review, ReviewLabel

if TYPE_CHECKING:
    from accounts.models import User
    from ml.models import ModelVersion

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
        Scan.objects.filter(status=Scan.Status.DONE, review__isnull=True)
        .exclude(image="")
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
