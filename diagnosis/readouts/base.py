"""What every readout's presenter offers (see the package's docstring)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ml.core.inference import Prediction

    from ..selectors import PhotoOfScan


class Readout:
    """One model readout: its stored columns and how it reads everywhere it is shown."""

    #: The readout's name: its key in ``READOUTS``, in the API and in the data export.
    name = ""

    def row_fields(self, prediction: Prediction, saved: dict[str, Any]) -> dict[str, Any]:
        """The columns one photo's ``prediction`` sets on its row (``saved``: files stored before)."""
        raise NotImplementedError

    def api_value(self, photo: PhotoOfScan) -> Any:
        """The photo's readout as JSON (API, data export), None without one."""
        raise NotImplementedError

    def summary(self, photo: PhotoOfScan) -> str:
        """The photo's readout in one line of words, where pages and the PDF list what each photo showed
        ("About 14 spots: mild acne"); "" when it has nothing to say in words (the heatmap is a picture)."""
        return ""
