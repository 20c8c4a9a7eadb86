"""Dataset listing (``DIR/<class>/*`` with an optional ``DIR/manifest.csv``) and the stratified split."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


@dataclass(frozen=True)
class Item:
    path: str  # absolute path
    label: str
    source: str


def _source_from_name(name: str) -> str:
    return name.split("__", 1)[0] if "__" in name else "unknown"


def collect(data_dirs, classes=None) -> list[Item]:
    """Images under each ``DIR/<class>/``; sources from ``DIR/manifest.csv`` (path,label,source) if present,
    else from a ``<source>__<name>`` file-name prefix, else "unknown"."""
    if isinstance(data_dirs, (str, Path)):
        data_dirs = [data_dirs]
    items: list[Item] = []
    seen = set()
    for d in data_dirs:
        root = Path(d).resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"data directory not found: {root}")
        manifest = {}
        mpath = root / "manifest.csv"
        if mpath.exists():
            with open(mpath, newline="") as fh:
                for row in csv.DictReader(fh):
                    p = (root / row["path"]).resolve()
                    manifest[str(p)] = (row.get("label") or p.parent.name, row.get("source") or "unknown")
        for cdir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if classes is not None and cdir.name not in classes:
                continue
            for f in sorted(cdir.iterdir()):
                if f.suffix.lower() not in IMAGE_EXTS or not f.is_file():
                    continue
                key = str(f.resolve())
                if key in seen:
                    continue
                seen.add(key)
                source = manifest.get(key, (None, _source_from_name(f.name)))[1]
                items.append(Item(key, cdir.name, source))
    return items


#: The label of photos with no face or skin (the model's fifth, rejecting output).
REJECT_LABEL = "not_skin"


def collect_negatives(neg_dirs) -> list[Item]:
    """Photos with no face or skin: every image directly in ``DIR`` (sources from ``DIR/manifest.csv``
    (path,source) or a ``<source>__`` file-name prefix), labelled ``REJECT_LABEL``."""
    if isinstance(neg_dirs, (str, Path)):
        neg_dirs = [neg_dirs]
    items = []
    for d in neg_dirs:
        root = Path(d).resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"negatives directory not found: {root}")
        sources = {}
        if (root / "manifest.csv").exists():
            with open(root / "manifest.csv", newline="") as fh:
                sources = {str((root / r["path"]).resolve()): r.get("source") or "unknown" for r in csv.DictReader(fh)}
        for f in sorted(root.iterdir()):
            if f.is_file() and f.suffix.lower() in IMAGE_EXTS:
                key = str(f.resolve())
                items.append(Item(key, REJECT_LABEL, sources.get(key, _source_from_name(f.name))))
    return items


def key(path) -> str:
    """How lists and decisions name an image: ``<folder>/<file>``."""
    return _key(path)


def _key(path) -> str:
    p = Path(path)
    return f"{p.parent.name}/{p.name}"


def filter_items(items, subset_csv) -> list[Item]:
    """Keep the items listed in a CSV with a ``path`` column (``<class>/<file>`` or absolute paths)."""
    with open(subset_csv, newline="") as f:
        keep = {_key(r["path"]) for r in csv.DictReader(f)}
    return [it for it in items if _key(it.path) in keep]


def stratified_split(items, test_frac=0.15, val_frac=0.15, seed=0):
    """Split by (label, source) groups so every source is represented in val and test."""
    groups = defaultdict(list)
    for i, it in enumerate(items):
        groups[(it.label, it.source)].append(i)
    rng = np.random.default_rng(seed)
    split = {"train": [], "val": [], "test": []}
    for key in sorted(groups):
        idx = list(groups[key])
        rng.shuffle(idx)
        n = len(idx)
        n_test = int(round(n * test_frac)) if n >= 3 else 0
        n_val = int(round(n * val_frac)) if n >= 3 else 0
        if n >= 3:
            n_test, n_val = max(1, n_test), max(1, n_val)
        split["test"] += idx[:n_test]
        split["val"] += idx[n_test : n_test + n_val]
        split["train"] += idx[n_test + n_val :]
    return {k: sorted(v) for k, v in split.items()}


def write_list(path, items) -> None:
    """A manifest-style list (``path`` as ``<class>/<file>``, relative to the data directory)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "source"])
        for it in items:
            w.writerow([_key(it.path), it.label, it.source])


#: The label audit's decisions (``ml.core.label_audit``), read by training: ``path`` (``<folder>/<file>``, as
#: ``write_list`` writes it), ``decision`` (``exclude`` or ``relabel``; ``keep`` rows record what was looked at
#: and left alone), ``label`` (the new label of a relabel) and ``reason``.
LABEL_DECISIONS = Path(__file__).resolve().parents[1] / "audit" / "label_decisions.csv"
DECISIONS = ("keep", "exclude", "relabel")


def read_label_decisions(path) -> dict[str, tuple[str, str]]:
    """{``<folder>/<file>``: (decision, new label)} from a decisions CSV; unknown decisions are an error."""
    out = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            decision = row["decision"].strip()
            if decision not in DECISIONS:
                raise ValueError(f"{path}: unknown decision {decision!r} for {row['path']}")
            if decision == "relabel" and not row.get("label", "").strip():
                raise ValueError(f"{path}: relabel without a label for {row['path']}")
            out[row["path"].strip()] = (decision, (row.get("label") or "").strip())
    return out


def apply_label_decisions(items, decisions: dict) -> tuple[list[Item], dict[str, int]]:
    """Items without the excluded ones and with the relabelled ones' new labels; -> (items, counts)."""
    out, counts = [], {"excluded": 0, "relabelled": 0}
    for it in items:
        decision, label = decisions.get(_key(it.path), ("keep", ""))
        if decision == "exclude":
            counts["excluded"] += 1
            continue
        if decision == "relabel" and label != it.label:
            counts["relabelled"] += 1
            it = Item(it.path, label, it.source)
        out.append(it)
    return out, counts
