"""Model readouts beyond the class probabilities: the heatmap, the lesions, and whatever comes next.

Each readout is one module here with one presenter (a ``Readout``): how one photo's ``Prediction`` maps to
the columns it keeps on each photo's ``ScanPhoto`` row, and how a stored photo's
readout reads on pages, in the PDF report, on the review page, in the API and in the data export. The
result storage (``services.analysis.store_result``), the serializers and the export call ``row_fields`` and
``api_values`` / ``export_values`` here, so a new readout is its module plus one ``register`` line below,
its columns (a migration) and the templates that show it (see docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Readout

if TYPE_CHECKING:
    from ml.core.inference import Prediction

    from ..selectors import PhotoOfScan

READOUTS: dict[str, Readout] = {}


def register(readout: Readout) -> Readout:
    READOUTS[readout.name] = readout
    return readout


def row_fields(prediction: Prediction, saved: dict[str, Any]) -> dict[str, Any]:
    """The columns one photo's result sets on its ScanPhoto row, every readout's together. ``saved``: what
    was stored before the row is written (files), by column."""
    fields: dict[str, Any] = {}
    for readout in READOUTS.values():
        fields.update(readout.row_fields(prediction, saved))
    return fields


def api_values(photo: PhotoOfScan) -> dict[str, Any]:
    """Every readout's JSON for one photo, by readout name (the API's and the export's shape)."""
    return {name: readout.api_value(photo) for name, readout in READOUTS.items()}


def summaries(photo: PhotoOfScan) -> list[tuple[str, str]]:
    """Each readout's line of words about one photo, as (readout name, line), in registration order; readouts
    with nothing to say are left out (the pages' per-photo list, the PDF, the review page)."""
    return [(name, line) for name, readout in READOUTS.items() if (line := readout.summary(photo))]


# The registrations: one line per readout, in the order pages list them.
from .heatmap import HEATMAP  # noqa: E402
from .lesions import LESIONS  # noqa: E402

register(HEATMAP)
register(LESIONS)

__all__ = ["HEATMAP", "LESIONS", "READOUTS", "Readout", "api_values", "register", "row_fields", "summaries"]
