"""Phase 3, selection: leave one source out. For each candidate head setting, train on all sources but one and
predict the held-out source; the setting with the best held-out macro-F1 wins, among those that call every
UTKFace group healthy often enough and about equally often (``choose_head_setting``)."""

from __future__ import annotations

import numpy as np

from .. import ood
from .head import head_logits, train_head
from .prepare import Dataset

#: A head setting is chosen only if every UTKFace group (real faces, judged by heads that never saw UTKFace)
#: is called healthy at least this often: telling healthy people they have a skin disease is the worst error
#: the product can make, so it outranks macro-F1 (when no setting manages it, macro-F1 alone decides).
MIN_GROUP_HEALTHY = 0.85

#: ...and no UTKFace group may be called healthy more than this much more often than another: a model that
#: misjudges one group's healthy skin more than the others' is unfair even above the floor.
MAX_GROUP_GAP = 0.08

#: Head settings compared on held-out sources: (epochs, dropout, L2 weight decay).
HEAD_GRID = ((12, 0.4, 1e-4), (20, 0.5, 3e-4), (30, 0.5, 1e-3), (40, 0.6, 3e-3))

def leave_one_source_out(ds: Dataset, pooled, setting, seed, clock) -> np.ndarray:
    """Held-out logits for every image, each from a head that never saw the image's source."""
    sources = ds.sources
    oof = np.zeros((len(ds.items), ds.n_out))
    for src in sorted(set(sources)):
        test = np.array([i for i, s in enumerate(sources) if s == src])
        train_idx = np.array([i for i, s in enumerate(sources) if s != src])
        weights, _ = train_head(pooled, ds, train_idx, setting, seed)
        oof[test] = head_logits(weights, pooled[test, 0])
        clock(f"  held out {src} ({len(test)} images)")
    return oof

def skin_statistics(ds: Dataset, pooled, idx) -> dict:
    """``ood.fit`` on every view of the skin photos among ``idx``."""
    idx = np.asarray([i for i in idx if ds.y[i] < len(ds.classes)])
    return ood.fit(pooled[idx].reshape(-1, pooled.shape[-1]), np.repeat(ds.y[idx], pooled.shape[1]), len(ds.classes))

def leave_one_source_out_distances(ds: Dataset, pooled) -> np.ndarray:
    """Every image's feature distance from the skin photos of the other sources (``ml.core.ood``)."""
    sources = np.array(ds.sources)
    out = np.zeros(len(ds.items))
    for src in sorted(set(ds.sources)):
        test = np.flatnonzero(sources == src)
        out[test] = ood.score(pooled[test, 0], skin_statistics(ds, pooled, np.flatnonzero(sources != src)))
    return out

def _group_healthy(rep: dict) -> list[float]:
    groups = rep.get("per_utkface_group") or {}
    return [g["called"].get("healthy", 0.0) for g in groups.values()]

def lowest_group_healthy(rep: dict) -> float | None:
    """The smallest share of a UTKFace group (real healthy faces) called healthy; None without UTKFace."""
    return min(_group_healthy(rep), default=None)

def group_healthy_gap(rep: dict) -> float | None:
    """The largest difference between two UTKFace groups' shares called healthy; None without UTKFace."""
    shares = _group_healthy(rep)
    return max(shares) - min(shares) if shares else None

def choose_head_setting(selection: list) -> tuple:
    """``selection``: (held-out macro-F1, setting, ..., report) per head setting. The best macro-F1 among the
    settings that call every UTKFace group healthy at least ``MIN_GROUP_HEALTHY`` of the time with a gap of
    at most ``MAX_GROUP_GAP`` between groups; failing that, among those that meet the floor; failing that,
    the best macro-F1 overall (also without UTKFace in the data)."""

    def fairness(entry) -> tuple[bool, bool]:
        floor, gap = lowest_group_healthy(entry[-1]), group_healthy_gap(entry[-1])
        meets_floor = floor is None or floor >= MIN_GROUP_HEALTHY
        return meets_floor and (gap is None or gap <= MAX_GROUP_GAP + 1e-9), meets_floor

    return max(selection, key=lambda entry: (*fairness(entry), entry[0]))
