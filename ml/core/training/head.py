"""The head (Dense(256, ReLU) -> Dense(n)) on pooled features and how one is trained: classes balanced,
large sources damped, blind to the directions that tell a class's sources apart."""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..model import HEAD_LAYERS, build_head
from .prepare import Dataset


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
    x, yy, ss = train_rows(x_head, ds.y, ds.sources, idx)
    x = project_out(x, q)
    weights = fit_head(x, yy, sample_weights(yy, ss, ds.n_out), ds.n_out, setting, seed)
    return fold_projection(weights, q), q.shape[1]

def train_rows(pooled, y, sources, idx):
    v = pooled.shape[1]
    x = pooled[idx].reshape(-1, pooled.shape[-1])
    yy = np.repeat(y[idx], v)
    ss = [sources[i] for i in idx for _ in range(v)]
    return x, yy, ss
