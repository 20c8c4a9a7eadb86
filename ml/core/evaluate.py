"""Batch evaluation of a Predictor on ``DIR/<class>/*`` (per source with a manifest)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import data, lesion_eval
from .preprocess import InvalidImage
from .report import evaluation_report, ita_group, utkface_group


def has_manifest(data_dirs) -> bool:
    dirs = [data_dirs] if isinstance(data_dirs, (str, Path)) else data_dirs
    return any((Path(d) / "manifest.csv").exists() for d in dirs)


def evaluate(predictor, data_dirs, subset=None, batch_size: int = 16, progress=None) -> dict:
    """Figures for all images; abstentions ("uncertain", "no_skin") are counted, never dropped.

    Undecodable images are counted in ``invalid`` (and as a miss), so nothing disappears silently.
    """
    classes = list(predictor.classes)
    items = data.collect(data_dirs)
    if subset:
        items = data.filter_items(items, subset)
    unknown = sorted({it.label for it in items} - set(classes))
    if unknown:
        raise ValueError(f"labels not known to the model: {unknown}")
    if not items:
        raise ValueError("no images to evaluate")
    preds = predictor.predict_many([it.path for it in items], batch_size=batch_size, progress=progress)
    labels, probs, invalid, tones = [], [], [], []
    uniform = np.full(len(classes), 1.0 / len(classes))
    for it, p in zip(items, preds, strict=False):
        if isinstance(p, InvalidImage):
            invalid.append(it.path)
            labels.append("uncertain")
            probs.append(uniform)
        else:
            labels.append(p.label)
            probs.append(np.array([p.probabilities[c] for c in classes]))
        tones.append(ita_group(p.details.get("ita")) if not isinstance(p, InvalidImage) else "unknown")
    groups = {"tone": tones, "utkface_group": [utkface_group(it.path) for it in items]}
    report = evaluation_report(items, labels, np.array(probs), classes, groups)
    if not has_manifest(data_dirs):
        report["per_source"] = {}
    report["invalid"] = invalid
    report["model_version"] = predictor.version
    if getattr(predictor, "lesion_head", None) is not None:
        report["lesions"] = lesion_eval.lesion_figures(items, preds, data_dirs)
    return report
