"""Training: frozen ImageNet VGG16 features, a head chosen and calibrated on held-out sources.

Phases (each a function below):
1. ``prepare``: decode and preprocess every image once (BlazeFace face crop with the face oval kept,
   or a central crop); photos with no face or skin join as a fifth, rejecting class.
2. ``cache_features``: VGG16 block-5 and block-4 features, pooled, of one clean and ``views - 1``
   photo-style augmented views per image (the expensive part; OpenVINO, see ``PooledFeatures``). The head reads
   ``HEAD_INPUTS`` of them, standardised; the "not skin" feature distance reads block 5.
3. ``leave_one_source_out``: for each candidate head setting, train on all sources but one and predict
   the held-out source. Every head is trained blind to the directions that tell its training sources apart
   inside a class (``train_head``). The setting with the best held-out macro-F1 wins, among those that call
   every UTKFace group healthy often enough and about equally often (``choose_head_setting``). Temperatures and the
   uncertain / reject thresholds are fitted on those held-out predictions, never on training sources.
4. ``in_source_split``: the usual stratified split inside the data, reported next to the held-out figures
   (it flatters: same sources on both sides).
5. The final head on all images, optional block-5 fine-tuning, and the artifact (head only, float16,
   referencing the base by id) with its evaluation.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import CLASSES, artifact, augment, calibration, data, decision, metrics, ood, report
from .inference import FeatureExtractor
from .model import (
    HEAD_INPUTS,
    HEAD_LAYERS,
    build_head,
    build_top,
    conv_names,
    get_trained_weights,
    load_base_weights,
)
from .preprocess import InvalidImage, preprocess

#: The top condition must be this far ahead of the second to be a verdict (probability points).
MIN_MARGIN = 0.1
#: Share of held-out skin photos the feature-distance check may refuse (``ml.core.ood``).
MAX_FAR_SKIN = 0.03
#: A head setting is chosen only if every UTKFace group (real faces, judged by heads that never saw UTKFace)
#: is called healthy at least this often: telling healthy people they have a skin disease is the worst error
#: the product can make, so it outranks macro-F1 (when no setting manages it, macro-F1 alone decides).
MIN_GROUP_HEALTHY = 0.85
#: ...and no UTKFace group may be called healthy more than this much more often than another: a model that
#: misjudges one group's healthy skin more than the others' is unfair even above the floor.
MAX_GROUP_GAP = 0.10
#: Head settings compared on held-out sources: (epochs, dropout, L2 weight decay).
HEAD_GRID = ((12, 0.4, 1e-4), (20, 0.5, 3e-4), (30, 0.5, 1e-3), (40, 0.6, 3e-3))


@dataclass
class Dataset:
    """Items that decoded, their preprocessing, labels as indices (conditions, then reject)."""

    items: list
    pres: list
    classes: list  # the conditions
    y: np.ndarray
    bad: list = field(default_factory=list)

    @property
    def n_out(self) -> int:
        return len(self.classes) + 1

    @property
    def sources(self) -> list[str]:
        return [it.source for it in self.items]


class Clock:
    def __init__(self, log):
        self.t0 = time.time()
        self.log = log
        self._next: dict[str, int] = {}

    def __call__(self, msg):
        self.log(f"[{time.time() - self.t0:7.1f}s] {msg}")

    def progress(self, what, done, total, t0, every=20):
        """One line each time ``done`` passes another 1/``every`` of ``total``, and at the end."""
        step = max(1, total // every)
        if done >= self._next.get(what, step) or done == total:
            self._next[what] = (done // step + 1) * step
            rate = done / max(time.time() - t0, 1e-6)
            self(f"{what}: {done}/{total} ({rate:.1f} img/s, ETA {(total - done) / max(rate, 1e-6):.0f}s)")


# -- 1. data ----------------------------------------------------------------------------------
def prepare(data_dirs, negative_dirs, input_size, workers, clock) -> Dataset:
    items = data.collect(data_dirs)
    if not items:
        raise ValueError("no images found")
    present = sorted({it.label for it in items})
    classes = [c for c in CLASSES if c in present] if set(present) <= set(CLASSES) else present
    items += data.collect_negatives(negative_dirs) if negative_dirs else []
    clock(f"{len(items)} images; per source and label: {dict(Counter((it.source, it.label) for it in items))}")

    def prep(it):
        try:
            return preprocess(it.path, size=input_size)
        except InvalidImage:
            return None

    t0 = time.time()
    pres = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as ex:
        for i, p in enumerate(ex.map(prep, items), start=1):
            pres.append(p)
            clock.progress("preprocessing", i, len(items), t0, every=5)
    bad = [it.path for it, p in zip(items, pres, strict=True) if p is None]
    keep = [i for i, p in enumerate(pres) if p is not None]
    items, pres = [items[i] for i in keep], [pres[i] for i in keep]
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index.get(it.label, len(classes)) for it in items])
    return Dataset(items, pres, classes, y, bad)


def face_rates(ds: Dataset) -> dict:
    out = {}
    for src in sorted(set(ds.sources)):
        sel = [p for it, p in zip(ds.items, ds.pres, strict=True) if it.source == src]
        out[src] = {"n": len(sel), "face_rate": round(sum(p.face_found for p in sel) / max(1, len(sel)), 3)}
    return out


# -- 2. features ------------------------------------------------------------------------------
#: What the feature cache keeps: what the head reads (block 5 and block 4, average-pooled); block 5 also feeds
#: the feature-distance check.
POOLED_KINDS = HEAD_INPUTS
HEAD_FEATURES = 512 * len(HEAD_INPUTS)


class PooledFeatures:
    """Frozen VGG16 (blocks 1-5) -> block-5 and block-4 features, average-pooled (512-d each), and, for
    fine-tuning, the block-4 maps.

    The pooled features run on OpenVINO: bfloat16 where the CPU has it; else blocks 1-4 in int8 (the
    committed recipe, as inference runs them) and block 5 in float32; else float32. On a 2-core AVX2 CPU
    float32 managed 3.2 images/s (TensorFlow and OpenVINO alike), which took the feature cache past an hour;
    int8 blocks 1-4 run twice as fast there. Fine-tuning needs the block-4 maps for TensorFlow, so
    ``keep_block4`` runs blocks 1-4 there as before."""

    def __init__(self, input_size, base, n_out, n_features=HEAD_FEATURES, keep_block4=False, base_id=None):
        self.keep_block4 = keep_block4
        self.top = build_top(input_size, n_out, base, n_features=n_features) if keep_block4 else None
        if keep_block4:
            import keras
            import tensorflow as tf

            self.extractor = FeatureExtractor(input_size, base, fast=True)
            self.dtype = f"TensorFlow {self.extractor.dtype}"
            pool5 = keras.Model(self.top.input, self.top.get_layer("block5_pool").output)
            self._pool5 = tf.function(lambda x: pool5(x, training=False), reduce_retracing=True, autograph=False)
            return
        import openvino as ov
        import openvino.properties.hint as hints

        from .openvino_net import build_model, cpu_has_bf16, int8_recipe

        core = ov.Core()
        bf16 = cpu_has_bf16()
        recipe = None if bf16 else int8_recipe(base_id)
        config = {hints.inference_precision: ov.Type.bf16 if bf16 else ov.Type.f32}
        if recipe is not None:
            models = [
                build_model(input_size, base, {}, n_out, part="trunk", int8=recipe),
                build_model(input_size, base, {}, n_out, part="pooled_top"),
            ]
            self.dtype = "OpenVINO int8 blocks 1-4, float32 block 5"
        else:
            models = [build_model(input_size, base, {}, n_out, part="pooled")]
            self.dtype = f"OpenVINO {'bfloat16' if bf16 else 'float32'}"
        self._stages = [core.compile_model(model, "CPU", config) for model in models]

    def __call__(self, crops):
        """-> ({"gap5", "gap4"}: average-pooled block-5 and block-4 features, block-4 maps or None)."""
        if not self.keep_block4:
            x = np.ascontiguousarray(crops, np.uint8)
            for stage in self._stages[:-1]:
                x = np.array(stage(x)[0])
            out = self._stages[-1](x)
            return {"gap5": np.array(out["gap5"]), "gap4": np.array(out["gap4"])}, None
        import tensorflow as tf

        block4 = self.extractor(crops)
        pool5 = self._pool5(tf.constant(block4, tf.float32)).numpy()
        return {"gap5": pool5.mean(axis=(1, 2)), "gap4": block4.mean(axis=(1, 2))}, block4


def cache_features(ds: Dataset, feats: PooledFeatures, views: int, rng, clock, keep_block4=False):
    """-> {kind: (N, views, 512) float32} (``POOLED_KINDS``) and,
    when asked, block-4 maps (N, views, h, w, 512) float16."""
    n = len(ds.items)
    pooled = {k: np.zeros((n, views, 512), np.float32) for k in POOLED_KINDS}
    block4 = None
    crops = np.stack([p.crop for p in ds.pres])
    t0, done, chunk = time.time(), 0, 32
    for v in range(views):
        for s in range(0, n, chunk):
            idx = range(s, min(n, s + chunk))
            if v == 0:
                batch = crops[s : s + chunk]
            else:
                batch = np.stack([augment.augment(crops[i], rng, face_found=ds.pres[i].face_found) for i in idx])
            p, b4 = feats(batch)
            for k in POOLED_KINDS:
                pooled[k][s : s + len(idx), v] = p[k]
            if keep_block4:
                if block4 is None:
                    block4 = np.zeros((n, views, *b4.shape[1:]), np.float16)
                block4[s : s + len(idx), v] = b4.astype(np.float16)
            done += len(idx)
            clock.progress("caching VGG16 features", done, n * views, t0)
    return pooled, block4


# -- 3. the head ------------------------------------------------------------------------------
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


def sample_weights(y, sources, n_out) -> np.ndarray:
    """Each output class weighs the same in total; inside a class, sources weigh by the square root of
    their size, so one large source cannot decide what a class looks like."""
    y = np.asarray(y)
    w = np.zeros(len(y), np.float64)
    for k in range(n_out):
        sel = np.flatnonzero(y == k)
        if not len(sel):
            continue
        counts = Counter(sources[i] for i in sel)
        raw = np.array([1.0 / np.sqrt(counts[sources[i]]) for i in sel])
        w[sel] = raw / raw.sum()
    present = len(set(y.tolist()))
    return (w * len(y) / max(1, present)).astype(np.float32)


def fit_head(x, y, w, n_out, setting, seed, lr=1e-3):
    """Train the head (Dense(256, relu) -> Dense(n_out)) on pooled features; -> head weights."""
    import keras

    epochs, dropout, l2 = setting
    keras.utils.set_random_seed(seed)
    head = build_head(n_out, dropout=dropout, l2=l2, n_features=x.shape[1])
    head.compile(optimizer=keras.optimizers.Adam(lr), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    head.fit(x, y, sample_weight=w, epochs=epochs, batch_size=128, verbose=0, shuffle=True)
    out = {}
    for lname in HEAD_LAYERS:
        out[f"{lname}/kernel"], out[f"{lname}/bias"] = head.get_layer(lname).get_weights()
    return out


def head_logits(weights, x) -> np.ndarray:
    """The head's forward pass in numpy (inference mode: dropout off)."""
    pen = np.maximum(x @ weights["head_dense/kernel"] + weights["head_dense/bias"], 0.0)
    return (pen @ weights["head_logits/kernel"] + weights["head_logits/bias"]).astype(np.float64)


def source_directions(x, y, sources, idx) -> np.ndarray:
    """Directions that tell sources apart inside a class, from the rows ``idx`` of ``x`` (N, D): for each
    class with two or more sources there, every source's mean minus the class mean. -> orthonormal columns
    (D, k); k is small (about one per extra source in a class)."""
    sources, idx = np.asarray(sources), np.asarray(idx)
    diffs = []
    for c in np.unique(y[idx]):
        sel = idx[y[idx] == c]
        names = sorted(set(sources[sel].tolist()))
        if len(names) < 2:
            continue
        class_mean = x[sel].mean(axis=0)
        diffs += [x[sel[sources[sel] == name]].mean(axis=0) - class_mean for name in names]
    if not diffs:
        return np.zeros((x.shape[-1], 0), np.float32)
    u, sv, _ = np.linalg.svd(np.stack(diffs).T.astype(np.float64), full_matrices=False)
    return u[:, sv > 1e-6 * sv.max()].astype(np.float32)


def project_out(x, q) -> np.ndarray:
    """``x`` without its components along the orthonormal columns of ``q`` (last axis)."""
    return (x - (x @ q) @ q.T).astype(np.float32) if q.shape[1] else x


def fold_projection(weights: dict, q) -> dict:
    """A head trained on ``project_out(x, q)`` -> the same head on ``x``: ``W' = W - q (q^T W)``."""
    k = np.asarray(weights["head_dense/kernel"], np.float64)
    return {**weights, "head_dense/kernel": (k - q @ (q.T @ k)).astype(np.float32)}


def train_head(x_head, ds: Dataset, idx, setting, seed) -> tuple[dict, int]:
    """The head on the images ``idx`` (every view), blind to the directions that tell their sources apart
    inside a class (``source_directions``): a class must be learnt from what its sources share, not from
    one source's camera, retouching or GAN look. The projection is folded into the first layer, so the
    weights read ``x_head`` as it is. -> (weights, number of directions removed)."""
    idx = np.asarray(idx)
    q = source_directions(x_head[:, 0], ds.y, ds.sources, idx)
    x, yy, ss = _train_rows(x_head, ds.y, ds.sources, idx)
    x = project_out(x, q)
    weights = fit_head(x, yy, sample_weights(yy, ss, ds.n_out), ds.n_out, setting, seed)
    return fold_projection(weights, q), q.shape[1]


def _train_rows(pooled, y, sources, idx):
    v = pooled.shape[1]
    x = pooled[idx].reshape(-1, pooled.shape[-1])
    yy = np.repeat(y[idx], v)
    ss = [sources[i] for i in idx for _ in range(v)]
    return x, yy, ss


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


# -- calibration and the decision -------------------------------------------------------------
def fit_calibration(ds: Dataset, logits, distances=None) -> dict:
    """Temperatures and thresholds from held-out logits (``leave_one_source_out``) and, where given, held-out
    feature distances (``leave_one_source_out_distances``)."""
    n = len(ds.classes)
    skin = ds.y < n
    temperature = calibration.fit_temperature(logits[skin][:, :n], ds.y[skin])
    is_reject = (ds.y == n).astype(int)
    reject_temperature = calibration.fit_temperature(logits, np.where(is_reject == 1, n, ds.y))
    cond, reject = calibration.split_scores(logits, n, temperature, reject_temperature)
    # reject: let at most 3% of held-out non-skin photos through, as long as it refuses at most 3% of skin
    # (a 5%/5% rule was tried: 11.6% instead of 13.2% of non-skin photos got a class, but 6% instead of 3.4%
    # of real healthy faces were refused, and one UTKFace group fell below 85% called healthy)
    neg, pos = reject[~skin], reject[skin]
    reject_t = 0.5
    if len(neg):
        reject_t = float(np.clip(np.quantile(neg, 0.03), 0.05, 0.95))
        if len(pos) and (pos >= reject_t).mean() > 0.03:
            reject_t = float(max(reject_t, np.quantile(pos, 0.97)))
    thresholds = decision.default_thresholds()
    thresholds["reject"] = reject_t
    if distances is not None:
        # refuse what lies further from the skin photos than all but MAX_FAR_SKIN of held-out skin photos
        thresholds["max_feature_distance"] = float(np.quantile(distances[skin], 1.0 - MAX_FAR_SKIN))
    noface_skin = [p.skin_ratio for p, s in zip(ds.pres, skin, strict=True) if s and not p.face_found]
    if noface_skin:
        thresholds["min_skin_ratio_no_face"] = float(
            np.clip(np.quantile(noface_skin, 0.01), 0.05, decision.MIN_SKIN_RATIO_NO_FACE)
        )
    # uncertain: the top-probability floor and margin with the best held-out macro-F1 on skin photos. The
    # margin is at least MIN_MARGIN whatever the score says: "Eczema 50% / Acne 48%" is not a verdict, and
    # macro-F1 alone (an abstention counts as a miss) would always prefer to guess.
    best = (-1.0, 0.4, MIN_MARGIN)
    for floor in np.arange(0.35, 0.81, 0.05):
        for margin in (MIN_MARGIN, 0.15, 0.2):
            t = {**thresholds, "uncertain": float(floor), "margin": margin}
            preds = decide_all(ds, cond, reject, t, only=skin, distances=distances)
            f1 = metrics.summarize([ds.classes[k] for k in ds.y[skin]], preds, ds.classes)["macro_f1"]
            if f1 > best[0] + 1e-4:
                best = (f1, float(round(floor, 2)), margin)
    thresholds["uncertain"], thresholds["margin"] = best[1], best[2]
    return {"temperature": temperature, "reject_temperature": reject_temperature, "thresholds": thresholds}


def decide_all(ds: Dataset, cond, reject, thresholds, only=None, distances=None) -> list[str]:
    idx = range(len(ds.items)) if only is None else np.flatnonzero(only)
    far = np.zeros(len(ds.items)) if distances is None else distances
    return [
        decision.decide(
            list(cond[i]),
            ds.classes,
            {**decision.signals(ds.pres[i]), "feature_distance": float(far[i])},
            float(reject[i]),
            thresholds,
        )[0]
        for i in idx
    ]


def full_report(ds: Dataset, logits, cal: dict, idx=None, distances=None) -> dict:
    """Figures for the images ``idx`` (all by default): conditions, refusal of non-skin, skin-tone groups."""
    idx = np.arange(len(ds.items)) if idx is None else np.asarray(idx)
    far = None if distances is None else np.asarray(distances)[idx]
    n = len(ds.classes)
    cond, reject = calibration.split_scores(logits[idx], n, cal["temperature"], cal["reject_temperature"])
    sub = Dataset([ds.items[i] for i in idx], [ds.pres[i] for i in idx], ds.classes, ds.y[idx])
    preds = decide_all(sub, cond, reject, cal["thresholds"], distances=far)
    skin = sub.y < n
    skin_items = [it for it, s in zip(sub.items, skin, strict=True) if s]
    groups = {
        "tone": [report.ita_group(p.extras.get("ita")) for p, s in zip(sub.pres, skin, strict=True) if s],
        "utkface_group": [report.utkface_group(it.path) for it in skin_items],
    }
    rep = report.evaluation_report(
        skin_items, [p for p, s in zip(preds, skin, strict=True) if s], cond[skin], ds.classes, groups
    )
    rep["refusal"] = report.refusal_report(
        [it.source for it, s in zip(sub.items, skin, strict=True) if not s],
        [p for p, s in zip(preds, skin, strict=True) if not s],
    )
    rep["skin_refused"] = float(np.mean([p == "no_skin" for p, s in zip(preds, skin, strict=True) if s]))
    return rep


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


# -- 4. in-source split ------------------------------------------------------------------------
def in_source_split(ds: Dataset, x_head, pooled, setting, cal, seed, test_frac):
    """The head trained on ``x_head`` of a stratified split; feature distances from ``pooled`` (block 5)."""
    split = data.stratified_split(ds.items, test_frac, 0.0, seed)
    tr, te = np.array(split["train"]), np.array(split["test"])
    weights, _ = train_head(x_head, ds, tr, setting, seed)
    logits = np.zeros((len(ds.items), ds.n_out))
    logits[te] = head_logits(weights, x_head[te, 0])
    distances = np.zeros(len(ds.items))
    distances[te] = ood.score(pooled[te, 0], skin_statistics(ds, pooled, tr))
    return full_report(ds, logits, cal, te, distances), te


# -- 5. optional block-5 fine-tuning ---------------------------------------------------------------
def fine_tune_block5(top, block4, ds: Dataset, epochs, lr, seed, clock, batch_size=32):
    """Fine-tune block 5 + head on cached block-4 maps (one random view per image per epoch)."""
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    for layer in top.layers:
        layer.trainable = layer.name.startswith("block5_conv") or layer.name.startswith("head_")
    opt = keras.optimizers.Adam(lr)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    w_all = sample_weights(ds.y, ds.sources, ds.n_out)
    trainable = top.trainable_variables

    @tf.function(reduce_retracing=True, autograph=False)
    def step(x, y, w):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, top(x, training=True)[2], sample_weight=w)
        opt.apply_gradients(zip(tape.gradient(loss, trainable), trainable, strict=True))
        return loss

    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(ds.items))
        views = rng.integers(0, block4.shape[1], size=len(order))
        losses = []
        for s in range(0, len(order), batch_size):
            b = order[s : s + batch_size]
            losses.append(
                float(step(tf.constant(block4[b, views[b]], tf.float32), tf.constant(ds.y[b]), tf.constant(w_all[b])))
            )
        clock(f"fine-tune epoch {epoch}/{epochs}: loss {np.mean(losses):.4f}")
    return get_trained_weights(top, (*conv_names([5]), *HEAD_LAYERS))


# -- the whole run ------------------------------------------------------------------------------
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
    log=print,
):
    """Train, select and calibrate on held-out sources, and write the artifact to ``out_dir``."""
    clock = Clock(log)
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    name = name or out_dir.name
    ds = prepare(data_dirs, negative_dirs, input_size, workers, clock)
    rates = face_rates(ds)
    clock(f"preprocessed; {len(ds.bad)} undecodable; face-found rate per source: {json.dumps(rates)}")

    base, base_id = load_base_weights(base_weights_path)
    feats = PooledFeatures(input_size, base, ds.n_out, keep_block4=fine_tune_epochs > 0, base_id=base_id)
    clock(f"feature extractor: {feats.dtype}")
    cache = _feature_cache_path(cache_dir, ds, input_size, views, seed, base_id, feats.dtype)
    if cache and cache.is_file() and not fine_tune_epochs:
        with np.load(cache) as npz:
            all_pooled, block4 = {k: npz[k] for k in POOLED_KINDS}, None
        clock(f"VGG16 features read from {cache}")
    else:
        all_pooled, block4 = cache_features(ds, feats, views, rng, clock, keep_block4=fine_tune_epochs > 0)
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, **all_pooled)
    pooled, (x_head, mean, std) = all_pooled["gap5"], head_features(all_pooled)

    n_sources = len(set(ds.sources))
    selection = []
    if n_sources > 1:
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
    else:  # one source: nothing to hold out; calibrate on the in-source split (and say so)
        setting = head_grid[0]
        split = data.stratified_split(ds.items, 0.3, 0.0, seed)
        w, _ = train_head(x_head, ds, np.array(split["train"]), setting, seed)
        oof = head_logits(w, x_head[:, 0])
        cal = fit_calibration(ds, oof, ood.score(pooled[:, 0], skin_statistics(ds, pooled, split["train"])))
        loso = None
    clock(f"chosen head setting {setting}; calibration {json.dumps(cal)}")

    in_source, test_idx = in_source_split(ds, x_head, pooled, setting, cal, seed, test_frac)
    clock(f"in-source split: macro-F1 {in_source['macro_f1']:.3f}, ECE {in_source['ece']:.3f}")

    head, n_source_directions = train_head(x_head, ds, np.arange(len(ds.items)), setting, seed)
    trained = fold_standardisation(head, mean, std)
    trained_layers = "head"
    if fine_tune_epochs > 0:
        top = feats.top
        for lname in HEAD_LAYERS:
            top.get_layer(lname).set_weights([trained[f"{lname}/kernel"], trained[f"{lname}/bias"]])
        trained = fine_tune_block5(top, block4, ds, fine_tune_epochs, fine_tune_lr, seed, clock)
        trained_layers = "block5 + head"
    shipped = {k: v.astype(np.float16).astype(np.float32) for k, v in trained.items()}
    skin_stats = skin_statistics(ds, pooled, np.arange(len(ds.items)))

    evaluation = {
        "leave_one_source_out": loso,
        "in_source_split": in_source,
        "face_detection_rate": rates,
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
    metadata = _metadata(name, ds, cal, setting, evaluation, run)
    artifact.save(
        out_dir,
        shipped,
        metadata,
        extra_arrays={"ood_means": skin_stats["means"], "ood_precision": skin_stats["precision"]},
    )
    data.write_list(out_dir / "heldout_test.csv", [ds.items[i] for i in test_idx])
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


def _feature_cache_path(cache_dir, ds: Dataset, input_size, views, seed, base_id, dtype=""):
    """Where the pooled features of this exact run live (images, preprocessing, views, seed, base, the
    extractor's precision)."""
    if not cache_dir:
        return None
    import hashlib

    h = hashlib.sha256(f"{input_size}|{views}|{seed}|{base_id}|{','.join(POOLED_KINDS)}|{dtype}".encode())
    for it, p in zip(ds.items, ds.pres, strict=True):
        h.update(f"{it.path}|{it.label}|{p.box}|{p.face_found}".encode())
    return Path(cache_dir) / f"features-{h.hexdigest()[:16]}.npz"


def format_evaluation(evaluation) -> str:
    parts = []
    if evaluation.get("leave_one_source_out"):
        parts.append(report.format_report(evaluation["leave_one_source_out"], "== leave one source out =="))
    parts.append(report.format_report(evaluation["in_source_split"], "== in-source split (flatters) =="))
    rates = ", ".join(f"{s} {r['face_rate']:.2f}" for s, r in evaluation.get("face_detection_rate", {}).items())
    parts.append(f"face found per source: {rates}\n")
    return "\n".join(parts)


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _metadata(name, ds: Dataset, cal: dict, setting, evaluation: dict, run: dict) -> dict:
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
        "base_weights_file": Path(run["base_path"]).name
        if run["base_path"]
        else "ml/weights/vgg16_imagenet_notop_fp16.npz",
        "temperature": cal["temperature"],
        "reject_temperature": cal["reject_temperature"],
        "thresholds": cal["thresholds"],
        "trained_layers": f"{run['trained_layers']} (float16)",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "training": {
            "head_setting": {"epochs": setting[0], "dropout": setting[1], "l2": setting[2]},
            "views": run["views"],
            "seed": run["seed"],
            "fine_tune_epochs": run["fine_tune_epochs"],
            "source_directions_removed": run["source_directions_removed"],
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
