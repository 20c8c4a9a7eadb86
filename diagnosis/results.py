"""How a finished scan is explained to the person: plain-words verdict, what it means, what to do next.

Reads only; the wording lives here so the web pages and the PDF report say the same thing.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from facediag_site.lib import dates
from facediag_site.lib.numbers import percent
from ml.core.decision import confidence_word

from . import readouts
from .models import CONDITIONS, QUALITY_MESSAGES, Label
from .readouts.heatmap import overlay_style

VERDICTS = {
    Label.ACNE: _("Likely acne"),
    Label.ECZEMA: _("Likely eczema"),
    Label.ROSACEA: _("Likely rosacea"),
    Label.HEALTHY: _("Looks healthy"),
    Label.UNCERTAIN: _("Can't tell from this photo"),
    Label.NO_SKIN: _("No skin found in this photo"),
}
#: A class whose calibrated probability is under ml.core.decision.LIKELY_PROBABILITY: said with less certainty.
POSSIBLE_VERDICTS = {
    Label.ACNE: _("Possibly acne"),
    Label.ECZEMA: _("Possibly eczema"),
    Label.ROSACEA: _("Possibly rosacea"),
    Label.HEALTHY: _("Possibly healthy"),
}
NO_RESULT = _("No result yet")


def verdict_words(label: str | None, top_probability: float | None) -> str:
    """The result in plain words: "Likely acne" / "Looks healthy" when the model is sure enough, "Possibly
    acne" when the class is less sure, "Can't tell from this photo" and the like without a class."""
    if not label:
        return str(NO_RESULT)
    if confidence_word(label, top_probability) == "possibly":
        return str(POSSIBLE_VERDICTS[label])
    return str(VERDICTS.get(label, NO_RESULT))

# Why no class was given, per label; a quality flag or the scan's own reason is more specific and wins.
NO_CLASS_REASONS = {
    Label.UNCERTAIN: _("The photo does not show one condition clearly enough to say which it looks like."),
    Label.NO_SKIN: _("No face or skin could be found in this photo."),
}

# How to take a better photo, each tip once, the one that fits the result first (see ``retake_steps``).
RETAKE_TIPS = {
    "aim_at_face": _("Point the camera at your face: a pet, an object, a screen or a landscape cannot be judged."),
    "whole_face": _("Hold the phone at arm's length, so your whole face fills the outline on the screen."),
    "come_closer": _("Come closer: your face should fill the outline, not just a small part of the photo."),
    "colour": _("Switch off black-and-white, sepia and beauty filters: a colour photo is needed to judge "
                "redness."),
    "light": _("Face a window or a bright lamp, so the light falls evenly on your face (no flash)."),
    "bright": _("Move out of direct sunlight and switch off the flash, so your skin is not washed out."),
    "steady": _("Hold the phone steady with both hands and tap your face on the screen to focus."),
    "fill_frame": _("Fill the frame with your face, or with the affected area, held steady and in focus."),
    "no_filters": _("Use a colour photo without filters, beauty modes or make-up."),
}
# The tips for a reason code or a quality flag, most useful first.
_TIPS_FOR = {
    "not_skin": ("aim_at_face", "whole_face"),
    "no_skin_pixels": ("aim_at_face", "whole_face"),
    "little_skin": ("whole_face", "aim_at_face"),
    "flat_image": ("aim_at_face", "light"),
    "pixel_noise": ("aim_at_face", "steady"),
    "no_colour": ("colour",),
    "too_small": ("come_closer",),
    "no_face": ("whole_face", "come_closer"),
    "too_dark": ("light",),
    "too_bright": ("bright",),
    "blurry": ("steady",),
    "low_confidence": ("light", "fill_frame", "no_filters"),
}


def retake_steps(label: str, reason: str, flags) -> tuple[str, ...]:
    """Tips that fit why there is no result: "no skin found" asks for a face, a black-and-white photo for
    colour, a small face to come closer; the photo's other flags add theirs; at most four."""
    keys: list[str] = list(_TIPS_FOR.get(reason, ()))
    for flag in sorted(flags):
        keys += _TIPS_FOR.get(flag, ())
    keys += ["aim_at_face", "whole_face", "light"] if label == Label.NO_SKIN else ["light", "fill_frame", "no_filters"]
    unique = list(dict.fromkeys(keys))[:4]
    return tuple(str(RETAKE_TIPS[k]) for k in unique)


@dataclass(frozen=True)
class ConditionInfo:
    name: str | Promise  # lazily translated
    summary: str | Promise
    see_a_doctor: str | Promise
    source_title: str | Promise = ""  # none where no page fits (a healthy result)
    source_url: str = ""


# Short summaries from the NHS condition pages (checked 2026-11); each links to its source.
CONDITION_INFO = {
    "acne": ConditionInfo(
        name=_("Acne"),
        summary=_("A common skin condition that causes spots, blackheads, whiteheads and oily skin, mostly on the "
                  "face, chest and back. It is not caused by poor hygiene and usually responds to treatment."),
        see_a_doctor=_("See a pharmacist or GP if spots are many or painful, have not improved after about 2 to 3 "
                       "months of over-the-counter treatment, leave scars, or upset you."),
        source_title=_("NHS: Acne"),
        source_url="https://www.nhs.uk/conditions/acne/",
    ),
    "eczema": ConditionInfo(
        name=_("Eczema"),
        summary=_("Atopic eczema makes the skin itchy, dry, cracked and sore. It often comes and goes in "
                  "flare-ups and can be controlled with moisturisers (emollients) and other treatments."),
        see_a_doctor=_("See a GP if it affects your sleep or daily life, or if treatments do not help. Get help "
                       "the same day if the skin is hot, swollen, weeping, crusted or very painful, which can mean an "
                       "infection."),
        source_title=_("NHS: Atopic eczema"),
        source_url="https://www.nhs.uk/conditions/atopic-eczema/",
    ),
    "rosacea": ConditionInfo(
        name=_("Rosacea"),
        summary=_("A long-term condition that mainly affects the face: flushing, redness across the cheeks, nose "
                  "and forehead, small visible blood vessels and sometimes spots. Treatment can control it."),
        see_a_doctor=_("See a GP if you think you have rosacea, as treatment works better when started early. Get "
                       "help the same day if your eyes are painful or red, or your sight changes."),
        source_title=_("NHS: Rosacea"),
        source_url="https://www.nhs.uk/conditions/rosacea/",
    ),
    "healthy": ConditionInfo(
        name=_("Healthy skin"),
        summary=_("No clear signs of acne, eczema or rosacea were seen in this photo. FaceDiag only looks for "
                  "these three conditions, so it cannot say anything about other skin problems."),
        see_a_doctor=_("Nothing to do because of this photo. See a pharmacist or GP if your skin becomes sore, "
                       "itchy, red or spotty and does not settle, or if anything about it worries you."),
    ),
}

# Why the model gave no class (Scan.reason, the codes of ml.core.decision.REASONS), in the person's language.
REASON_MESSAGES = {
    "confident": _("The top condition is clearly ahead of the others."),
    "low_confidence": _("No condition is clearly ahead of the others in this photo."),
    "no_colour": _("A colour photo is needed: redness and skin tone cannot be judged in black and white."),
    "not_skin": _("This does not look like a photo of a face or skin."),
    "no_skin_pixels": _("No skin could be found in this photo."),
    "little_skin": _("No face was found and there is too little skin in the photo."),
    "flat_image": _("No face was found and the image is nearly flat (no detail)."),
    "pixel_noise": _("No face was found and the image looks like pixel noise."),
    "photos_disagree": _("The photos do not agree: they look like different conditions."),  # ml.core.combine
    "too_small": _("The face is too small in this photo to judge. Come closer, so it fills the frame."),
    "blurry": _("This photo is too blurry to show spots or redness, so it cannot be judged. Hold the phone "
                "steady and take it again."),
    "too_dark": _("This photo is too dark to show spots or redness, so it cannot be judged. Take it again in "
                  "daylight or good indoor light."),
    "no_face": _("No face was found in this photo, so it cannot show that the skin is clear. Take a photo of "
                 "your whole face."),
    "lesions_found": _("The face looked healthy to the model overall, but it counted many spots that look "
                       "like acne lesions."),
    "unfamiliar_skin": _("This looks like skin, but not like the photos the model learned from, so it cannot "
                         "judge it. A photo of your whole face, in daylight, works best."),
}


def reason_text(code: str) -> str:
    """A reason code (Scan.reason, or one photo's) in the reader's language; the model's English words for
    a code newer than this list."""
    from ml.core.combine import REASONS as COMBINED_REASONS
    from ml.core.decision import REASONS

    return str(REASON_MESSAGES.get(code) or REASONS.get(code) or COMBINED_REASONS.get(code, ""))


ANALYSIS_FAILED = "The photo could not be analysed (%(problem)s). Try another photo."  # diagnosis.services
_ANALYSIS_FAILED_STORED = re.compile(r"The photo could not be analysed \((\w+)\)\. Try another photo\.")


#: Exceptions that a photo itself raises on its way into the network: the photo's fault, not the model's.
PHOTO_PROBLEMS = frozenset({"UnidentifiedImageError", "DecompressionBombError"})


def inference_problem(error: str) -> str | None:
    """The exception the model raised, for a scan stored as failed at inference; None for any other failure
    (a photo no longer stored, a photo the decoder refused, a crashed or busy worker)."""
    match = _ANALYSIS_FAILED_STORED.fullmatch(error or "")
    if match is None or match[1] in PHOTO_PROBLEMS:
        return None
    return match[1]


def stored_error_text(error: str) -> str:
    """A failure stored on a scan in English (marked with gettext_noop where it is written), translated."""
    if not error:
        return ""
    match = _ANALYSIS_FAILED_STORED.fullmatch(error)
    if match:
        return gettext(ANALYSIS_FAILED) % {"problem": match[1]}
    return gettext(error)


def quality_message(flag: str) -> str:
    """A known flag in words; a flag this version does not know yet still shows, generically."""
    if flag in QUALITY_MESSAGES:
        return str(QUALITY_MESSAGES[flag])
    return gettext("The photo was flagged: %(flag)s. A new photo may give a clearer result.") % {
        "flag": flag.replace("_", " ")}


def quality_messages(quality) -> list[str]:
    """A sentence for each quality flag that is set, known or not, in a stable order."""
    return [quality_message(flag) for flag, on in sorted((quality or {}).items()) if on]


def condition_title(condition: str) -> str:
    return str(Label(condition).label)


@dataclass(frozen=True)
class ResultView:
    verdict: str
    has_class: bool
    reason: str = ""
    condition: ConditionInfo | None = None
    probabilities: list = field(default_factory=list)  # (condition, translated title, probability), highest first
    quality_messages: list = field(default_factory=list)
    retake_steps: tuple = ()
    kind: str = "class"  # "class", "uncertain" or "no_skin": how the page and history tell them apart
    photo_problems: list = field(default_factory=list)  # a multi-photo scan: which photo could not be used, why


#: A photo of a multi-photo scan by its side, as a sentence's subject.
_THE_PHOTO = {"front": _("the front photo"), "left": _("the left photo"), "right": _("the right photo")}
#: What was wrong with a photo that did not count, by its reason (or "no_skin" for a photo without skin).
_PHOTO_PROBLEM_SENTENCES = {
    "blurry": _("%(photo)s is blurry"),
    "too_dark": _("%(photo)s is too dark"),
    "too_small": _("in %(photo)s the face is too small"),
    "no_colour": _("%(photo)s is black and white"),
    "no_face": _("in %(photo)s no face was found"),
    "no_skin": _("%(photo)s shows no skin"),
}


def photo_problems(photos) -> list[str]:
    """For a scan of several photos, one sentence per photo that could not be used, naming it: "The left
    photo is blurry." (``photos``: the scan's ScanPhoto rows). Empty for a one-photo scan: its reason says it."""
    judged = [p for p in photos if p.label]
    if len(judged) < 2:
        return []
    sentences = []
    for result in judged:
        problem = "no_skin" if result.label == Label.NO_SKIN else result.reason
        photo = _THE_PHOTO.get(result.view)
        if result.counted is not False or problem not in _PHOTO_PROBLEM_SENTENCES or photo is None:
            continue
        sentence = str(_PHOTO_PROBLEM_SENTENCES[problem]) % {"photo": photo}
        sentences.append(sentence[:1].upper() + sentence[1:] + ".")
    return sentences


def result_view(scan) -> ResultView:
    """What the result page shows for a finished scan. No percentages or heatmap without a class."""
    label = scan.label
    messages = quality_messages(scan.quality)
    problems = photo_problems(scan.photos.all())
    if label in CONDITIONS:
        probabilities = sorted(
            ((c, condition_title(c), float(scan.probabilities.get(c, 0.0))) for c in CONDITIONS),
            key=lambda item: item[2], reverse=True,
        )
        return ResultView(verdict=verdict_words(label, scan.top_probability), has_class=True,
                          condition=CONDITION_INFO[label], probabilities=probabilities, quality_messages=messages,
                          photo_problems=problems)
    code = scan.reason or ""
    flags = {flag for flag, on in (scan.quality or {}).items() if on}
    if code in REASON_MESSAGES:
        reason = str(REASON_MESSAGES[code])
    elif code and scan.reason_text:  # a code newer than this page: the model's own words
        reason = scan.reason_text
    elif messages:
        reason = messages[0]
    else:
        reason = str(NO_CLASS_REASONS.get(label, NO_RESULT))
    # The flag that is the reason itself (e.g. no_colour) is not repeated below it.
    rest = [quality_message(f) for f in sorted(flags) if f != code and quality_message(f) != reason]
    return ResultView(verdict=str(VERDICTS.get(label, NO_RESULT)), has_class=False, reason=reason,
                      quality_messages=rest, retake_steps=retake_steps(label, code, flags), photo_problems=problems,
                      kind="no_skin" if label == Label.NO_SKIN else "uncertain")


def verdict_text(scan) -> str:
    return verdict_words(scan.label, scan.top_probability)


def heatmap_overlay_style(scan) -> str:
    """CSS that lays the heatmap over the scan's first photo where the analysed crop was (``readouts.heatmap``)."""
    return overlay_style(scan.first_photo)


@dataclass(frozen=True)
class PhotoResultView:
    """What the pages say about one photo of a multi-photo scan: which side, its own reading, and whether
    it counted towards the scan's result (and if not, why)."""

    view: str
    view_title: str
    has_image: bool
    has_heatmap: bool
    verdict: str = ""  # "" until the scan is done
    top_probability: float | None = None  # only when this photo got a class
    counted: bool | None = None
    not_counted_because: str = ""
    # What the photo's readouts say in words, (readout name, line): "About 5 spots: mild acne" (``readouts``)
    readout_lines: list = field(default_factory=list)


def photo_result_views(photos) -> list[PhotoResultView]:
    """``photos``: ``selectors.scan_photos(scan)``. No percentage for a photo without a class."""
    views = []
    for photo in photos:
        files = photo.files
        common = {"view": photo.view, "view_title": photo.view_title, "has_image": bool(files.thumbnail),
                  "has_heatmap": bool(files.heatmap)}
        if photo.result is None:
            views.append(PhotoResultView(**common))
            continue
        views.append(PhotoResultView(
            **common,
            verdict=verdict_words(photo.label, photo.top_probability),
            top_probability=photo.top_probability,
            counted=photo.counted,
            not_counted_because="" if photo.counted else reason_text(photo.result.get("reason", "")),
            readout_lines=readouts.summaries(photo),
        ))
    return views


def with_local_times(series: dict[str, Any]) -> dict[str, Any]:
    """The chart data with each point's time as the pages write it (the person's time zone and date
    style), so the chart, its table and the list say the same; ``created_at`` stays ISO 8601."""
    for point in series["points"]:
        moment = datetime.fromisoformat(point["created_at"])
        point.update(when=dates.when(moment), day=dates.day(moment), time=dates.time_of_day(moment))
    return series


#: Each condition's look in every chart (the history page's, drawn from the chart-data endpoint, and the PDF's):
#: Okabe-Ito hues, which stay apart for common colour-vision deficiencies, and a point shape each, by its
#: Chart.js name (``point``) and matplotlib marker (``marker``). The spots chart uses acne's colour.
CHART_STYLES = {
    "acne": {"colour": "#D55E00", "point": "circle", "marker": "o"},
    "eczema": {"colour": "#0072B2", "point": "rect", "marker": "s"},
    "healthy": {"colour": "#009E73", "point": "triangle", "marker": "^"},
    "rosacea": {"colour": "#CC79A7", "point": "rectRot", "marker": "D"},
}
LESION_COLOUR = CHART_STYLES["acne"]["colour"]


#: A change smaller than this many percentage points is read as "little change" (light and angle alone
#: move the scores this much; see the help text on the compare page).
LITTLE_CHANGE_POINTS = 5


def change_summary(before, after) -> str:
    """What changed between two scans with a class, in one sentence: the condition that moved most."""
    days = max((after.created_at - before.created_at).days, 0)
    changes = [(c, float(before.probabilities.get(c, 0.0)), float(after.probabilities.get(c, 0.0)))
               for c in CONDITIONS if c != Label.HEALTHY]
    condition, old, new = max(changes, key=lambda item: abs(item[2] - item[1]))
    span = (ngettext("in %(days)d day", "in %(days)d days", days) % {"days": days}) if days else gettext(
        "on the same day")
    if round(abs(new - old) * 100) < LITTLE_CHANGE_POINTS:
        return gettext("Little change %(span)s: no condition's match moved by %(points)d points or more.") % {
            "span": span, "points": LITTLE_CHANGE_POINTS}
    values = {"span": span, "condition": condition_title(condition).lower(), "old": percent(old),
              "new": percent(new)}
    if new < old:
        return gettext("The %(condition)s match went down from %(old)s to %(new)s %(span)s.") % values
    return gettext("The %(condition)s match went up from %(old)s to %(new)s %(span)s.") % values
