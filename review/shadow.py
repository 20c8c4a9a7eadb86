"""After a batch's results are stored (``diagnosis.signals.batch_results_stored``): keep them for measurement,
and run the shadow model on the same photos.

The scans' owners already have their results when this runs, and nothing here can fail a scan or delay a
result: any error costs only the records of this step (logged). The shadow runs on the batch's photos
in one forward pass, without heatmaps, and only while no scan waits for analysis: a shadow pass costs
about as much as the active one (bench/shadow_cost.py), so running it with a queue would delay the
people waiting. Scans it missed (a busy moment, no shadow then, a shadow that failed to load or ran out
of memory) can be measured later with ``manage.py rescore_reviewed NAME``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from diagnosis.models import Scan

if TYPE_CHECKING:
    from ml.core.inference import Prediction

logger = logging.getLogger(__name__)


def measure_batch(sender: object, stored: Sequence[tuple[Scan, bytes, Prediction | Exception]],
                  **kwargs: object) -> None:
    """``stored``: (scan, photo bytes, the active model's prediction) of each scan whose result was stored."""
    from ml.core.inference import Prediction

    served = [(scan, data, p) for scan, data, p in stored if isinstance(p, Prediction)]
    if not served:
        return
    from ml.runtime import ModelUnavailable, get_shadow_predictor

    from .models import ModelResult
    from .services import record_model_results

    try:
        record_model_results([(scan.id, prediction) for scan, _data, prediction in served],
                             kind=ModelResult.Kind.SERVED)
    except Exception:
        logger.exception("could not record the served results of %d scan(s) for measurement", len(served))
    try:
        if Scan.objects.filter(status=Scan.Status.QUEUED).exists():
            logger.info("shadow model not run on this batch: scans are waiting for analysis")
            return
        shadow = get_shadow_predictor()
    except ModelUnavailable as exc:
        logger.warning("shadow model not run: %s", exc)
        return
    except Exception:
        logger.exception("shadow model not run: it failed to load")
        return
    if shadow is None:
        return
    try:
        predictions = shadow.predict_many([data for _scan, data, _p in served], batch_size=len(served))
        results = [(scan.id, p) for (scan, _data, _p), p in zip(served, predictions, strict=True)
                   if not isinstance(p, Exception)]
        kept = record_model_results(results, kind=ModelResult.Kind.SHADOW)
    except Exception:  # MemoryError included
        logger.exception("shadow model %s failed on a batch of %d scan(s)", shadow.version, len(served))
        return
    logger.info("shadow model %s: %d result(s) stored apart", shadow.version, kept)
