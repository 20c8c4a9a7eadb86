"""Phase 1, prepare: list the images, decode and preprocess each once (BlazeFace face crop with the face oval
kept, or a central crop); photos with no face or skin join as a fifth, rejecting class."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .. import CLASSES, data
from ..preprocess import InvalidImage, preprocess


@dataclass
class Dataset:
    """Items that decoded, their preprocessing, labels as indices (conditions, then reject)."""

    items: list
    pres: list
    classes: list  # the conditions
    y: np.ndarray
    bad: list = field(default_factory=list)
    label_decisions: dict = field(default_factory=dict)  # {"excluded": n, "relabelled": n}

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

def prepare(data_dirs, negative_dirs, input_size, workers, clock, label_decisions=None) -> Dataset:
    """``label_decisions``: a decisions CSV (``data.read_label_decisions``) applied to every image listed."""
    items = data.collect(data_dirs)
    if not items:
        raise ValueError("no images found")
    items += data.collect_negatives(negative_dirs) if negative_dirs else []
    audit = {"excluded": 0, "relabelled": 0}
    if label_decisions:
        items, audit = data.apply_label_decisions(items, data.read_label_decisions(label_decisions))
        clock(f"label decisions from {label_decisions}: {audit['excluded']} excluded, {audit['relabelled']} relabelled")
    present = sorted({it.label for it in items if it.label != data.REJECT_LABEL})
    classes = [c for c in CLASSES if c in present] if set(present) <= set(CLASSES) else present
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
    return Dataset(items, pres, classes, y, bad, audit)

def face_rates(ds: Dataset) -> dict:
    out = {}
    for src in sorted(set(ds.sources)):
        sel = [p for it, p in zip(ds.items, ds.pres, strict=True) if it.source == src]
        out[src] = {"n": len(sel), "face_rate": round(sum(p.face_found for p in sel) / max(1, len(sel)), 3)}
    return out
