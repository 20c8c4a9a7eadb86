"""Phase 2, features: the frozen VGG16 features of a clean and ``views - 1`` photo-style augmented views per
image, pooled (the expensive part; OpenVINO, see ``PooledFeatures``), kept on disk between runs, and the
head's standardised input."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import augment
from ..inference import FeatureExtractor
from ..model import HEAD_INPUTS, build_top, feature_hw, masked_mean, needs_skin_weights
from .prepare import Dataset

#: What the "not skin" feature distance (``ml.core.ood``) reads: block 5 averaged over the skin weights.
DISTANCE_INPUT = "skin5"
#: What the feature cache keeps: what the head reads and what the distance reads.
POOLED_KINDS = tuple(dict.fromkeys((*HEAD_INPUTS, DISTANCE_INPUT)))
HEAD_FEATURES = 512 * len(HEAD_INPUTS)
#: Changes whenever the views change (augmentation, skin weights), so an old cache is never read.
CACHE_FORMAT = "skin-weights-close-ups-1"


class PooledFeatures:
    """Frozen VGG16 (blocks 1-5) -> the pooled features ``POOLED_KINDS`` (512-d each) of uint8 crops and their
    skin weights, and, for fine-tuning, the block-4 maps.

    The pooled features run on OpenVINO: bfloat16 where the CPU has it; else blocks 1-4 in int8 (the
    committed recipe, as inference runs them) and block 5 in float32; else float32. On a 2-core AVX2 CPU
    float32 managed 3.2 images/s (TensorFlow and OpenVINO alike), which took the feature cache past an hour;
    int8 blocks 1-4 run twice as fast there. Fine-tuning needs the block-4 maps for TensorFlow, so
    ``keep_block4`` runs blocks 1-4 there as before."""

    def __init__(self, input_size, base, n_out, n_features=HEAD_FEATURES, keep_block4=False, base_id=None):
        self.keep_block4 = keep_block4
        self.hw = feature_hw(input_size)
        self.top = build_top(input_size, n_out, base, n_features=n_features, kinds=HEAD_INPUTS) if keep_block4 else None
        if keep_block4:
            import keras
            import tensorflow as tf

            self.extractor = FeatureExtractor(input_size, base, fast=True)
            self.dtype = f"TensorFlow {self.extractor.dtype}"
            conv5 = keras.Model(self.top.inputs[0], self.top.get_layer("block5_conv3").output)
            self._conv5 = tf.function(lambda x: conv5(x, training=False), reduce_retracing=True, autograph=False)
            return
        import openvino as ov
        import openvino.properties.hint as hints

        from ..openvino_net import build_model, cpu_has_bf16, int8_recipe

        core = ov.Core()
        bf16 = cpu_has_bf16()
        recipe = None if bf16 else int8_recipe(base_id)
        config = {hints.inference_precision: ov.Type.bf16 if bf16 else ov.Type.f32}
        if recipe is not None:
            models = [
                build_model(input_size, base, {}, n_out, part="trunk", int8=recipe),
                build_model(input_size, base, {}, n_out, part="pooled_top", kinds=POOLED_KINDS),
            ]
            self.dtype = "OpenVINO int8 blocks 1-4, float32 block 5"
        else:
            models = [build_model(input_size, base, {}, n_out, part="pooled", kinds=POOLED_KINDS)]
            self.dtype = f"OpenVINO {'bfloat16' if bf16 else 'float32'}"
        self._stages = [core.compile_model(model, "CPU", config) for model in models]

    def __call__(self, crops, weights):
        """uint8 crops (N, S, S, 3) and their skin weights at block 4's resolution (N, h, w) -> ({kind: (N, 512)},
        block-4 maps (N, h, w, 512) or None)."""
        weights = np.ascontiguousarray(weights, np.float32)
        if not self.keep_block4:
            values = {"image": np.ascontiguousarray(crops, np.uint8), "skin_weights": weights[:, None]}
            for stage in self._stages:
                res = stage({port.any_name: values[port.any_name] for port in stage.inputs})
                values.update({port.any_name: np.array(res[port]) for port in stage.outputs})
            return {k: values[k] for k in POOLED_KINDS}, None
        import tensorflow as tf

        block4 = self.extractor(crops)
        conv5 = self._conv5(tf.constant(block4, tf.float32)).numpy()
        maps = {"5": conv5, "4": block4}
        pooled = {}
        for kind in POOLED_KINDS:
            m = maps[kind[-1]]
            if needs_skin_weights([kind]):
                pooled[kind] = masked_mean(m, weights)
            elif kind == "gap4":
                pooled[kind] = m.mean(axis=(1, 2))
            else:
                raise ValueError(f"fine-tuning does not pool {kind}")
        return pooled, block4


def view_of(pre, rng, augmented: bool, hw: int):
    """One view of a preprocessed image: (crop, skin weights at (hw, hw)); augmented views move the weights
    with the crop."""
    import cv2

    weights = pre.skin_weights()
    if augmented:
        crop, weights = augment.augment(pre.crop, rng, face_found=pre.face_found, weights=weights)
    else:
        crop = pre.crop
    return crop, cv2.resize(weights, (hw, hw), interpolation=cv2.INTER_AREA)


def cache_features(ds: Dataset, feats: PooledFeatures, views: int, rng, clock, keep_block4=False):
    """-> ({kind: (N, views, 512) float32} for ``POOLED_KINDS``, and, when asked, the block-4 maps
    (N, views, h, w, 512) float16 with their skin weights (N, views, h, w))."""
    n = len(ds.items)
    pooled = {k: np.zeros((n, views, 512), np.float32) for k in POOLED_KINDS}
    block4 = None
    t0, done, chunk = time.time(), 0, 32
    for v in range(views):
        for s in range(0, n, chunk):
            idx = range(s, min(n, s + chunk))
            batch = [view_of(ds.pres[i], rng, v > 0, feats.hw) for i in idx]
            crops, weights = np.stack([b[0] for b in batch]), np.stack([b[1] for b in batch])
            p, b4 = feats(crops, weights)
            for k in POOLED_KINDS:
                pooled[k][s : s + len(idx), v] = p[k]
            if keep_block4:
                if block4 is None:
                    block4 = (
                        np.zeros((n, views, *b4.shape[1:]), np.float16),
                        np.zeros((n, views, *weights.shape[1:]), np.float32),
                    )
                block4[0][s : s + len(idx), v] = b4.astype(np.float16)
                block4[1][s : s + len(idx), v] = weights
            done += len(idx)
            clock.progress("caching VGG16 features", done, n * views, t0)
    return pooled, block4


def head_features(all_pooled: dict, kinds=HEAD_INPUTS):
    """The head's input: the pooled ``kinds`` side by side, each feature standardised over all images and
    views (block-4 and block-5 activations differ in scale). -> (N, views, 512 * len(kinds)), mean, std."""
    x = np.concatenate([all_pooled[k] for k in kinds], axis=-1)
    flat = x.reshape(-1, x.shape[-1])
    mean, std = flat.mean(axis=0), flat.std(axis=0)
    # features (nearly) constant over the data (channels that never fire) keep their scale: dividing by a
    # tiny spread would blow their weights up when folded back (float16 overflows past 65504)
    std = np.maximum(std, 0.1 * float(np.median(std)) if np.median(std) > 0 else 1.0)
    return ((x - mean) / std).astype(np.float32), mean, std

def fold_standardisation(weights: dict, mean, std) -> dict:
    """Head weights trained on standardised features -> the same head on raw features (the network feeds
    it raw pooled features): ``W' = W / std``, ``b' = b - (mean / std) @ W``."""
    k = weights["head_dense/kernel"].astype(np.float64)
    out = dict(weights)
    out["head_dense/kernel"] = (k / std[:, None]).astype(np.float32)
    out["head_dense/bias"] = (weights["head_dense/bias"] - (mean / std) @ k).astype(np.float32)
    return out

def feature_cache_path(cache_dir, ds: Dataset, input_size, views, seed, base_id, dtype=""):
    """Where the pooled features of this exact run live (images, preprocessing, views, seed, base, the
    extractor's precision)."""
    if not cache_dir:
        return None
    import hashlib

    kinds = ",".join(POOLED_KINDS)
    h = hashlib.sha256(f"{input_size}|{views}|{seed}|{base_id}|{kinds}|{dtype}|{CACHE_FORMAT}".encode())
    for it, p in zip(ds.items, ds.pres, strict=True):
        h.update(f"{it.path}|{it.label}|{p.box}|{p.face_found}".encode())
    return Path(cache_dir) / f"features-{h.hexdigest()[:16]}.npz"
