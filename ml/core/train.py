"""Training: frozen ImageNet VGG16 features, a head chosen and calibrated on held-out sources.

``train`` runs the phases of ``ml.core.training`` in order, each a module that reads alone:

1. ``prepare``: decode and preprocess every image once; photos with no face or skin join as a fifth class.
2. ``features``: VGG16 pooled features of a clean and ``views - 1`` augmented views per image (cached).
3. ``selection``: leave one source out for every head setting (``head`` trains one), choose the setting.
4. ``calibrate``: temperatures and thresholds from those held-out predictions, never from training sources.
5. ``final``: the head on every image (optionally block 5 fine-tuned) and the artifact with its evaluation.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from . import artifact, data, ood, report
from .model import load_base_weights
from .training import final
from .training.calibrate import calibration_per_source, fit_calibration
from .training.evaluation import (
    HELDOUT_PREDICTIONS,
    format_evaluation,
    full_report,
    in_source_split,
    write_heldout_predictions,
)
from .training.features import (
    DISTANCE_INPUT,
    PooledFeatures,
    cache_features,
    feature_cache_path,
    fold_standardisation,
    head_features,
)
from .training.head import head_logits, train_head
from .training.prepare import Clock, face_rates, prepare
from .training.selection import (
    HEAD_GRID,
    choose_head_setting,
    group_healthy_gap,
    leave_one_source_out,
    leave_one_source_out_distances,
    lowest_group_healthy,
    skin_statistics,
)

__all__ = ["train", "format_evaluation"]


def train(
    data_dirs,
    out_dir,
    negative_dirs=(),
    input_size: int = 224,
    views: int = 2,
    base_weights_path=None,
    name: str | None = None,
    seed: int = 0,
    head_grid=HEAD_GRID,
    fine_tune_epochs: int = 0,
    fine_tune_lr: float = 1e-5,
    test_frac: float = 0.15,
    workers: int = 2,
    cache_dir=None,
    label_decisions=None,
    log=print,
):
    """Train, select and calibrate on held-out sources, and write the artifact to ``out_dir``.
    ``label_decisions``: the label audit's decisions CSV (``data.LABEL_DECISIONS``), or None."""
    clock = Clock(log)
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    name = name or out_dir.name
    # 1. prepare
    ds = prepare(data_dirs, negative_dirs, input_size, workers, clock, label_decisions)
    rates = face_rates(ds)
    clock(f"preprocessed; {len(ds.bad)} undecodable; face-found rate per source: {json.dumps(rates)}")

    # 2. features
    base, base_id = load_base_weights(base_weights_path)
    feats = PooledFeatures(input_size, base, ds.n_out, keep_block4=fine_tune_epochs > 0, base_id=base_id)
    clock(f"feature extractor: {feats.dtype}")
    cache = feature_cache_path(cache_dir, ds, input_size, views, seed, base_id, feats.dtype)
    if cache and cache.is_file() and not fine_tune_epochs:
        with np.load(cache) as npz:
            all_pooled, block4 = {k: npz[k] for k in npz.files}, None
        clock(f"VGG16 features read from {cache}")
    else:
        all_pooled, block4 = cache_features(ds, feats, views, rng, clock, keep_block4=fine_tune_epochs > 0)
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, **all_pooled)
    pooled, (x_head, mean, std) = all_pooled[DISTANCE_INPUT], head_features(all_pooled)

    # 3. selection and 4. calibration, on held-out sources
    selection = []
    if len(set(ds.sources)) > 1:
        distances = leave_one_source_out_distances(ds, pooled)
        for setting in head_grid:
            clock(f"leave-one-source-out, head setting (epochs, dropout, l2) = {setting}")
            oof = leave_one_source_out(ds, x_head, setting, seed, clock)
            cal = fit_calibration(ds, oof, distances)
            rep = full_report(ds, oof, cal, distances=distances)
            floor, gap = lowest_group_healthy(rep), group_healthy_gap(rep)
            clock(
                f"  held-out macro-F1 {rep['macro_f1']:.3f}, ECE {rep['ece']:.3f}"
                + ("" if floor is None else f", UTKFace groups called healthy: lowest {floor:.3f}, gap {gap:.3f}")
            )
            selection.append((rep["macro_f1"], setting, oof, cal, rep))
        _f1, setting, oof, cal, loso = choose_head_setting(selection)
        calibration_check = calibration_per_source(ds, oof, distances)
    else:  # one source: nothing to hold out; calibrate on the in-source split (and say so)
        setting = head_grid[0]
        split = data.stratified_split(ds.items, 0.3, 0.0, seed)
        w, _ = train_head(x_head, ds, np.array(split["train"]), setting, seed)
        oof = head_logits(w, x_head[:, 0])
        cal = fit_calibration(ds, oof, ood.score(pooled[:, 0], skin_statistics(ds, pooled, split["train"])))
        loso, calibration_check = None, None
    clock(f"chosen head setting {setting}; calibration {json.dumps(cal)}")

    in_source, test_idx = in_source_split(ds, x_head, pooled, setting, cal, seed, test_frac)
    clock(f"in-source split: macro-F1 {in_source['macro_f1']:.3f}, ECE {in_source['ece']:.3f}")

    # 5. the final head on every image
    head, n_source_directions = train_head(x_head, ds, np.arange(len(ds.items)), setting, seed)
    trained = fold_standardisation(head, mean, std)
    trained_layers = "head"
    if fine_tune_epochs > 0:
        trained = final.fine_tune_top(feats.top, trained, block4, ds, fine_tune_epochs, fine_tune_lr, seed, clock)
        trained_layers = "block5 + head"
    shipped = {k: v.astype(np.float16).astype(np.float32) for k, v in trained.items()}
    skin_stats = skin_statistics(ds, pooled, np.arange(len(ds.items)))

    evaluation = {
        "leave_one_source_out": loso,
        "in_source_split": in_source,
        "face_detection_rate": rates,
        "calibration_per_source": calibration_check,
        "head_selection": [
            {
                "setting": s[1],
                "heldout_macro_f1": s[0],
                "lowest_utkface_group_healthy": lowest_group_healthy(s[4]),
                "utkface_group_healthy_gap": group_healthy_gap(s[4]),
            }
            for s in selection
        ],
    }
    run = {
        "label_decisions": {"file": Path(label_decisions).name if label_decisions else None, **ds.label_decisions},
        "input_size": input_size,
        "base_id": base_id,
        "base_path": base_weights_path,
        "views": views,
        "seed": seed,
        "trained_layers": trained_layers,
        "fine_tune_epochs": fine_tune_epochs,
        "source_directions_removed": n_source_directions,
        "wall_time_s": time.time() - clock.t0,
    }
    metadata = final.metadata(name, ds, cal, setting, evaluation, run)
    artifact.save(
        out_dir,
        shipped,
        metadata,
        extra_arrays={"ood_means": skin_stats["means"], "ood_precision": skin_stats["precision"]},
    )
    data.write_list(out_dir / "heldout_test.csv", [ds.items[i] for i in test_idx])
    if loso:
        write_heldout_predictions(out_dir / HELDOUT_PREDICTIONS, ds, oof, cal)
    with open(out_dir / "evaluation.json", "w") as f:
        json.dump(evaluation, f, indent=2, default=float)
    (out_dir / "evaluation.txt").write_text(format_evaluation(evaluation))
    try:
        if loso:
            report.plot_confusion(loso, out_dir / "confusion_matrix.png", title="held-out sources: ")
    except Exception as exc:  # plotting is a nicety
        clock(f"confusion plot failed: {exc}")
    clock(f"saved artifact to {out_dir}")
    return metadata, evaluation
