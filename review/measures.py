"""How a model version did on reviewed scans, with bootstrap confidence intervals (numpy only, no Django).

Each reviewed scan a version judged is one row: the reviewer's label (a condition or "unusable"), the
version's final label (a condition, "uncertain" or "no_skin"), its top calibrated probability, the class
of that probability, and the photo's skin-tone group. Figures are on the usable reviews (the reviewer
gave a condition); an abstention counts as a wrong answer, as in ``ml.core.metrics``.

Intervals: a share of the reviewed scans (accuracy, recall per class, the uncertain and no-skin rates, healthy
skin called a condition) gets its Wilson score interval, which stays honest at the edges: 30 of 30 right reads
"100 % (89–100)", where a bootstrap of 30 identical answers said "(100–100)". Figures that are no share
(macro-F1, the calibration error) get percentile bootstrap intervals: the reviewed scans are resampled with
replacement ``n_boot`` times (a fixed seed, so a page shows the same figures on every load). Two versions
are compared on the scans both judged, resampling the same scans for both (a paired bootstrap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

ABSTENTIONS = ("uncertain", "no_skin")
UNUSABLE = "unusable"
HEALTHY = "healthy"
N_BOOT = 1000
LEVEL = 0.95


@dataclass
class Judged:
    """One version's results on reviewed scans, one entry per scan (aligned lists)."""

    classes: Sequence[str]
    truth: list[str] = field(default_factory=list)  # the reviewer's label
    label: list[str] = field(default_factory=list)  # the version's final label
    top: list[float] = field(default_factory=list)  # its top calibrated probability
    argmax: list[str] = field(default_factory=list)  # the condition of that probability
    tone: list[str] = field(default_factory=list)  # the photo's skin-tone group
    keys: list[Any] = field(default_factory=list)  # the scan ids (to pair two versions)

    def add(self, key: Any, truth: str, label: str, top: float, argmax: str, tone: str) -> None:
        self.keys.append(key)
        self.truth.append(truth)
        self.label.append(label)
        self.top.append(float(top))
        self.argmax.append(argmax)
        self.tone.append(tone or "unknown")

    def subset(self, keep: Sequence[int]) -> Judged:
        out = Judged(self.classes)
        for i in keep:
            out.add(self.keys[i], self.truth[i], self.label[i], self.top[i], self.argmax[i], self.tone[i])
        return out


class _Encoded:
    """The usable rows as integer codes: truth 0..K-1, prediction 0..K+1 (the conditions, then abstentions)."""

    def __init__(self, judged: Judged):
        classes = list(judged.classes)
        self.k = len(classes)
        columns = {c: i for i, c in enumerate([*classes, *ABSTENTIONS])}
        usable = [i for i, t in enumerate(judged.truth) if t in classes]
        self.rows = usable
        self.truth = np.array([classes.index(judged.truth[i]) for i in usable], dtype=np.int64)
        self.pred = np.array([columns.get(judged.label[i], self.k) for i in usable], dtype=np.int64)
        self.top = np.array([judged.top[i] for i in usable], dtype=np.float64)
        self.argmax_correct = np.array([judged.argmax[i] == judged.truth[i] for i in usable], dtype=np.float64)
        self.healthy = classes.index(HEALTHY) if HEALTHY in classes else None

    def __len__(self) -> int:
        return len(self.truth)


def _confusion(enc: _Encoded, idx: np.ndarray) -> np.ndarray:
    """Confusion counts per resample: idx (B, n) row indices -> (B, K, K+2)."""
    b = idx.shape[0]
    width = enc.k + len(ABSTENTIONS)
    codes = enc.truth[idx] * width + enc.pred[idx] + (np.arange(b)[:, None] * enc.k * width)
    return np.bincount(codes.ravel(), minlength=b * enc.k * width).reshape(b, enc.k, width)


def _from_confusion(cm: np.ndarray, enc: _Encoded) -> dict[str, np.ndarray]:
    """Figures per resample from confusion counts (B, K, K+2)."""
    k = enc.k
    n = cm.sum(axis=(1, 2)).astype(np.float64)
    tp = np.einsum("bii->bi", cm[:, :, :k]).astype(np.float64)
    support = cm.sum(axis=2).astype(np.float64)
    predicted = cm[:, :, :k].sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(support + predicted > 0, 2 * tp / (support + predicted), 0.0)
        present = support > 0
        macro = np.where(present.any(axis=1), (f1 * present).sum(axis=1) / present.sum(axis=1), np.nan)
        out = {
            "accuracy": tp.sum(axis=1) / n,
            "macro_f1": macro,
            "uncertain_rate": cm[:, :, k].sum(axis=1) / n,
            "no_skin_rate": cm[:, :, k + 1].sum(axis=1) / n,
        }
        for c in range(k):
            out[f"recall:{c}"] = np.where(support[:, c] > 0, tp[:, c] / support[:, c], np.nan)
        if enc.healthy is not None:
            h = enc.healthy
            called = cm[:, h, :k].sum(axis=1) - cm[:, h, h]  # reviewer: healthy; model: another condition
            out["healthy_called_condition"] = np.where(support[:, h] > 0, called / support[:, h], np.nan)
    return out


def _resamples(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _interval(point: float | None, samples: np.ndarray, level: float) -> dict[str, Any]:
    if point is None or not np.isfinite(point):
        return {"value": None, "low": None, "high": None}
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return {"value": round(float(point), 4), "low": None, "high": None}
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return {"value": round(float(point), 4), "low": round(float(low), 4), "high": round(float(high), 4)}


def wilson(successes: float, n: float, level: float = LEVEL) -> tuple[float, float] | None:
    """The Wilson score interval (low, high) of a proportion ``successes / n``; None when ``n`` is 0."""
    if n <= 0:
        return None
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = min(max(successes / n, 0.0), 1.0)
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if p == 0 else max(0.0, float(centre - half))  # exactly, not 1e-17
    high = 1.0 if p == 1 else min(1.0, float(centre + half))
    return low, high


def newcombe_paired(both: int, only_first: int, only_second: int, neither: int,
                    level: float = LEVEL) -> tuple[float, float] | None:
    """Newcombe's score interval (1998, method 10) for the difference of two proportions measured on the same
    items, first minus second, from the paired counts; built on the two Wilson intervals, so it stays honest
    where a bootstrap collapses (both versions 0 of 20: "[-0.161, +0.161]", not "[+0.000, +0.000]")."""
    n = both + only_first + only_second + neither
    if n <= 0:
        return None
    p1, p2 = (both + only_first) / n, (both + only_second) / n
    l1, u1 = wilson(both + only_first, n, level)  # type: ignore[misc]  # n > 0
    l2, u2 = wilson(both + only_second, n, level)  # type: ignore[misc]
    product = (both + only_first) * (only_second + neither) * (both + only_second) * (only_first + neither)
    phi = (both * neither - only_first * only_second) / np.sqrt(product) if product > 0 else 0.0
    delta = p1 - p2
    low = delta - np.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    high = delta + np.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return max(-1.0, float(low)), min(1.0, float(high))


def _share(point: float | None, n: float, level: float) -> dict[str, Any]:
    """A share of ``n`` scans with its Wilson interval (the same keys as ``_interval``)."""
    bounds = wilson(point * n, n, level) if point is not None and n > 0 else None
    if point is None:
        return {"value": None, "low": None, "high": None}
    if bounds is None:
        return {"value": round(float(point), 4), "low": None, "high": None}
    return {"value": round(float(point), 4), "low": round(bounds[0], 4), "high": round(bounds[1], 4)}


#: The figures that are a share of the reviewed scans (Wilson intervals), and what they are a share of.
SHARES = ("accuracy", "uncertain_rate", "no_skin_rate")


def _point(values: dict[str, np.ndarray], name: str) -> float | None:
    v = float(values[name][0]) if name in values else float("nan")
    return v if np.isfinite(v) else None


def figures(judged: Judged, *, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0,
            per_tone: bool = True) -> dict[str, Any]:
    """Accuracy, macro-F1, recall per class, signed calibration error, abstention rates and the rate of
    healthy skin called a condition, each with its interval and the number of reviewed scans behind it."""
    classes = list(judged.classes)
    enc = _Encoded(judged)
    n = len(enc)
    unusable = [i for i, t in enumerate(judged.truth) if t == UNUSABLE]
    abstained_unusable = sum(judged.label[i] in ABSTENTIONS for i in unusable)
    out: dict[str, Any] = {
        "n": n,
        "n_unusable": len(unusable),
        "abstained_on_unusable": round(abstained_unusable / len(unusable), 4) if unusable else None,
    }
    names = ["accuracy", "macro_f1", "uncertain_rate", "no_skin_rate", "healthy_called_condition"]
    if n == 0:
        out.update({name: _interval(None, np.zeros(0), level) for name in names})
        out["recall"] = {c: {**_interval(None, np.zeros(0), level), "n": 0} for c in classes}
        out["signed_calibration_error"] = _interval(None, np.zeros(0), level)
        out["healthy_n"] = 0
        out["per_tone"] = {}
        return out
    whole = _from_confusion(_confusion(enc, np.arange(n)[None, :]), enc)
    idx = _resamples(n, n_boot, seed)
    boot = _from_confusion(_confusion(enc, idx), enc)
    support = np.bincount(enc.truth, minlength=len(classes))
    healthy_n = int(support[enc.healthy]) if enc.healthy is not None else 0
    for name in names:
        if name in SHARES:
            out[name] = _share(_point(whole, name), n, level)
        elif name == "healthy_called_condition":  # a share of the scans the reviewer called healthy
            out[name] = _share(_point(whole, name), healthy_n, level)
        else:
            out[name] = _interval(_point(whole, name), boot.get(name, np.zeros(0)), level)
    out["recall"] = {
        c: {**_share(_point(whole, f"recall:{i}"), int(support[i]), level), "n": int(support[i])}
        for i, c in enumerate(classes)
    }
    out["healthy_n"] = healthy_n
    gap = enc.top - enc.argmax_correct  # > 0: more confident than right
    out["signed_calibration_error"] = _interval(float(gap.mean()), gap[idx].mean(axis=1), level)
    out["per_tone"] = {}
    if per_tone:
        for tone in sorted(set(judged.tone)):
            keep = [i for i, t in enumerate(judged.tone) if t == tone]
            sub = figures(judged.subset(keep), n_boot=n_boot, level=level, seed=seed, per_tone=False)
            out["per_tone"][tone] = {k: sub[k] for k in ("n", "accuracy", "macro_f1", "uncertain_rate",
                                                        "no_skin_rate", "healthy_called_condition", "healthy_n")}
    return out


def paired(candidate: Judged, active: Judged) -> tuple[Judged, Judged]:
    """The two versions' rows on the scans both judged, in the same order."""
    where = {k: i for i, k in enumerate(active.keys)}
    both = [(i, where[k]) for i, k in enumerate(candidate.keys) if k in where]
    return candidate.subset([i for i, _j in both]), active.subset([j for _i, j in both])


def compare(candidate: Judged, active: Judged, *, min_reviewed: int, recall_tolerance: float = 0.05,
            n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0) -> dict[str, Any]:
    """The promotion gate's comparison on the usable reviewed scans both versions judged.

    Passes when there are at least ``min_reviewed`` of them and the candidate is
    - not worse on macro-F1 beyond the interval: the upper end of the paired interval of
      (candidate - active) is not below zero;
    - not worse on any class's recall by more than ``recall_tolerance``;
    - not worse on the rate of healthy skin called a condition beyond the interval: the lower end of
      the paired interval of (candidate - active) is not above zero.
    """
    cand, act = paired(candidate, active)
    ec, ea = _Encoded(cand), _Encoded(act)
    n = len(ec)
    result: dict[str, Any] = {"n": n, "min_reviewed": min_reviewed, "level": level, "checks": []}
    if n < min_reviewed or n == 0:
        result["checks"].append({
            "name": "reviewed scans", "passed": False, "candidate": n, "active": n,
            "rule": f"at least {min_reviewed} usable reviewed scans judged by both versions",
        })
        result["passed"] = False
        return result
    idx = _resamples(n, n_boot, seed)
    whole_c = _from_confusion(_confusion(ec, np.arange(n)[None, :]), ec)
    whole_a = _from_confusion(_confusion(ea, np.arange(n)[None, :]), ea)
    boot_c = _from_confusion(_confusion(ec, idx), ec)
    boot_a = _from_confusion(_confusion(ea, idx), ea)
    checks = result["checks"]
    checks.append({"name": "reviewed scans", "passed": True, "candidate": n, "active": n,
                   "rule": f"at least {min_reviewed} usable reviewed scans judged by both versions"})

    diff = _interval(_point(whole_c, "macro_f1") - _point(whole_a, "macro_f1"),  # type: ignore[operator]
                     boot_c["macro_f1"] - boot_a["macro_f1"], level)
    checks.append({
        "name": "macro-F1", "candidate": _point(whole_c, "macro_f1"), "active": _point(whole_a, "macro_f1"),
        "difference": diff, "passed": diff["high"] is None or diff["high"] >= 0,
        "rule": f"not worse beyond the {level:.0%} interval of the difference",
    })
    for i, c in enumerate(cand.classes):
        rc, ra = _point(whole_c, f"recall:{i}"), _point(whole_a, f"recall:{i}")
        if rc is None or ra is None:
            continue
        checks.append({
            "name": f"recall {c}", "candidate": rc, "active": ra, "difference": {"value": round(rc - ra, 4)},
            "passed": rc >= ra - recall_tolerance - 1e-9,
            "rule": f"not more than {round(100 * recall_tolerance)} points lower",
        })
    hc, ha = _point(whole_c, "healthy_called_condition"), _point(whole_a, "healthy_called_condition")
    if hc is not None and ha is not None and ec.healthy is not None:
        # A difference of two shares of the same healthy scans: Newcombe's paired score interval.
        h, k = ec.healthy, ec.k
        healthy_rows = ec.truth == h
        called_c = (ec.pred[healthy_rows] < k) & (ec.pred[healthy_rows] != h)
        called_a = (ea.pred[healthy_rows] < k) & (ea.pred[healthy_rows] != h)
        bounds = newcombe_paired(int((called_c & called_a).sum()), int((called_c & ~called_a).sum()),
                                 int((~called_c & called_a).sum()), int((~called_c & ~called_a).sum()), level)
        hdiff = {"value": round(hc - ha, 4), "low": None, "high": None}
        if bounds is not None:
            hdiff.update(low=round(bounds[0], 4), high=round(bounds[1], 4))
        checks.append({
            "name": "healthy called a condition", "candidate": hc, "active": ha, "difference": hdiff,
            "passed": hdiff["low"] is None or hdiff["low"] <= 0,
            "rule": f"not higher beyond the {level:.0%} interval of the difference",
        })
    result["passed"] = all(c["passed"] for c in checks)
    return result


def _num(value: Any, signed: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def format_comparison(comparison: dict[str, Any], candidate: str, active: str | None) -> str:
    """The gate's comparison as a table in plain text (what promote_model prints)."""
    if active is None:
        return f"{candidate}: {comparison.get('note', 'no active version to compare with')}\n"
    lines = [
        f"{candidate} (candidate) against {active} (active) on {comparison['n']} usable reviewed scans judged by "
        f"both; {comparison.get('level', LEVEL):.0%} intervals of the difference: macro-F1 paired bootstrap, "
        "healthy called a condition Newcombe's paired score interval",
        f"{'check':<30} {'candidate':>9} {'active':>9} {'difference [interval]':>27}  {'result':<7} rule",
    ]
    for check in comparison["checks"]:
        diff = check.get("difference") or {}
        interval = ""
        if diff.get("low") is not None:
            interval = f" [{_num(diff['low'], True)}, {_num(diff['high'], True)}]"
        lines.append(
            f"{check['name']:<30} {_num(check.get('candidate')):>9} {_num(check.get('active')):>9} "
            f"{(_num(diff.get('value'), True) + interval) if diff else '':>27}  "
            f"{'pass' if check['passed'] else 'FAIL':<7} {check['rule']}"
        )
    return "\n".join(lines) + "\n"
