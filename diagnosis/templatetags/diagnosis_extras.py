from django import template
from django.utils.translation import gettext, ngettext

from diagnosis import results, selectors
from diagnosis.models import Label, quality_flag_name
from diagnosis.readouts import lesions as lesion_readout
from facediag_site.lib import dates, numbers

register = template.Library()


@register.filter
def percent(value):
    try:
        return numbers.percent(float(value))
    except (TypeError, ValueError):
        return "—"


@register.filter
def signed_points(value):
    """A change in percentage points with its sign, e.g. "+12 points", "−5 points", "no change"."""
    try:
        points = round(float(value) * 100)
    except (TypeError, ValueError):
        return "—"
    if points == 0:
        return gettext("no change")
    sign = "+" if points > 0 else "−"
    return ngettext("%(sign)s%(n)d point", "%(sign)s%(n)d points", abs(points)) % {"sign": sign, "n": abs(points)}


@register.filter
def label_text(scan):
    if not scan.label:
        return str(results.NO_RESULT)
    return Label(scan.label).label


@register.filter
def verdict(scan):
    """The result in plain words, for the person ("Likely acne", "Can't tell from this photo")."""
    return results.verdict_text(scan)



@register.simple_tag
def photo_results(scan):
    """The scan's photos with each one's own reading (results.PhotoResultView), in PHOTO_VIEWS order."""
    return results.photo_result_views(selectors.scan_photos(scan))


@register.filter
def when(value):
    """Date and time in the person's time zone and language style ("4 Dec 2026, 12:26")."""
    return dates.when(value)


@register.filter
def day(value):
    """The date alone, in the same style ("4 Dec 2026")."""
    return dates.day(value)


@register.filter
def flag_names(quality):
    """The quality flags that are set, by name in the reader's language ("too dark", not "too_dark")."""
    return [quality_flag_name(flag) for flag, on in sorted((quality or {}).items()) if on]


@register.simple_tag
def scan_lesions(scan):
    """The first photo's lesions as the pages show them (readouts.lesions.LesionView), or None: only for a
    finished scan read as acne that has findings."""
    if scan.status != scan.Status.DONE:
        return None
    return lesion_readout.lesion_view(scan.first_photo, scan.label)


@register.filter
def lesion_summary(scan):
    """ "About 14 spots: moderate acne" for a finished scan with findings, else "" (lists, compare sides)."""
    found = lesion_readout.findings(scan.first_photo) if scan.status == scan.Status.DONE else None
    if found is None or scan.label not in results.CONDITIONS:
        return ""
    return lesion_readout.summary_text(found, scan.label)


@register.simple_tag
def lesion_change(before, after):
    """ "14 → 6 spots in 26 days" between two finished scans with findings, else ""."""
    if before.status != before.Status.DONE or after.status != after.Status.DONE:
        return ""
    return lesion_readout.change_text(before, after)


@register.filter
def acne_grade_name(grade):
    """An acne grade (0-3) by name in the reader's language ("severe")."""
    return lesion_readout.grade_name(grade)
