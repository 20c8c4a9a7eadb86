"""Process-wide access to the active model: ``get_predictor()`` (see docs/CONTRACTS.md)."""

from __future__ import annotations

import logging
import threading

from django.conf import settings

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_cache: dict = {"key": None, "predictor": None}


class ModelUnavailable(RuntimeError):
    """No active model version, or its artifact is missing or corrupt."""


def get_predictor():
    """The ``ml.core.inference.Predictor`` of the active ModelVersion, loaded once per process.

    The cache is keyed by (version id, sha256): activating another version loads it on the next call.
    The network runs on OpenVINO where it is installed, else TensorFlow (``FACEDIAG_INFERENCE_RUNTIME``).
    """
    from .core.artifact import ArtifactError, artifact_sha256
    from .selectors import active_version
    from .services import resolve_artifact_path

    version = active_version()
    if version is None:
        raise ModelUnavailable("no active model version; run `manage.py register_model PATH --activate`")
    key = (version.pk, version.sha256)
    predictor = _cache["predictor"]
    if _cache["key"] == key and predictor is not None:
        return predictor
    with _lock:
        if _cache["key"] == key and _cache["predictor"] is not None:
            return _cache["predictor"]
        path = resolve_artifact_path(version.artifact_path)
        try:
            if artifact_sha256(path) != version.sha256:
                raise ArtifactError(f"artifact at {path} does not match the registered sha256")
            from .core.inference import Predictor

            predictor = Predictor(path, getattr(settings, "VGG16_WEIGHTS_PATH", None))
        except (ArtifactError, OSError, ValueError, KeyError) as exc:
            raise ModelUnavailable(f"model version {version.name!r} cannot be loaded: {exc}") from exc
        predictor.version = version.name
        from facediag_site.metrics import observe_predictor

        observe_predictor(predictor)  # preprocessing and inference times, by runtime and precision
        _cache.update(key=key, predictor=predictor)
        logger.info(
            "loaded model version %s from %s (%s, %s)", version.name, path, predictor.runtime, predictor.precision
        )
        return predictor


def clear_cache() -> None:
    with _lock:
        _cache.update(key=None, predictor=None)


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
