"""After a batch's results are stored: hand them to whoever measures results (``signals.batch_results_stored``).

The review app keeps them for measurement and runs the shadow model on the same photos (review/shadow.py);
diagnosis sits below review and does not import it. The scans' owners already have their results when this
runs: a receiver's error is logged and costs only that receiver's records, never a scan or a result.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .. import signals
from ..models import Scan

if TYPE_CHECKING:
    from ml.core.inference import Prediction

logger = logging.getLogger(__name__)


def after_batch(stored: Sequence[tuple[Scan, bytes, Prediction | Exception]]) -> None:
    """``stored``: (scan, photo bytes, the active model's prediction) of each scan whose result was stored."""
    for receiver, answer in signals.batch_results_stored.send_robust(sender=Scan, stored=stored):
        if isinstance(answer, Exception):
            logger.error("%s failed after a batch of %d scan(s)", getattr(receiver, "__qualname__", receiver),
                         len(stored), exc_info=answer)
