"""Generated test images (no dataset needed)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

CLASS_COLOURS = {
    "acne": (200, 120, 110),
    "eczema": (215, 150, 125),
    "healthy": (225, 180, 150),
    "rosacea": (215, 140, 130),
}


def skin_image(label: str, size: int = 96, seed: int = 0) -> np.ndarray:
    """A skin-coloured texture whose spot pattern depends on the class."""
    rng = np.random.default_rng(seed)
    base = np.array(CLASS_COLOURS[label], np.float32) + rng.normal(0, 6, 3)
    img = np.ones((size, size, 3), np.float32) * base
    img += rng.normal(0, 8, (size, size, 1))
    k = {"acne": 0, "eczema": 1, "healthy": 2, "rosacea": 3}[label]
    for _ in range(6 + 4 * k):
        c = tuple(int(v) for v in rng.integers(0, size, 2))
        col = (150 + 25 * k, 60, 60 + 20 * k)
        cv2.circle(img, c, int(rng.integers(2, 3 + 2 * k)), col, -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def face_image(size: int = 320, seed: int = 0) -> np.ndarray:
    """A drawn frontal face (skin ellipse, eyes, brows, nose, mouth); not a photo, so face detectors may miss it."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size, 3), (70, 90, 120), np.uint8)
    c = size // 2
    cv2.ellipse(img, (c, c), (int(size * 0.3), int(size * 0.4)), 0, 0, 360, (225, 175, 145), -1)
    for dx in (-1, 1):
        ex = c + dx * int(size * 0.12)
        ey = c - int(size * 0.08)
        cv2.ellipse(img, (ex, ey), (int(size * 0.06), int(size * 0.03)), 0, 0, 360, (255, 255, 255), -1)
        cv2.circle(img, (ex, ey), int(size * 0.025), (40, 30, 20), -1)
        cv2.line(
            img,
            (ex - int(size * 0.07), ey - int(size * 0.06)),
            (ex + int(size * 0.07), ey - int(size * 0.07)),
            (60, 40, 30),
            4,
        )
    cv2.line(img, (c, c - int(size * 0.02)), (c - int(size * 0.03), c + int(size * 0.1)), (170, 120, 100), 3)
    cv2.ellipse(img, (c, c + int(size * 0.2)), (int(size * 0.09), int(size * 0.03)), 0, 0, 360, (150, 60, 60), -1)
    noise = rng.normal(0, 3, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def non_face_images(size: int = 128) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    g = np.linspace(0, 1, size, dtype=np.float32)[:, None]
    landscape = np.zeros((size, size, 3), np.float32)
    landscape[..., 0] = 80 + 60 * g
    landscape[..., 1] = 140 + 80 * (1 - g)
    landscape[..., 2] = 235 - 150 * g
    landscape[size // 2 :, :, :] = (60, 120, 50)
    shapes = np.full((size, size, 3), 240, np.uint8)
    cv2.rectangle(shapes, (10, 10), (60, 60), (30, 30, 200), -1)
    cv2.circle(shapes, (90, 90), 25, (20, 160, 40), -1)
    return {
        "black": np.zeros((size, size, 3), np.uint8),
        "white": np.full((size, size, 3), 255, np.uint8),
        "blue": np.full((size, size, 3), (30, 60, 200), np.uint8),
        "beige": np.full((size, size, 3), (225, 180, 150), np.uint8),
        "noise": rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
        "landscape": np.clip(landscape, 0, 255).astype(np.uint8),
        "shapes": shapes,
    }


def make_negatives(root, per_source: int = 4, size: int = 64) -> Path:
    """Generated photos with no face or skin (flat folder + manifest), two sources."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(2 * per_source):
        rng = np.random.default_rng(100 + i)
        img = np.zeros((size, size, 3), np.uint8)
        img[:] = rng.integers(0, 90, 3)  # dark, saturated backgrounds: far from skin colours
        img[..., i % 3] = 200
        for _ in range(4):
            c = tuple(int(v) for v in rng.integers(0, size, 2))
            cv2.rectangle(img, c, (c[0] + 12, c[1] + 12), tuple(int(v) for v in rng.integers(0, 256, 3)), -1)
        src = f"neg{i % 2}"
        name = f"{src}__thing_{i}.jpg"
        Image.fromarray(img).save(root / name, quality=92)
        rows.append(f"{name},{src}")
    (root / "manifest.csv").write_text("path,source\n" + "\n".join(rows) + "\n")
    return root


def make_dataset(root, per_class: int = 8, size: int = 64, with_manifest: bool = True) -> Path:
    """Generated skin photos, the same in every process: a seed from ``hash()`` would differ per process
    (PYTHONHASHSEED), so each test worker would train its tiny model on other photos."""
    root = Path(root)
    rows = []
    for k, label in enumerate(CLASS_COLOURS):
        d = root / label
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            src = f"src{i % 2}"
            name = f"{src}__{label}_{i}.jpg"
            Image.fromarray(skin_image(label, size, seed=1000 * k + i)).save(d / name, quality=92)
            rows.append(f"{label}/{name},{label},{src}")
    if with_manifest:
        (root / "manifest.csv").write_text("path,label,source\n" + "\n".join(rows) + "\n")
    return root


def spotted_skin(size: int = 64, n_spots: int = 4, seed: int = 0) -> tuple[np.ndarray, list[tuple]]:
    """Smooth skin with ``n_spots`` dark-red round spots -> (image, their boxes (x0, y0, x1, y1))."""
    rng = np.random.default_rng(seed)
    img = np.ones((size, size, 3), np.float32) * (np.array((222, 176, 148), np.float32) + rng.normal(0, 4, 3))
    img += rng.normal(0, 3, (size, size, 1))
    boxes = []
    r = max(2, size // 16)
    for _ in range(n_spots):
        cx, cy = (int(v) for v in rng.integers(size // 4, size - size // 4, 2))
        cv2.circle(img, (cx, cy), r, (150, 50, 50), -1)
        boxes.append((cx - r, cy - r, cx + r, cy + r))
    return np.clip(img, 0, 255).astype(np.uint8), boxes


def make_lesion_dataset(root, n_acne: int = 30, per_healthy_source: int = 4, size: int = 64) -> Path:
    """A skin4-like folder with marked lesions: ``acne/`` photos of the ACNE04 source with their boxes and
    grades (``acne04_lesions.csv``, ``acne04_grades.csv``) and spotless faces of the healthy sources."""
    from ml.core.lesions import grade_of
    from ml.core.training.lesions import NEGATIVE_SOURCES

    root = Path(root)
    (root / "acne").mkdir(parents=True, exist_ok=True)
    (root / "healthy").mkdir(parents=True, exist_ok=True)
    manifest, lesion_rows, grade_rows = [], [], []
    for i in range(n_acne):
        n = 1 + i % 7
        img, boxes = spotted_skin(size, n, seed=500 + i)
        grade = grade_of(n, (2, 4, 6))
        rel = f"acne/acne04_roboflow__levle{grade}_{i}.jpg"
        Image.fromarray(img).save(root / rel, quality=95)
        manifest.append(f"{rel},acne,acne04_roboflow")
        lesion_rows += [f"{rel},{x0},{y0},{x1},{y1}" for x0, y0, x1, y1 in boxes]
        grade_rows.append(f"{rel},{grade},{n}")
    for s, source in enumerate(NEGATIVE_SOURCES):
        for i in range(per_healthy_source):
            img, _ = spotted_skin(size, 0, seed=900 + 10 * s + i)
            rel = f"healthy/{source}__{i}.jpg"
            Image.fromarray(img).save(root / rel, quality=95)
            manifest.append(f"{rel},healthy,{source}")
    (root / "manifest.csv").write_text("path,label,source\n" + "\n".join(manifest) + "\n")
    (root / "acne04_lesions.csv").write_text("path,x0,y0,x1,y1\n" + "\n".join(lesion_rows) + "\n")
    (root / "acne04_grades.csv").write_text("path,grade,lesions\n" + "\n".join(grade_rows) + "\n")
    return root
