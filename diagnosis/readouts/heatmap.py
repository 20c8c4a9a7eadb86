"""The heatmap readout: where the model looked, a JPEG laid over the face crop it analysed.

The worker stores the JPEG before the result row is written (``services.analysis._save_heatmaps``: a file,
so its storage errors release the claim); this presenter maps it to the row and reads it back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Readout

if TYPE_CHECKING:
    from ml.core.inference import Prediction

    from ..models import ScanPhoto
    from ..selectors import PhotoOfScan


def crop_box(files: ScanPhoto | None) -> list[float] | None:
    """Where the analysed crop (and its heatmap) lies on the photo: [x0, y0, x1, y1] as fractions of its
    width and height, clamped; None without a heatmap or a usable box (older scans)."""
    box = (files.heatmap_box if files is not None else None) or []
    if len(box) != 4:
        return None
    try:
        x0, y0, x1, y1 = (min(max(float(v), 0.0), 1.0) for v in box)
    except (TypeError, ValueError):
        return None
    if x1 <= x0 or y1 <= y0:
        return None
    return [x0, y0, x1, y1]


def overlay_style(files: ScanPhoto | None) -> str:
    """CSS that lays the heatmap over the photo exactly where the analysed crop was, or "" when the
    photo has no usable box (older scans: the page then swaps the photo for the heatmap)."""
    box = crop_box(files)
    if box is None:
        return ""
    x0, y0, x1, y1 = box
    return (f"left:{x0 * 100:.2f}%;top:{y0 * 100:.2f}%;"
            f"width:{(x1 - x0) * 100:.2f}%;height:{(y1 - y0) * 100:.2f}%")


class HeatmapReadout(Readout):
    name = "heatmap"

    def row_fields(self, prediction: Prediction, saved: dict[str, Any]) -> dict[str, Any]:
        return {"heatmap": saved.get("heatmap", ""), "heatmap_box": saved.get("heatmap_box", [])}

    def api_value(self, photo: PhotoOfScan) -> Any:
        """The crop box of the photo's heatmap (the API names it ``heatmap_box``), None without one."""
        box = photo.files.heatmap_box or []
        return list(box) if photo.files.heatmap and len(box) == 4 else None


HEATMAP = HeatmapReadout()
