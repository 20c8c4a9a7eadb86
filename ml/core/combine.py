"""One result from the several photos of a scan (front, left, right), each first judged on its own.

The rule, for two or more photos:

- a photo counts when it can show the skin: one judged ``no_skin`` shows no skin, and one refused by the
  photo gate (``decision.PHOTO_GATE_REASONS``: black and white, too dark, face too small, blurry) cannot show
  lesions, nor can a "healthy" reading without a face (``decision.UNSUPPORTED_REASONS``), so their scores
  (often a confident "healthy") must not reassure;
- no photo counts: ``no_skin`` when no photo shows skin (refusal only then), else ``uncertain`` with the
  first such photo's reason (``no_colour``, ``too_dark``, ``too_small`` or ``blurry``);
- counted photos that are each confident of a different condition: ``uncertain`` (``photos_disagree``);
- otherwise the mean of the counted photos' calibrated probabilities is judged with the same floor and
  margin as one photo (``decision.decide``): a condition, or ``uncertain`` (``low_confidence``).

A scan of one photo keeps that photo's result, unchanged. Pure code (no Django, no TensorFlow): the worker
and ``bench/multi_photo.py`` both call ``combine``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from .. import core
from . import decision

PHOTOS_DISAGREE = "photos_disagree"

#: The reason codes this rule adds to ``decision.REASONS``, with their words.
REASONS = {
    PHOTOS_DISAGREE: "The photos do not agree: they look like different conditions.",
}


class PhotoVerdict(Protocol):
    """What ``combine`` reads of one photo's result (``inference.Prediction`` has it)."""

    @property
    def label(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def probabilities(self) -> Mapping[str, float]: ...

    @property
    def quality(self) -> Mapping[str, bool]: ...


@dataclass(frozen=True)
class CombinedResult:
    label: str
    reason: str
    probabilities: dict[str, float]  # mean over the counted photos (over all photos when none counts)
    quality: dict[str, bool]  # a flag is set when it is set on a counted photo (on any photo when none counts)
    counted: tuple[bool, ...]  # per photo, in the order given: did it count towards the result

    @property
    def top_probability(self) -> float:
        return max(self.probabilities.values()) if self.probabilities else 0.0


def counts(photo: PhotoVerdict) -> bool:
    """Whether a photo can count towards a combined result: it shows skin, in colour, sharp, lit and close enough."""
    return photo.label != core.NO_SKIN and photo.reason not in decision.UNSUPPORTED_REASONS


def _mean(photos: Sequence[PhotoVerdict], classes: Sequence[str]) -> dict[str, float]:
    return {c: sum(float(p.probabilities.get(c, 0.0)) for p in photos) / len(photos) for c in classes}


def _any_flag(photos: Sequence[PhotoVerdict]) -> dict[str, bool]:
    names = sorted({name for p in photos for name in p.quality})
    return {name: any(bool(p.quality.get(name, False)) for p in photos) for name in names}


def combine(
    photos: Sequence[PhotoVerdict],
    thresholds: Mapping | None = None,
    classes: Sequence[str] = core.CLASSES,
    *,
    uncertain_on_disagreement: bool = True,
) -> CombinedResult:
    """The scan's result from its photos' results (see the module's rule). ``thresholds``: the model's
    (``Predictor.thresholds``; only ``uncertain`` and ``margin`` are used), default ``decision``'s.
    ``uncertain_on_disagreement=False`` decides on the mean even when photos disagree (the variant
    bench/multi_photo.py compares the rule with)."""
    if not photos:
        raise ValueError("a scan has at least one photo")
    if len(photos) == 1:
        only = photos[0]
        return CombinedResult(
            label=only.label,
            reason=only.reason,
            probabilities={c: float(only.probabilities.get(c, 0.0)) for c in classes},
            quality={name: bool(on) for name, on in only.quality.items()},
            counted=(counts(only),),
        )
    counted = tuple(counts(p) for p in photos)
    used = [p for p, c in zip(photos, counted, strict=True) if c]
    if not used:
        shown = [p for p in photos if p.label != core.NO_SKIN]
        label, reason = (core.UNCERTAIN, shown[0].reason) if shown else (core.NO_SKIN, photos[0].reason)
        return CombinedResult(label, reason, _mean(photos, classes), _any_flag(photos), counted)
    probabilities = _mean(used, classes)
    confident = {p.label for p in used if p.label in classes}
    if len(confident) > 1 and uncertain_on_disagreement:
        label, reason = core.UNCERTAIN, PHOTOS_DISAGREE
    else:
        t = {**decision.default_thresholds(), **(thresholds or {})}
        order = sorted(classes, key=lambda c: probabilities[c], reverse=True)
        top, second = probabilities[order[0]], probabilities[order[1]] if len(order) > 1 else 0.0
        if top < t["uncertain"] or top - second < t["margin"]:
            label, reason = core.UNCERTAIN, "low_confidence"
        else:
            label, reason = order[0], "confident"
    return CombinedResult(label, reason, probabilities, _any_flag(used), counted)
