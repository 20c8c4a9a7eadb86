from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from diagnosis.models import CONDITIONS, QUALITY_MESSAGES, REVIEW_PERMISSION, Label, quality_flag_name
from diagnosis.readouts import lesions as lesion_readout

from . import charts, selectors, services
from .forms import DashboardFilterForm, QueueFilterForm, ReviewForm
from .models import ReviewLabel

QUEUE_PAGE_SIZE = 100


def reviewer_required(view):
    """Logged-in users without the permission get 403; anonymous users go to the login page."""
    return login_required(permission_required(REVIEW_PERMISSION, raise_exception=True)(view))


def _with_query(url, qs):
    return f"{url}?{qs}" if qs else url


def _review_url(scan, qs):
    return _with_query(reverse("review:review-scan", kwargs={"scan_id": scan.id}), qs)


@reviewer_required
@require_GET
@never_cache
def queue(request):
    form = QueueFilterForm(request.GET or None)
    filters = form.filters()
    scans = selectors.review_queue(request.user, **filters)
    total = scans.count()
    return render(
        request,
        "review/queue.html",
        {"form": form, "scans": scans[:QUEUE_PAGE_SIZE], "total": total, "qs": form.querystring(),
         "page_size": QUEUE_PAGE_SIZE},
    )


@reviewer_required
@require_GET
def queue_start(request):
    form = QueueFilterForm(request.GET or None)
    first = selectors.review_queue(request.user, **form.filters()).first()
    if first is None:
        messages.info(request, _("The queue is empty."))
        return redirect(_with_query(reverse("review:queue"), form.querystring()))
    return redirect(_review_url(first, form.querystring()))


@reviewer_required
@require_http_methods(["GET", "POST"])
@never_cache
def review_page(request, scan_id):
    scan = selectors.get_scan_for_review(request.user, scan_id)
    queue_form = QueueFilterForm(request.GET or None)
    filters, qs = queue_form.filters(), queue_form.querystring()
    existing = selectors.review_of(scan)
    status = 200
    if request.method == "POST":
        data = request.POST.copy()
        if data.get("action") == "confirm" and scan.label in CONDITIONS:
            data["label"] = scan.label  # "Confirm the model's label" button
        form = ReviewForm(data)
        if form.is_valid():
            try:
                review, created = services.save_review(
                    scan=scan, reviewer=request.user, label=form.cleaned_data["label"],
                    comment=form.cleaned_data["comment"], lesion_grade=form.cleaned_data["lesion_grade"],
                )
            except services.ReviewNotAllowed as exc:
                messages.error(request, str(exc))
                return redirect(_with_query(reverse("review:queue"), qs))
            done = _("Reviewed: %(label)s.") if created else _("Review updated: %(label)s.")
            messages.success(request, done % {"label": review.get_label_display()})
            following = selectors.next_in_queue(request.user, scan, **filters)
            if following is None:
                messages.info(request, _("The queue is clear. Thank you."))
                return redirect(_with_query(reverse("review:queue"), qs))
            return redirect(_review_url(following, qs))
        status = 400
    else:
        initial = {}
        model_grade = found.grade if (found := lesion_readout.findings(scan.first_photo)) else None
        if existing is not None:
            initial = {"label": existing.label, "comment": existing.comment,
                       "lesion_grade": existing.lesion_grade if existing.lesion_grade is not None else model_grade}
        elif scan.label in CONDITIONS:
            initial = {"label": scan.label, "lesion_grade": model_grade}
        form = ReviewForm(initial=initial)
    following = selectors.next_in_queue(request.user, scan, **filters)
    probabilities = sorted(
        ((c, Label(c).label, float(scan.probabilities.get(c, 0.0))) for c in CONDITIONS),
        key=lambda item: item[2], reverse=True,
    )
    flags = [(quality_flag_name(name), QUALITY_MESSAGES[name]) for name in QUALITY_MESSAGES if scan.quality.get(name)]
    return render(
        request,
        "review/review_scan.html",
        {
            "scan": scan, "form": form, "existing": existing, "probabilities": probabilities, "flags": flags,
            # whatever the model's label
            "lesions": lesion_readout.lesion_view(scan.first_photo, scan.label, any_label=True),
            "qs": qs, "next_scan": following, "can_confirm": scan.label in CONDITIONS,
            "remaining": selectors.review_queue(request.user, **filters).count(),
        },
        status=status,
    )


@reviewer_required
@require_GET
def dashboard(request):
    form = DashboardFilterForm(request.GET or None)
    filters = form.filters()
    stats = selectors.agreement_stats(**filters)
    matrix_rows = [(Label(m).label, [stats["matrix"][m][r] for r in stats["reviewer_labels"]])
                   for m in stats["model_labels"]]
    period_headings = {"day": _("Day starting"), "week": _("Week starting"), "month": _("Month starting")}
    return render(
        request,
        "review/dashboard.html",
        {"form": form, "stats": stats, "matrix_rows": matrix_rows, "qs": form.querystring(),
         "reviewer_labels": [ReviewLabel(r).label for r in stats["reviewer_labels"]],
         "period_heading": period_headings.get(stats["period"], stats["period"]),
         "per_class": [(Label(c).label, counts) for c, counts in stats["per_class"].items()],
         "conditions": [Label(c).label for c in CONDITIONS], "condition_codes": CONDITIONS,
         "versions": _versions_for_page(), "drift": selectors.latest_drift_report(),
         "min_reviewed": settings.MODEL_PROMOTION_MIN_REVIEWED},
    )


def _versions_for_page():
    roles = {"active": _("active"), "shadow": _("shadow"), "past": _("past"), "registered": _("registered")}
    versions = selectors.version_figures()
    for v in versions:
        v["role_name"] = roles.get(v["role"], v["role"])
        v["recall_row"] = [v["figures"]["recall"][c] for c in CONDITIONS]
    return versions


@reviewer_required
@require_GET
def dashboard_data(request):
    form = DashboardFilterForm(request.GET or None)
    drift = selectors.latest_drift_report()
    return JsonResponse({
        **selectors.agreement_stats(**form.filters()),
        "versions": selectors.version_figures(),
        "drift": None if drift is None else {
            "created_at": drift.created_at, "recent_start": drift.recent_start, "recent_end": drift.recent_end,
            "baseline_start": drift.baseline_start, "recent_n": drift.recent_n, "baseline_n": drift.baseline_n,
            "alpha": drift.alpha, "drifted": drift.drifted, "checks": drift.checks,
        },
    })


def _png_response(data):
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


@reviewer_required
@require_GET
def dashboard_confusion_png(request):
    form = DashboardFilterForm(request.GET or None)
    return _png_response(charts.confusion_png(selectors.agreement_stats(**form.filters())))


@reviewer_required
@require_GET
def dashboard_versions_png(request):
    return _png_response(charts.versions_png(selectors.version_figures()))


@reviewer_required
@require_GET
def dashboard_drift_png(request):
    return _png_response(charts.drift_png(selectors.latest_drift_report()))


@reviewer_required
@require_GET
def dashboard_timeline_png(request):
    form = DashboardFilterForm(request.GET or None)
    return _png_response(charts.timeline_png(selectors.agreement_stats(**form.filters())))
