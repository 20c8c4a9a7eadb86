"""Training the lesion head (``ml.core.lesion_model``) on ACNE04's marked lesions.

1. Photos: every ACNE04 photo with its boxes and grade (``acne04_lesions.csv``, ``acne04_grades.csv`` in the
   data folder), split by photo into train / choose / test, stratified by grade (ACNE04 is one source: the
   held-out photos are other photos of it, never the whole set); healthy faces of the other sources as
   photos with no lesions, split the same way.
2. Crops: each photo through ``preprocess`` exactly as inference sees it (the face crop, the face oval
   masked), its boxes mapped into the crop; lesions the mask hides are no target. Mosaics of 2x2 and 3x3
   photos (ACNE04 and healthy tiles side by side) teach smaller lesions (a selfie shows the whole face, so
   a lesion covers fewer pixels than in ACNE04's close-ups) and that a lesion is a local thing, not a
   source's look.
3. Features: block4_conv3 maps of every crop on the inference runtime's own path (OpenVINO, the precision
   ``choose_precision`` picks), so the head learns the maps it will read.
4. The head (Keras, float32): 1x1 conv to ``hidden``, 3x3 conv, 1x1 to a centre logit and a log box size;
   CenterNet's focal loss on the centre heatmap, L1 on the sizes.
5. Choice: the centre threshold that gives the lowest count error on the choosing photos (ACNE04 and
   healthy), then the figures on the test photos.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .. import lesion_eval
from ..lesion_model import STRIDE, LesionHead, heatmap_targets
from ..lesions import HAYASHI_UPPER, grade_of
from ..preprocess import face_oval_mask, load_rgb, preprocess

logger = logging.getLogger(__name__)

LESIONS_CSV = "acne04_lesions.csv"
GRADES_CSV = "acne04_grades.csv"
#: Healthy sources whose faces serve as photos with no lesions (real, retouched and synthetic faces).
NEGATIVE_SOURCES = ("utkface", "normal_stock_faces_charvikm45", "synthetic_faces_rishik15")


@dataclass
class LesionPhoto:
    path: str
    boxes: np.ndarray  # (n, 4) x0, y0, x1, y1 in the photo's pixels
    grade: int | None
    source: str
    split: str = ""


@dataclass
class Crop:
    """One training input: a crop as inference sees it, its lesions in crop pixels, where it shows the photo."""

    crop: np.ndarray
    centres: np.ndarray
    sizes: np.ndarray
    visible: np.ndarray  # (grid, grid) in [0, 1]
    photo: LesionPhoto | None = None
    box: tuple = (0, 0, 1, 1)
    extras: dict = field(default_factory=dict)


def has_lesion_data(data_dir) -> bool:
    return (Path(data_dir) / LESIONS_CSV).is_file() and (Path(data_dir) / GRADES_CSV).is_file()


def _split_of(path: str, grade_key: str, fractions=(0.7, 0.15)) -> str:
    """A photo's split from a hash of its name (stable across runs and machines)."""
    h = int(hashlib.sha256(f"{grade_key}:{Path(path).name}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "train" if h < fractions[0] else "choose" if h < fractions[0] + fractions[1] else "test"


def read_lesion_photos(data_dir) -> list[LesionPhoto]:
    """ACNE04's photos with their boxes and grades, each with its split."""
    root = Path(data_dir)
    boxes: dict[str, list] = {}
    with open(root / LESIONS_CSV, newline="") as fh:
        for row in csv.DictReader(fh):
            boxes.setdefault(row["path"], []).append([float(row[k]) for k in ("x0", "y0", "x1", "y1")])
    photos = []
    with open(root / GRADES_CSV, newline="") as fh:
        for row in csv.DictReader(fh):
            path = str(root / row["path"])
            grade = int(row["grade"])
            photos.append(
                LesionPhoto(
                    path,
                    np.asarray(boxes.get(row["path"], []), np.float32).reshape(-1, 4),
                    grade,
                    "acne04_roboflow",
                    _split_of(path, f"g{grade}"),
                )
            )
    return photos


def read_negative_photos(data_dir, per_source: int = 200, seed: int = 0) -> list[LesionPhoto]:
    """Healthy faces with no lesions, ``per_source`` of each of ``NEGATIVE_SOURCES``, each with its split."""
    root = Path(data_dir)
    by_source: dict[str, list[str]] = {}
    with open(root / "manifest.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["label"] == "healthy" and row["source"] in NEGATIVE_SOURCES:
                by_source.setdefault(row["source"], []).append(row["path"])
    rng = np.random.default_rng(seed)
    photos = []
    for source, paths in sorted(by_source.items()):
        for rel in rng.permutation(sorted(paths))[:per_source]:
            path = str(root / rel)
            photos.append(LesionPhoto(path, np.zeros((0, 4), np.float32), None, source, _split_of(path, source)))
    return photos


def photo_crop(photo: LesionPhoto, size: int) -> Crop:
    """The photo as inference crops it, its lesions mapped into the crop (hidden ones dropped)."""
    pre = preprocess(photo.path, size=size)
    x0, y0, x1, _y1 = pre.box
    k = size / max(1, x1 - x0)
    b = photo.boxes
    centres = np.stack([((b[:, 0] + b[:, 2]) / 2 - x0) * k, ((b[:, 1] + b[:, 3]) / 2 - y0) * k], axis=1)
    sizes = np.stack([(b[:, 2] - b[:, 0]) * k, (b[:, 3] - b[:, 1]) * k], axis=1)
    grid = size // STRIDE
    visible = visible_cells(pre, size)
    keep = np.array([_visible_at(visible, c, size) for c in centres], bool) if len(centres) else np.zeros(0, bool)
    return Crop(
        pre.crop,
        centres[keep],
        sizes[keep],
        visible,
        photo,
        pre.box,
        {"face_found": pre.face_found, "grid": grid, "scale": 1.0},
    )


def visible_cells(pre, size: int) -> np.ndarray:
    """(size/8, size/8) weights of where a crop shows the photo: the face oval where a face was found."""
    grid = size // STRIDE
    if pre.oval is None:
        return np.ones((grid, grid), np.float32)
    mask = face_oval_mask(size, pre.oval[:2], pre.oval[2:])
    return cv2.resize(mask, (grid, grid), interpolation=cv2.INTER_AREA)


def _visible_at(visible: np.ndarray, centre, size: int) -> bool:
    grid = visible.shape[0]
    gx, gy = int(centre[0] * grid / size), int(centre[1] * grid / size)
    return 0 <= gx < grid and 0 <= gy < grid and visible[gy, gx] > 0.5


def _square(rgb: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int]]:
    h, w = rgb.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    return rgb[y0 : y0 + side, x0 : x0 + side], (x0, y0, side)


def mosaic_crop(photos: list[LesionPhoto], k: int, size: int) -> Crop:
    """``k`` x ``k`` photos (centre squares) side by side in one ``size`` crop, their lesions scaled with them."""
    tile = size // k
    crop = np.zeros((size, size, 3), np.uint8)
    centres, sizes = [], []
    for i, photo in enumerate(photos[: k * k]):
        square, (x0, y0, side) = _square(load_rgb(photo.path))
        ty, tx = divmod(i, k)
        crop[ty * tile : (ty + 1) * tile, tx * tile : (tx + 1) * tile] = cv2.resize(
            square, (tile, tile), interpolation=cv2.INTER_AREA
        )
        s = tile / side
        for bx0, by0, bx1, by1 in photo.boxes:
            cx, cy = ((bx0 + bx1) / 2 - x0) * s, ((by0 + by1) / 2 - y0) * s
            if 0 <= cx < tile and 0 <= cy < tile:
                centres.append((tx * tile + cx, ty * tile + cy))
                sizes.append(((bx1 - bx0) * s, (by1 - by0) * s))
    grid = size // STRIDE
    return Crop(
        crop,
        np.asarray(centres, np.float32).reshape(-1, 2),
        np.asarray(sizes, np.float32).reshape(-1, 2),
        np.ones((grid, grid), np.float32),
        None,
        (0, 0, size, size),
        {"mosaic": k},
    )


def mosaics(
    acne: list[LesionPhoto], healthy: list[LesionPhoto], n: int, size: int, seed: int = 0, acne_share: float = 0.6
) -> list[Crop]:
    """``n`` mosaics, two thirds 2x2 and one third 3x3, each tile ACNE04 with probability ``acne_share``."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        k = 3 if i % 3 == 2 else 2
        tiles = [
            acne[rng.integers(len(acne))]
            if (rng.random() < acne_share or not healthy)
            else healthy[rng.integers(len(healthy))]
            for _ in range(k * k)
        ]
        out.append(mosaic_crop(tiles, k, size))
    return out


class MapsExtractor:
    """uint8 crops -> block4_conv3 maps (N, 512, S/8, S/8) on the inference runtime's path (float16 kept)."""

    def __init__(self, input_size: int, base, base_id: str, precision: str | None = None):
        from ..openvino_net import OpenVINONet, build_model, choose_precision, int8_recipe

        self.precision = choose_precision(precision, base_id)
        recipe = int8_recipe(base_id) if self.precision == "int8" else None
        stage_precision = "int8" if recipe is not None else ("f32" if self.precision == "f32" else "bf16")
        self.net = OpenVINONet([(build_model(input_size, base, {}, 0, part="maps4", int8=recipe), stage_precision)])

    def __call__(self, crops: np.ndarray, batch: int = 8) -> np.ndarray:
        outs = [self.net.outputs(crops[i : i + batch])["maps4"].astype(np.float16) for i in range(0, len(crops), batch)]
        return np.concatenate(outs) if outs else np.zeros((0, 512, 1, 1), np.float16)


def features(crops: list[Crop], extractor: MapsExtractor, progress=None, batch: int = 8) -> np.ndarray:
    out = []
    for i in range(0, len(crops), batch):
        out.append(extractor(np.stack([c.crop for c in crops[i : i + batch]]), batch))
        if progress:
            progress(min(i + batch, len(crops)), len(crops))
    return np.concatenate(out)


def targets(crops: list[Crop], size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    grid = size // STRIDE
    heat, size_t, mask = zip(*(heatmap_targets(c.centres, c.sizes, grid, size / grid) for c in crops), strict=True)
    return np.stack(heat), np.stack(size_t), np.stack(mask)


def fit_head(
    maps: np.ndarray,
    heat: np.ndarray,
    size_t: np.ndarray,
    size_mask: np.ndarray,
    hidden: int = 64,
    epochs: int = 40,
    lr: float = 1e-3,
    seed: int = 0,
    progress=None,
) -> dict[str, np.ndarray]:
    """Trains the head on block4_conv3 maps (N, 512, h, w) -> weights for ``LesionHead``."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    x_all = np.moveaxis(maps, 1, -1)  # (N, h, w, 512) float16
    scale = (1.0 / np.maximum(np.sqrt((x_all[::4].astype(np.float32) ** 2).mean(axis=(0, 1, 2))), 1e-3)).astype(
        np.float32
    )
    inp = keras.Input(x_all.shape[1:], name="maps4")
    x = keras.layers.Rescaling(scale, name="lesion_norm")(inp)
    x = keras.layers.SpatialDropout2D(0.1)(x)
    x = keras.layers.Conv2D(hidden, 1, activation="relu", name="lesion_reduce")(x)
    x = keras.layers.Conv2D(hidden, 3, padding="same", activation="relu", name="lesion_conv")(x)
    out = keras.layers.Conv2D(3, 1, name="lesion_out", bias_initializer=keras.initializers.Constant([-4.0, 2.5, 2.5]))(
        x
    )
    model = keras.Model(inp, out)

    def loss(y_true, y_pred):
        gt, sz, m = y_true[..., 0], y_true[..., 1:3], y_true[..., 3]
        p = tf.clip_by_value(tf.sigmoid(y_pred[..., 0]), 1e-4, 1 - 1e-4)
        pos = tf.cast(gt >= 0.999, tf.float32)
        pos_loss = -tf.math.log(p) * (1 - p) ** 2 * pos
        neg_loss = -tf.math.log(1 - p) * p**2 * (1 - gt) ** 4 * (1 - pos)
        n_pos = tf.maximum(tf.reduce_sum(pos), 1.0)
        focal = (tf.reduce_sum(pos_loss) + tf.reduce_sum(neg_loss)) / n_pos
        size_l1 = tf.reduce_sum(tf.abs(y_pred[..., 1:3] - sz) * m[..., None]) / tf.maximum(tf.reduce_sum(m), 1.0)
        return focal + 0.1 * size_l1

    y = np.concatenate([heat[..., None], size_t, size_mask[..., None]], axis=-1).astype(np.float32)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss)

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if progress:
                progress(epoch + 1, epochs, float((logs or {}).get("loss", 0.0)))

    x_f32 = (
        tf.data.Dataset.from_tensor_slices((x_all, y))
        .shuffle(len(y), seed=seed)
        .batch(16)
        .map(lambda a, b: (tf.cast(a, tf.float32), b))
    )
    schedule = keras.callbacks.LearningRateScheduler(lambda e, _lr: lr * (0.1 if e >= int(epochs * 0.75) else 1.0))
    model.fit(x_f32, epochs=epochs, verbose=0, shuffle=False, callbacks=[Progress(), schedule])  # shuffled above
    weights = {"lesion_norm/scale": scale}
    for name in ("lesion_reduce", "lesion_conv", "lesion_out"):
        kernel, bias = model.get_layer(name).get_weights()
        weights[f"{name}/kernel"] = kernel[0, 0] if kernel.shape[:2] == (1, 1) else kernel
        weights[f"{name}/bias"] = bias
    return weights


def find_all(head: LesionHead, maps: np.ndarray, crops: list[Crop], size: int) -> list[list[tuple]]:
    """Each crop's lesions in its photo's pixels (crop pixels for mosaics)."""
    out = []
    for m, c in zip(maps, crops, strict=True):
        boxes = head.find(m, size, c.visible)
        if c.photo is not None:
            boxes = list(head.findings(boxes, c.box, size).boxes)
        out.append(boxes)
    return out


#: The centre thresholds tried on the choosing photos.
THRESHOLD_GRID = tuple(round(0.15 + 0.05 * i, 2) for i in range(12))


def choose_threshold(
    head: LesionHead, maps: np.ndarray, crops: list[Crop], size: int, grid=None
) -> tuple[float, list[dict]]:
    """The centre threshold with the lowest count error on the choosing photos (every marked lesion counts,
    hidden or not, as the figures count them)."""
    grid = THRESHOLD_GRID if grid is None else grid
    trials = []
    scores = [head.maps(m) for m in maps]
    for t in grid:
        errors = []
        for (s, z), c in zip(scores, crops, strict=True):
            n = len(_decode_visible(s, z, c, float(t), size))
            errors.append(abs(n - (len(c.photo.boxes) if c.photo is not None else len(c.centres))))
        trials.append({"threshold": float(t), "count_mae": round(float(np.mean(errors)), 3)})
    best = min(trials, key=lambda r: r["count_mae"])
    return best["threshold"], trials


def _decode_visible(scores, sizes, crop: Crop, threshold: float, size: int):
    from ..lesion_model import decode

    return decode(scores * (crop.visible > 0.5), sizes, threshold, size / scores.shape[0])


def evaluate_crops(head: LesionHead, maps: np.ndarray, crops: list[Crop], size: int) -> dict:
    """The contract's figures on photos with marked lesions (count MAE, r, grade accuracy, boxes)."""
    photos = [c.photo for c in crops if c.photo is not None]
    if len(photos) != len(crops):
        raise ValueError("figures are measured on photos, not mosaics")
    found = find_all(head, maps, crops, size)
    pred_grades = [grade_of(len(b), head.grade_upper) for b in found]
    return lesion_eval.lesion_scores(found, [list(p.boxes) for p in photos], [p.grade for p in photos], pred_grades)


def fit_grade_upper(counts, grades) -> tuple[int, int, int]:
    """The three count limits between grades that best reproduce dermatologists' grades on the choosing
    photos (a model that counts low moves them down); Hayashi's (5, 20, 50) when nothing beats it."""
    counts, grades = np.asarray(counts), np.asarray(grades)

    def accuracy(upper):
        pred = np.array([grade_of(max(int(c), 1), upper) for c in counts])
        return float((pred == grades).mean())

    best, best_acc = HAYASHI_UPPER, accuracy(HAYASHI_UPPER)
    for a in range(2, 9):
        for b in range(a + 4, 30):
            for c in range(b + 6, 70, 2):
                acc = accuracy((a, b, c))
                if acc > best_acc + 1e-9:
                    best, best_acc = (a, b, c), acc
    return (int(best[0]), int(best[1]), int(best[2]))


class Clock:
    def __init__(self):
        self.start = time.time()

    def __call__(self) -> float:
        return round(time.time() - self.start, 1)


#: Changes whenever crops or features change, so an old feature cache is never read.
CACHE_FORMAT = "lesions-1"


def train(
    data_dir,
    out_dir,
    input_size: int = 320,
    base_weights_path=None,
    epochs: int = 40,
    hidden: int = 64,
    n_mosaics: int = 600,
    negatives_per_source: int = 200,
    cache_dir=None,
    seed: int = 0,
    log=print,
) -> dict:
    """Trains, chooses and measures a lesion head; writes it into ``out_dir`` (``lesion_model.save``)."""
    from ..lesion_model import save
    from ..model import load_base_weights

    clock = Clock()
    acne = read_lesion_photos(data_dir)
    healthy = read_negative_photos(data_dir, per_source=negatives_per_source, seed=seed)
    base, base_id = load_base_weights(base_weights_path)
    extractor = MapsExtractor(input_size, base, base_id)
    log(f"lesions: {len(acne)} ACNE04 photos, {len(healthy)} healthy faces; features on OpenVINO {extractor.precision}")

    def by(photos, split):
        return [p for p in photos if p.split == split]

    def progress(what):
        def report(i, n):
            if i == n or i % 200 < 8:
                log(f"  {what}: {i}/{n} ({clock()} s)")

        return report

    cache = None
    if cache_dir:
        key = hashlib.sha256(
            f"{CACHE_FORMAT}:{input_size}:{base_id}:{extractor.precision}:{n_mosaics}:"
            f"{negatives_per_source}:{seed}:{len(acne)}".encode()
        ).hexdigest()[:16]
        cache = Path(cache_dir) / f"lesion-maps-{key}.npz"
    photos = acne + healthy
    crops = [photo_crop(p, input_size) for p in photos]
    log(f"  crops: {len(crops)} ({clock()} s)")
    mosaic_crops = mosaics(by(acne, "train"), by(healthy, "train"), n_mosaics, input_size, seed)
    everything = crops + mosaic_crops
    if cache is not None and cache.is_file():
        with np.load(cache) as z:
            maps = z["maps"]
        log(f"  features from {cache}")
    else:
        maps = features(everything, extractor, progress("features"))
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, maps=maps)
    heat, size_t, size_mask = targets(everything, input_size)
    train_idx = [i for i, c in enumerate(everything) if c.photo is None or c.photo.split == "train"]
    log(f"  training the head on {len(train_idx)} crops ({clock()} s)")
    weights = fit_head(
        maps[train_idx],
        heat[train_idx],
        size_t[train_idx],
        size_mask[train_idx],
        hidden=hidden,
        epochs=epochs,
        seed=seed,
        progress=lambda e, n, loss: log(f"  epoch {e}/{n} loss {loss:.4f} ({clock()} s)"),
    )
    head = LesionHead(weights=weights, version=Path(out_dir).name)

    def subset(split, source=None):
        idx = [
            i for i, c in enumerate(crops) if c.photo.split == split and (source is None or c.photo.source == source)
        ]
        return maps[idx], [crops[i] for i in idx]

    choose_maps, choose_crops = subset("choose")
    head.threshold, trials = choose_threshold(head, choose_maps, choose_crops, input_size)
    acne_choose = [(m, c) for m, c in zip(choose_maps, choose_crops, strict=True) if c.photo.grade is not None]
    counts = [len(head.find(m, input_size, c.visible)) for m, c in acne_choose]
    hayashi_acc = float(
        np.mean([grade_of(max(n, 1)) == c.photo.grade for n, (_m, c) in zip(counts, acne_choose, strict=True)])
    )
    head.grade_upper = fit_grade_upper(counts, [c.photo.grade for _m, c in acne_choose])
    report: dict = {
        "data": {
            "acne04_photos": len(acne),
            "healthy_faces": len(healthy),
            "mosaics": len(mosaic_crops),
            "splits": {s: sum(p.split == s for p in photos) for s in ("train", "choose", "test")},
        },
        "features": f"OpenVINO {extractor.precision}, block4_conv3 at {input_size} px",
        "threshold": head.threshold,
        "threshold_trials": trials,
        "grade_upper": list(head.grade_upper),
        "choose_grade_accuracy_hayashi_limits": round(hayashi_acc, 4),
    }
    for split in ("choose", "test"):
        m, c = subset(split, "acne04_roboflow")
        report[f"acne04_{split}"] = evaluate_crops(head, m, c, input_size)
        for source in NEGATIVE_SOURCES:
            m, c = subset(split, source)
            report[f"healthy_{split}_{source}"] = lesion_eval.count_summary(
                len(b) for b in find_all(head, m, c, input_size)
            )
    report["seconds"] = clock()
    save(
        out_dir,
        head,
        {
            "input_size": input_size,
            "base_weights_id": base_id,
            "hidden": hidden,
            "epochs": epochs,
            "trained_on": "ACNE04 (acne04_roboflow) lesion boxes; healthy faces of "
            + ", ".join(NEGATIVE_SOURCES)
            + " as photos without lesions",
            "figures": report,
        },
    )
    log(f"lesions: saved to {out_dir} ({clock()} s)")
    return report
