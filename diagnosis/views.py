from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import backpressure, face_alignment, results, selectors, services
from . import report as report_pdf
from .forms import HistoryFilterForm, NoteForm, ReportForm, UploadForm
from .imaging import UploadRejected
from .media import scan_file_response
from .models import CONDITIONS, EXTRA_VIEWS, NOTE_MAX_LENGTH, photo_field
from .services import intake


def home(request):
    if request.user.is_authenticated:
        return redirect("diagnosis:upload")
    return render(request, "home.html")


def _wants_json(request) -> bool:
    """The page's own script (static/js/offline-uploads.js) sends the form with fetch and reads JSON."""
    return "application/json" in request.headers.get("Accept", "")


def _upload_page(request, form, status: int = 200) -> HttpResponse:
    return render(request, "diagnosis/upload.html",
                  {"form": form, "capture_messages": capture_messages(), "capture_gates": capture_gates(),
                   "capture_ghosts": capture_ghosts(request.user)},
                  status=status)


def capture_ghosts(user) -> dict[str, str]:
    """The person's last photo of each view, by view, as the URL the live camera lays faintly over itself (the
    "ghost", static/js/capture.js) so a new photo is framed like the last; empty for a first photo. Only on the
    signed-in page: the offline stand-in is rendered for nobody, and the photos are never kept offline."""
    return {view: reverse("diagnosis:scan-photo-media", args=[photo.scan_id, view, "image"])
            for view, photo in selectors.previous_photos(user).items()}


def _refused(request, refusal: UploadRejected) -> HttpResponse:
    """An upload refused before anything was parsed or stored (busy, quota): JSON for the page's script, else
    the page (the busy page, or the upload page with the message). ``retry``: sending the same again later
    can work."""
    response: HttpResponse
    if _wants_json(request):
        response = JsonResponse({"error": refusal.message, "retry": True}, status=refusal.status)
    elif refusal.code == "busy":
        minutes = max(1, round((refusal.retry_after or 60) / 60))
        response = render(request, "diagnosis/busy.html", {"retry_minutes": minutes}, status=refusal.status)
    else:
        messages.error(request, refusal.message)
        response = _upload_page(request, UploadForm(), refusal.status)
    if refusal.retry_after is not None:
        response["Retry-After"] = str(refusal.retry_after)
    return backpressure.expected_refusal(response) if refusal.code == "busy" else response


def _form_refused(request, form, status: int) -> HttpResponse:
    """The form or its photos were refused: the form with its errors, or JSON saying not to send it again."""
    if _wants_json(request):
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        return JsonResponse({"error": " ".join(errors), "retry": False}, status=status)
    return _upload_page(request, form, status)


@login_required
@intake.takes_scan_uploads  # its size is checked before CSRF reads the body (diagnosis.middleware)
@require_http_methods(["GET", "POST"])
def upload(request):
    """The web door of the upload intake (diagnosis.services.intake): the API's POST /api/v1/scans/ is the
    other; both answer with the same words and status codes."""
    if request.method == "GET":
        return _upload_page(request, UploadForm())
    try:
        admission = intake.admit(request.user)
    except UploadRejected as refusal:
        return _refused(request, refusal)
    try:
        intake.check_parts(admission, request.FILES)
    except UploadRejected as exc:
        form = UploadForm(request.POST, request.FILES)
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _form_refused(request, form, exc.status)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        admission.refuse("invalid")
        return _form_refused(request, form, 400)
    try:
        scan, created = intake.accept(
            admission, front=form.cleaned_data["image"], note=form.cleaned_data["note"],
            extra_photos={view: form.cleaned_data.get(photo_field(view)) for view in EXTRA_VIEWS},
            idempotency_key=form.cleaned_data["idempotency_key"] or request.headers.get("Idempotency-Key", ""),
        )
    except UploadRejected as exc:
        if exc.retry_after is not None:  # the scan's further photos are over the quota
            return _refused(request, exc)
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _form_refused(request, form, exc.status)
    if _wants_json(request):
        url = reverse("diagnosis:scan-detail", kwargs={"scan_id": scan.id})
        return JsonResponse({"id": str(scan.id), "url": url, "created": created}, status=201 if created else 200)
    return redirect("diagnosis:scan-detail", scan_id=scan.id)


@require_GET
def offline_upload(request):
    """The upload page's offline stand-in, kept by the service worker: the same form and checks, rendered
    for nobody (no user id, no CSRF token); static/js/offline-uploads.js keeps its photos on the device for
    the account last signed in here (finding M5 of issue 30)."""
    from facediag_site.lib.anonymous_pages import render_anonymous

    return render_anonymous(request, "diagnosis/upload.html",
                            {"form": UploadForm(), "capture_messages": capture_messages()})


def capture_messages():
    """What the capture script says, in the page's language (read by static/js/upload-capture.js)."""
    return {
        "unreadable": _("This file cannot be shown here; the server will check it when you upload."),
        "too_dark": _("It looks too dark. Face a window or a lamp and try again."),
        "too_bright": _("It looks overexposed. Avoid the flash and direct sunlight."),
        "light_ok": _("Light looks fine."),
        "blurry": _("It looks blurry. Hold the phone steady and tap to focus."),
        "sharp_ok": _("Sharp enough."),
        "no_colour": _("It looks black and white. A colour photo is needed."),
        "still_upload": _("You can still upload it, or choose another photo."),
        "choose_first": _("Choose or take a photo first."),
        "uploading": _("Uploading…"),
        "uploading_long": _("Uploading your photo. This page moves on by itself."),
        "analyse": _("Analyse photo"),
        "fit_outline": _("Fit your face inside the outline."),
        "face_ok_live": _("Good: your face fills the outline. Hold still and take the photo."),
        "no_face_live": _("No face in view yet: look straight at the camera and come closer."),
        "come_closer": _("Come closer: your face should fill the outline."),
        "looking_for_face": _("Looking for your face…"),
        "face_ok": _("Face found, close enough."),
        "come_closer_photo": _("Come closer: your face is too small in this photo to judge. Take it again "
                               "with your face filling the outline."),
        "no_face": _("No face found. Point the camera at your face, or choose a photo of it."),
        "too_dark_live": _("Too dark to show your skin: face a window or a lamp."),
        "blurry_live": _("Blurry: hold the phone still and let it focus."),
        "countdown": _("Hold still: taking the photo in {seconds}…"),
        "auto_cancelled": _("Automatic photo cancelled. Take the photo with the button when you are ready."),
    }


def capture_gates():
    """The server's photo gates, for the page's checks and its automatic photo (static/js/capture.js): a photo
    the page takes by itself must be one the server will judge (ml.core.decision.photo_gate)."""
    from ml.core import decision, preprocess, quality

    return {
        "min_luma": decision.MIN_LUMA,
        "min_sharpness": decision.MIN_SHARPNESS,
        "min_judge_side": decision.MIN_JUDGE_SIDE,
        "sharpness_ref_luma": quality.SHARPNESS_REF_LUMA,
        "quality_side": quality.QUALITY_SIDE,
        "bright_mean": quality.BRIGHT_MEAN,
        "face_margin": preprocess.FACE_MARGIN,
        "border_crop": preprocess.BORDER_CROP,
    }


@login_required
@require_GET
def scan_detail(request, scan_id):
    scan = selectors.get_owned_scan(request.user, scan_id)
    result = results.result_view(scan) if scan.status == scan.Status.DONE else None
    return render(
        request,
        "diagnosis/scan_detail.html",
        {
            "scan": scan,
            "result": result,
            "photo": scan.first_photo,
            "show_heatmap": bool(result and result.has_class and scan.first_photo and scan.first_photo.heatmap),
            "heatmap_style": results.heatmap_overlay_style(scan),
            "analysis": selectors.analysis_state(scan),
            "note_form": NoteForm(initial={"note": scan.note}),
        },
    )


@login_required
@require_GET
@never_cache
def scan_status(request, scan_id):
    scan = selectors.get_owned_scan(request.user, scan_id)
    return JsonResponse(
        {
            "id": str(scan.id),
            "status": scan.status,
            "label": scan.label,
            "error": scan.error_text,
            "analysis": selectors.analysis_state(scan),
        }
    )


@login_required
@require_POST
def scan_note(request, scan_id):
    scan = selectors.get_owned_scan(request.user, scan_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        services.update_scan_note(scan, form.cleaned_data["note"])
        messages.success(request, _("Note saved."))
    else:
        messages.error(request, _("The note is too long (%(count)s characters at most).")
                       % {"count": number_format(NOTE_MAX_LENGTH, force_grouping=True)})
    return redirect("diagnosis:scan-detail", scan_id=scan.id)


@login_required
@require_POST
def scan_retry(request, scan_id):
    scan = selectors.get_owned_scan(request.user, scan_id)
    try:
        services.retry_scan(scan)
        messages.success(request, _("The scan is queued for analysis again."))
    except services.ScanNotRetryable as exc:
        messages.error(request, str(exc))
    return redirect("diagnosis:scan-detail", scan_id=scan.id)


@login_required
@require_http_methods(["GET", "POST"])
def scan_delete(request, scan_id):
    scan = selectors.get_owned_scan(request.user, scan_id)
    if request.method == "POST":
        services.delete_scan(scan)
        messages.success(request, _("The scan and its photo were deleted."))
        return redirect("diagnosis:history")
    return render(request, "diagnosis/scan_confirm_delete.html", {"scan": scan})


@login_required
@require_GET
def history(request):
    form = HistoryFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    scans = selectors.scans_for_owner(
        request.user, label=filters.get("label"), date_from=filters.get("date_from"), date_to=filters.get("date_to"),
        with_photos=True,
    )
    page = Paginator(scans, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    # One EXISTS query: the chart and its table are filled in the browser from the chart-data endpoint.
    has_chart = selectors.has_chart_points(
        request.user, label=filters.get("label"), date_from=filters.get("date_from"), date_to=filters.get("date_to")
    )
    has_lesions = has_chart and selectors.has_lesion_points(
        request.user, label=filters.get("label"), date_from=filters.get("date_from"), date_to=filters.get("date_to")
    )
    report_form = ReportForm(initial={"date_from": filters.get("date_from"), "date_to": filters.get("date_to")},
                             auto_id="report_%s")
    return render(request, "diagnosis/history.html", {
        "form": form, "scans": page, "page": page, "query": query.urlencode(),
        "filtered": any(filters.values()) if filters else False, "has_chart": has_chart, "has_lesions": has_lesions,
        "conditions": CONDITIONS, "report_form": report_form,
        "condition_titles": [(c, results.condition_title(c)) for c in CONDITIONS],
    })


@login_required
@require_GET
def history_chart_data(request):
    form = HistoryFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    data = results.with_local_times(selectors.confidence_series(
        request.user, label=filters.get("label"), date_from=filters.get("date_from"), date_to=filters.get("date_to")
    ))
    results.with_local_times(data["lesions"])  # the spots counted, dated as the pages write dates
    data["styles"] = results.CHART_STYLES  # one look for each condition, here and in the PDF
    return JsonResponse(data)


@login_required
@require_GET
def compare(request):
    ids = request.GET.getlist("scan")
    if len(ids) != 2:
        messages.error(request, _("Pick exactly two scans to compare."))
        return redirect("diagnosis:history")
    scans = sorted((selectors.get_owned_scan(request.user, scan_id) for scan_id in ids), key=lambda s: s.created_at)
    if scans[0].id == scans[1].id:
        messages.error(request, _("Pick two different scans to compare."))
        return redirect("diagnosis:history")
    before, after = scans
    comparable = all(s.status == s.Status.DONE and s.label in CONDITIONS for s in scans)
    rows = [
        (c, results.condition_title(c), before.probabilities.get(c, 0.0), after.probabilities.get(c, 0.0),
         after.probabilities.get(c, 0.0) - before.probabilities.get(c, 0.0))
        for c in CONDITIONS
    ] if comparable else []
    slider = all(s.first_photo and s.first_photo.image for s in scans)
    return render(request, "diagnosis/compare.html", {
        "before": before, "after": after, "rows": rows, "comparable": comparable,
        "summary": results.change_summary(before, after) if comparable else "",
        "before_photo": before.first_photo, "after_photo": after.first_photo,
        "slider": slider,
        # The after face laid over the before face in the slider (found once per photo, then cached).
        "alignment": face_alignment.slider_alignment(before.first_photo, after.first_photo) if slider else None,
        "elapsed": after.created_at - before.created_at, "conditions": CONDITIONS,
    })


@login_required
@require_GET
def scan_media(request, scan_id, kind, view=None):
    return scan_file_response(request.user, scan_id, kind, view)


@login_required
@require_GET
def report(request):
    """The PDF report for the doctor, over the chosen period; a bad period re-shows the form (400)."""
    form = ReportForm(request.GET, auto_id="report_%s")
    if not form.is_valid():
        return render(request, "diagnosis/report_form.html", {"form": form}, status=400)
    period = report_pdf.ReportPeriod(form.cleaned_data["date_from"], form.cleaned_data["date_to"])
    response = HttpResponse(report_pdf.build_report_pdf(request.user, period), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="facediag-report.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def data_export(request):
    archive = services.build_data_export(request.user)
    response = HttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="facediag-export.zip"'
    response["Cache-Control"] = "private, no-store"  # everything the person has, photos included
    return response
