"""Phase 5, the final head: trained on every image, optionally with block 5 fine-tuned, and the artifact
(head only, float16, referencing the base by id) with its metadata and evaluation."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np

from .. import data
from ..model import HEAD_INPUTS, HEAD_LAYERS, conv_names, get_trained_weights
from .features import DISTANCE_INPUT
from .head import sample_weights
from .prepare import Dataset


def fine_tune_block5(top, block4, ds: Dataset, epochs, lr, seed, clock, batch_size=32):
    """Fine-tune block 5 + head on cached block-4 maps and their skin weights, ``block4 = (maps, weights)``
    (one random view per image per epoch)."""
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    for layer in top.layers:
        layer.trainable = layer.name.startswith("block5_conv") or layer.name.startswith("head_")
    opt = keras.optimizers.Adam(lr)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    w_all = sample_weights(ds.y, ds.sources, ds.n_out)
    trainable = top.trainable_variables

    maps, skin_weights = block4

    @tf.function(reduce_retracing=True, autograph=False)
    def step(x, m, y, w):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, top([x, m] if len(top.inputs) > 1 else x, training=True)[2], sample_weight=w)
        opt.apply_gradients(zip(tape.gradient(loss, trainable), trainable, strict=True))
        return loss

    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(ds.items))
        views = rng.integers(0, maps.shape[1], size=len(order))
        losses = []
        for s in range(0, len(order), batch_size):
            b = order[s : s + batch_size]
            x = tf.constant(maps[b, views[b]], tf.float32)
            m = tf.constant(skin_weights[b, views[b]][..., None], tf.float32)
            losses.append(float(step(x, m, tf.constant(ds.y[b]), tf.constant(w_all[b]))))
        clock(f"fine-tune epoch {epoch}/{epochs}: loss {np.mean(losses):.4f}")
    return get_trained_weights(top, (*conv_names([5]), *HEAD_LAYERS))

def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None

def metadata(name, ds: Dataset, cal: dict, setting, evaluation: dict, run: dict) -> dict:
    loso = evaluation["leave_one_source_out"] or {}
    return {
        "name": name,
        "classes": ds.classes,
        "reject_class": data.REJECT_LABEL,
        "input_size": run["input_size"],
        "preprocessing": "exif+rgb; BlazeFace face crop (15% margin) with the face oval kept, else central crop "
        "(8% border); resize; vgg caffe",
        "base_weights_id": run["base_id"],
        "head_inputs": list(HEAD_INPUTS),
        "distance_input": DISTANCE_INPUT,
        "base_weights_file": Path(run["base_path"]).name
        if run["base_path"]
        else "ml/weights/vgg16_imagenet_notop_fp16.npz",
        "temperature": cal["temperature"],
        "adaptive_temperature": cal.get("adaptive_temperature"),
        "reject_temperature": cal["reject_temperature"],
        "thresholds": cal["thresholds"],
        "trained_layers": f"{run['trained_layers']} (float16)",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "training": {
            "head_setting": {"epochs": setting[0], "dropout": setting[1], "l2": setting[2]},
            "views": run["views"],
            "seed": run["seed"],
            "fine_tune_epochs": run["fine_tune_epochs"],
            "source_directions_removed": run["source_directions_removed"],
            "label_decisions": run["label_decisions"],
            "wall_time_s": round(run["wall_time_s"], 1),
        },
        "data_summary": {
            "n_images": len(ds.items),
            "undecodable": len(ds.bad),
            "per_source": {
                f"{s}/{lab}": n for (s, lab), n in sorted(Counter((it.source, it.label) for it in ds.items).items())
            },
            "face_detection_rate": evaluation["face_detection_rate"],
        },
        "metrics": {
            "heldout_sources": {k: loso.get(k) for k in ("accuracy", "macro_f1", "ece", "n", "abstained")},
            "in_source": {k: evaluation["in_source_split"][k] for k in ("accuracy", "macro_f1", "ece", "n")},
        },
    }


def fine_tune_top(top, trained: dict, block4, ds: Dataset, epochs, lr, seed, clock) -> dict:
    """The final head set into ``top`` (block 5 + head), then both fine-tuned (``fine_tune_block5``)."""
    for lname in HEAD_LAYERS:
        top.get_layer(lname).set_weights([trained[f"{lname}/kernel"], trained[f"{lname}/bias"]])
    return fine_tune_block5(top, block4, ds, epochs, lr, seed, clock)
