"""Process-wide access to the active model, ``get_predictor()`` (see docs/CONTRACTS.md), and to the shadow
model, ``get_shadow_predictor()``."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from .core.inference import Predictor
    from .models import ModelVersion

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# One entry per role ("active", "shadow"): a worker process holds at most two models.
_cache: dict = {"key": None, "predictor": None}
_shadow_cache: dict = {"key": None, "predictor": None}


class ModelUnavailable(RuntimeError):
    """No active model version, or its artifact is missing or corrupt."""


def load_version(version: ModelVersion) -> Predictor:
    """A fresh Predictor for a registered version, after checking its files against the registered sha256.
    Raises ModelUnavailable when they are missing, changed or unreadable."""
    from .core.artifact import ArtifactError, artifact_sha256
    from .services import resolve_artifact_path

    path = resolve_artifact_path(version.artifact_path)
    try:
        if artifact_sha256(path) != version.sha256:
            raise ArtifactError(f"artifact at {path} does not match the registered sha256")
        from .core.inference import Predictor

        predictor = Predictor(path, getattr(settings, "VGG16_WEIGHTS_PATH", None))
    except (ArtifactError, OSError, ValueError, KeyError) as exc:
        raise ModelUnavailable(f"model version {version.name!r} cannot be loaded: {exc}") from exc
    predictor.version = version.name
    logger.info("loaded model version %s from %s (%s, %s)", version.name, path, predictor.runtime,
                predictor.precision)
    return predictor


def _cached(cache: dict, version: ModelVersion, observe: bool = False) -> Predictor:
    """``observe``: time its preprocessing and forward passes in the metrics (the active model only)."""
    key = (version.pk, version.sha256)
    predictor = cache["predictor"]
    if cache["key"] == key and predictor is not None:
        return predictor
    with _lock:
        if cache["key"] == key and cache["predictor"] is not None:
            return cache["predictor"]
        cache.update(key=None, predictor=None)  # let the old model go before the new one loads
        predictor = load_version(version)
        if observe:
            from facediag_site.metrics import observe_predictor

            observe_predictor(predictor)
        cache.update(key=key, predictor=predictor)
        return predictor


def get_predictor() -> Predictor:
    """The ``ml.core.inference.Predictor`` of the active ModelVersion, loaded once per process.

    The cache is keyed by (version id, sha256): activating another version loads it on the next call.
    The network runs on OpenVINO where it is installed, else TensorFlow (``FACEDIAG_INFERENCE_RUNTIME``).
    """
    from .selectors import active_version

    version = active_version()
    if version is None:
        raise ModelUnavailable("no active model version; run `manage.py register_model PATH --activate`")
    return _cached(_cache, version, observe=True)


def get_shadow_predictor() -> Predictor | None:
    """The shadow version's Predictor, loaded once per process; None when no version is the shadow (the
    memory of a shadow model loaded before is given back). ModelUnavailable when it cannot be loaded."""
    from .selectors import shadow_version

    version = shadow_version()
    if version is None:
        with _lock:
            _shadow_cache.update(key=None, predictor=None)
        return None
    return _cached(_shadow_cache, version)


def clear_cache() -> None:
    with _lock:
        _cache.update(key=None, predictor=None)
        _shadow_cache.update(key=None, predictor=None)


def predictor_for(model_dir=None):
    """A Predictor for the artifact at ``model_dir``, or the active version's when None."""
    if not model_dir:
        return get_predictor()
    from .core.artifact import ArtifactError
    from .core.inference import Predictor

    try:
        return Predictor(model_dir, getattr(settings, "VGG16_WEIGHTS_PATH", None))
    except ArtifactError as exc:
        raise ModelUnavailable(f"invalid model at {model_dir}: {exc}") from exc
