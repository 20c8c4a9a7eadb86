"""Has what people send changed? The last days' scans against the weeks before (numpy and SciPy, no Django).

Each scan is a ``DriftItem``. The checks, each with its named test:

- the mix of results (the four conditions, uncertain, no skin): Pearson's chi-squared test of homogeneity;
- the top confidence: the two-sample Kolmogorov-Smirnov test;
- each photo-quality flag: Fisher's exact test on the share of photos with the flag;
- the feature distance from the model's skin photos: the two-sample Kolmogorov-Smirnov test;
- the mix of skin-tone groups: Pearson's chi-squared test of homogeneity;
- per skin-tone group, the share of results without a condition (uncertain or no skin): Fisher's exact test.

A check runs only with at least ``min_scans`` scans on each side. With many checks some would come out
"significant" by chance, so each p-value is held against ``alpha`` divided by the number of checks run
(Bonferroni): the chance of a false alarm on an unchanged week is at most ``alpha``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ml.core.report import ITA_GROUPS

TONE_ORDER = [name for name, _floor in ITA_GROUPS]  # lightest first
ABSTENTIONS = ("uncertain", "no_skin")
ALPHA = 0.01
MIN_SCANS = 30

CHI2 = "Pearson's chi-squared test of homogeneity"
KS = "two-sample Kolmogorov-Smirnov test"
FISHER = "Fisher's exact test"


@dataclass
class DriftItem:
    label: str
    top: float | None
    flags: dict[str, bool] = field(default_factory=dict)
    feature_distance: float | None = None
    tone: str = "unknown"


def _mix(items: Sequence[DriftItem], key) -> Counter:
    return Counter(key(it) for it in items)


def _shares(counts: Counter, categories: Sequence[str]) -> dict[str, float]:
    total = sum(counts[c] for c in categories)
    return {c: round(counts[c] / total, 4) if total else 0.0 for c in categories}


def _chi2(recent: Counter, baseline: Counter, categories: Sequence[str]) -> tuple[float, float]:
    from scipy.stats import chi2_contingency

    table = np.array([[recent[c] for c in categories], [baseline[c] for c in categories]], dtype=np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    stat, p, _dof, _expected = chi2_contingency(table, correction=False)
    return float(stat), float(p)


def _ks(recent: Sequence[float], baseline: Sequence[float]) -> tuple[float, float]:
    from scipy.stats import ks_2samp

    result = ks_2samp(np.asarray(recent, dtype=np.float64), np.asarray(baseline, dtype=np.float64))
    return float(result.statistic), float(result.pvalue)


def _fisher(hits_recent: int, n_recent: int, hits_baseline: int, n_baseline: int) -> tuple[float, float]:
    from scipy.stats import fisher_exact

    table = [[hits_recent, n_recent - hits_recent], [hits_baseline, n_baseline - hits_baseline]]
    odds, p = fisher_exact(table)
    return (float(odds) if np.isfinite(odds) else float("inf")), float(p)


def _skipped(name: str, test: str, n_recent: int, n_baseline: int, min_scans: int) -> dict[str, Any]:
    return {"name": name, "test": test, "n_recent": n_recent, "n_baseline": n_baseline, "ran": False,
            "note": f"fewer than {min_scans} scans on a side", "drifted": False}


def compare_windows(recent: Sequence[DriftItem], baseline: Sequence[DriftItem], *, labels: Sequence[str],
                    flags: Sequence[str], alpha: float = ALPHA, min_scans: int = MIN_SCANS) -> dict[str, Any]:
    """The checks on ``recent`` against ``baseline``; ``drifted`` when any is significant after Bonferroni."""
    checks: list[dict[str, Any]] = []

    def check(name: str, test: str, n_recent: int, n_baseline: int, run, summary: dict[str, Any]) -> None:
        if n_recent < min_scans or n_baseline < min_scans:
            checks.append({**_skipped(name, test, n_recent, n_baseline, min_scans), **summary})
            return
        stat, p = run()
        if not np.isfinite(p):  # a degenerate table: no evidence of a change (and JSON has no NaN)
            p = 1.0
        checks.append({"name": name, "test": test, "n_recent": n_recent, "n_baseline": n_baseline, "ran": True,
                       "statistic": round(stat, 4) if np.isfinite(stat) else None, "p_value": p, **summary})

    label_r, label_b = _mix(recent, lambda it: it.label), _mix(baseline, lambda it: it.label)
    check("result mix", CHI2, len(recent), len(baseline), lambda: _chi2(label_r, label_b, labels),
          {"categories": list(labels), "recent": _shares(label_r, labels), "baseline": _shares(label_b, labels)})

    top_r = [it.top for it in recent if it.top is not None]
    top_b = [it.top for it in baseline if it.top is not None]
    check("confidence", KS, len(top_r), len(top_b), lambda: _ks(top_r, top_b),
          {"recent": {"median": _median(top_r)}, "baseline": {"median": _median(top_b)}})

    for flag in flags:
        hit_r = sum(bool(it.flags.get(flag)) for it in recent)
        hit_b = sum(bool(it.flags.get(flag)) for it in baseline)
        check(f"quality: {flag}", FISHER, len(recent), len(baseline),
              lambda hit_r=hit_r, hit_b=hit_b: _fisher(hit_r, len(recent), hit_b, len(baseline)),
              {"recent": {"share": _share(hit_r, len(recent))}, "baseline": {"share": _share(hit_b, len(baseline))}})

    dist_r = [it.feature_distance for it in recent if it.feature_distance is not None]
    dist_b = [it.feature_distance for it in baseline if it.feature_distance is not None]
    check("feature distance", KS, len(dist_r), len(dist_b), lambda: _ks(dist_r, dist_b),
          {"recent": {"median": _median(dist_r)}, "baseline": {"median": _median(dist_b)}})

    toned_r = [it for it in recent if it.tone != "unknown"]
    toned_b = [it for it in baseline if it.tone != "unknown"]
    tone_r, tone_b = _mix(toned_r, lambda it: it.tone), _mix(toned_b, lambda it: it.tone)
    tones = sorted(set(tone_r) | set(tone_b), key=lambda t: (TONE_ORDER.index(t) if t in TONE_ORDER else 99, t))
    check("skin-tone mix", CHI2, len(toned_r), len(toned_b), lambda: _chi2(tone_r, tone_b, tones),
          {"categories": tones, "recent": _shares(tone_r, tones), "baseline": _shares(tone_b, tones)})
    for tone in tones:
        group_r = [it for it in toned_r if it.tone == tone]
        group_b = [it for it in toned_b if it.tone == tone]
        abst_r = sum(it.label in ABSTENTIONS for it in group_r)
        abst_b = sum(it.label in ABSTENTIONS for it in group_b)
        check(f"no condition given, tone {tone}", FISHER, len(group_r), len(group_b),
              lambda a=abst_r, n=len(group_r), b=abst_b, m=len(group_b): _fisher(a, n, b, m),  # noqa: B008
              {"recent": {"share": _share(abst_r, len(group_r))}, "baseline": {"share": _share(abst_b, len(group_b))}})

    ran = [c for c in checks if c["ran"]]
    threshold = alpha / len(ran) if ran else alpha
    for c in ran:
        c["threshold"] = threshold
        c["drifted"] = c["p_value"] < threshold
    return {
        "alpha": alpha,
        "threshold": threshold,
        "checks_run": len(ran),
        "drifted": any(c["drifted"] for c in ran),
        "checks": checks,
    }


def _median(values: Sequence[float]) -> float | None:
    return round(float(np.median(values)), 4) if len(values) else None


def _share(hits: int, n: int) -> float | None:
    return round(hits / n, 4) if n else None
