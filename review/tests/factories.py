"""Test data for the learning loop: scans with their served results, reviewed scans judged by several
versions. Rows are written directly (no photos, no model), many at once."""

from datetime import timedelta

from django.utils import timezone

from diagnosis.models import CONDITIONS, Scan
from review.models import ModelResult, Review

LABELS = ["acne", "eczema", "healthy", "rosacea", "uncertain", "no_skin"]
TONES = ["very_light", "light", "intermediate", "tan", "brown", "dark"]
TONE_SHARES = [0.15, 0.30, 0.25, 0.15, 0.10, 0.05]


def usual(rng):
    """One scan as people sent them so far."""
    return {
        "label": str(rng.choice(LABELS, p=[0.25, 0.17, 0.33, 0.13, 0.08, 0.04])),
        "top": float(rng.beta(8, 3)),
        "flags": {"blurry": bool(rng.random() < 0.10), "too_dark": bool(rng.random() < 0.05)},
        "tone": str(rng.choice(TONES, p=TONE_SHARES)),
        "distance": float(rng.gamma(4.0, 2.5)),
    }


def dark_filter_app(rng):
    """The same people, but a popular filter app darkens the photos: the model is unsure more often."""
    scan = usual(rng)
    scan["flags"]["too_dark"] = bool(rng.random() < 0.45)
    if rng.random() < 0.35:
        scan["label"], scan["top"] = "uncertain", float(rng.uniform(0.3, 0.5))
    scan["distance"] += float(rng.gamma(2.0, 2.0))
    return scan


def _probabilities(label, top):
    rest = (1 - top) / 3
    return {c: (top if c == label else rest) for c in CONDITIONS} if label in CONDITIONS else {
        c: 0.25 for c in CONDITIONS}


def add_scans(owner, version, days_ago, make, n, rng):
    """``n`` finished scans uploaded between ``days_ago`` = (fewest, most) days ago, each with its served
    result (skin tone and feature distance)."""
    now = timezone.now()
    specs = [make(rng) for _ in range(n)]
    scans = Scan.objects.bulk_create([
        Scan(owner=owner, status="done", label=s["label"], top_probability=s["top"], quality=s["flags"],
             probabilities=_probabilities(s["label"], s["top"]), model_version=version)
        for s in specs
    ])
    for scan in scans:
        Scan.objects.filter(pk=scan.pk).update(created_at=now - timedelta(days=float(rng.uniform(*days_ago))))
    ModelResult.objects.bulk_create([
        ModelResult(scan=scan, model_version=version, kind="served", label=s["label"], top_probability=s["top"],
                    probabilities=scan.probabilities, quality=s["flags"], tone=s["tone"],
                    feature_distance=s["distance"])
        for scan, s in zip(scans, specs, strict=True)
    ])
    return scans


def _answer(truth, accuracy, rng):
    r = rng.random()
    if r < accuracy:
        return truth
    if r < accuracy + 0.06:
        return "uncertain"
    return str(rng.choice([c for c in CONDITIONS if c != truth]))


def reviewed_scans(owner, reviewer, judges, n, rng, days_ago=(1, 30)):
    """``n`` reviewed scans; ``judges`` maps (version, kind) to an accuracy: each version's result on each
    scan is right that often (else "uncertain" or another condition). The first judge served the scan."""
    (served_version, _kind), _accuracy = next(iter(judges.items()))
    now = timezone.now()
    truths = [str(rng.choice(CONDITIONS, p=[0.3, 0.2, 0.35, 0.15])) for _ in range(n)]
    tones = [str(rng.choice(TONES, p=TONE_SHARES)) for _ in range(n)]
    answers = {key: [_answer(t, acc, rng) for t in truths] for key, acc in judges.items()}
    served = answers[next(iter(judges))]
    scans = Scan.objects.bulk_create([
        Scan(owner=owner, status="done", label=label, top_probability=0.8, probabilities=_probabilities(label, 0.8),
             model_version=served_version)
        for label in served
    ])
    for scan in scans:
        Scan.objects.filter(pk=scan.pk).update(created_at=now - timedelta(days=float(rng.uniform(*days_ago))))
    Review.objects.bulk_create([
        Review(scan=scan, reviewer=reviewer, label=truth if rng.random() > 0.04 else "unusable", model_label=label)
        for scan, truth, label in zip(scans, truths, served, strict=True)
    ])
    for (version, kind), labels in answers.items():
        ModelResult.objects.bulk_create([
            ModelResult(scan=scan, model_version=version, kind=kind, label=label,
                        top_probability=float(rng.uniform(0.55, 0.95)),
                        probabilities=_probabilities(label, 0.8), tone=tone, feature_distance=5.0)
            for scan, label, tone in zip(scans, labels, tones, strict=True)
        ])
    return scans
