"""The inference entry point: ``Predictor.predict(image) -> Prediction`` (see docs/CONTRACTS.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import artifact, calibration, decision, gradcam
from .model import build_top, build_trunk, load_base_weights, set_trained_weights
from .preprocess import InvalidImage, Preprocessed, load_rgb, preprocess, vgg_input  # noqa: F401 (re-export)


def bf16_supported() -> bool:
    """True when the CPU has native bf16 (AMX or AVX512_BF16); override with FACEDIAG_INFERENCE_DTYPE."""
    forced = os.environ.get("FACEDIAG_INFERENCE_DTYPE", "").lower()
    if forced in ("float32", "fp32"):
        return False
    if forced in ("bfloat16", "bf16"):
        return True
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


class FeatureExtractor:
    """Frozen VGG16 blocks 1-4 as a compiled tf.function; bfloat16 (oneDNN/AMX) when the CPU supports it."""

    def __init__(self, input_size: int, base_weights, fast: bool = True):
        import tensorflow as tf

        self.dtype = "mixed_bfloat16" if (fast and bf16_supported()) else "float32"
        self.input_size = input_size
        self.model = build_trunk(input_size, base_weights, dtype=self.dtype)
        model = self.model

        @tf.function(
            input_signature=[tf.TensorSpec([None, input_size, input_size, 3], tf.float32)],
            reduce_retracing=True,
            autograph=False,
        )
        def run(x):
            return tf.cast(model(x, training=False), tf.float32)

        self._run = run

    def __call__(self, crops_uint8: np.ndarray, batch_size: int = 16) -> np.ndarray:
        crops_uint8 = np.asarray(crops_uint8)
        outs = []
        for i in range(0, len(crops_uint8), batch_size):
            outs.append(self._run(vgg_input(crops_uint8[i : i + batch_size])).numpy())
        return np.concatenate(outs) if outs else np.zeros((0,), np.float32)


@dataclass
class Prediction:
    label: str
    probabilities: dict[str, float]
    quality: dict[str, bool]
    model_version: str
    top_probability: float
    heatmap_jpeg: bytes | None = None
    reason: str = ""
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "probabilities": self.probabilities,
            "quality": self.quality,
            "model_version": self.model_version,
            "top_probability": self.top_probability,
        }


class Predictor:
    """Loads an artifact on top of the VGG16 base weights and classifies images."""

    def __init__(self, artifact_dir, base_weights_path=None, fast: bool = True, strict_base: bool = True):
        import tensorflow as tf

        self.artifact_dir = Path(artifact_dir)
        self.metadata, trained, extra = artifact.load(self.artifact_dir)
        meta = self.metadata
        self.classes = list(meta["classes"])
        self.input_size = int(meta["input_size"])
        self.temperature = float(meta["temperature"])
        self.thresholds = {**decision.default_thresholds(), **meta["thresholds"]}
        self.version = str(meta.get("name") or self.artifact_dir.name)
        self.centroids = extra.get("ood_centroids")
        base, checksum = load_base_weights(base_weights_path)
        expected = meta.get("base_weights_sha256")
        if strict_base and expected and expected != checksum:
            raise artifact.ArtifactError(
                f"base weights checksum {checksum[:12]} does not match the artifact's {str(expected)[:12]}"
            )
        self.extractor = FeatureExtractor(self.input_size, base, fast=fast)
        self.top = build_top(self.input_size, len(self.classes), base)
        set_trained_weights(self.top, trained)
        top = self.top
        hw = self.input_size // 16

        @tf.function(
            input_signature=[tf.TensorSpec([None, hw, hw, 512], tf.float32)], reduce_retracing=True, autograph=False
        )
        def run_top(f):
            _conv, pen, logits = top(f, training=False)
            return pen, logits

        self._run_top = run_top

    # -- core steps -------------------------------------------------------------------------
    def scores(self, features: np.ndarray):
        """block4 features -> (calibrated probabilities, logits, OOD scores)."""
        pen, logits = self._run_top(features.astype(np.float32))
        logits = logits.numpy().astype(np.float64)
        probs = calibration.softmax(logits, self.temperature)
        if self.centroids is not None:
            ood = calibration.ood_score(pen.numpy(), self.centroids)
        else:
            ood = np.zeros(len(logits))
        return probs, logits, ood

    def _finish(self, pre: Preprocessed, probs, ood, features=None, with_heatmap=False) -> Prediction:
        label, reason = decision.decide(list(probs), self.classes, decision.signals(pre), float(ood), self.thresholds)
        top_i = int(np.argmax(probs))
        heat = None
        if with_heatmap and features is not None:
            cam = gradcam.gradcam(self.top, features, top_i)
            heat = gradcam.to_jpeg(gradcam.overlay(pre.crop, cam))
        return Prediction(
            label=label,
            probabilities={c: float(p) for c, p in zip(self.classes, probs, strict=False)},
            quality=dict(pre.quality),
            model_version=self.version,
            top_probability=float(probs[top_i]),
            heatmap_jpeg=heat,
            reason=reason,
            details={
                "argmax": self.classes[top_i],
                "ood": float(ood),
                "skin_ratio": pre.skin_ratio,
                "face_found": pre.face_found,
            },
        )

    # -- public API -------------------------------------------------------------------------
    def preprocess(self, image) -> Preprocessed:
        return preprocess(image, size=self.input_size)

    def predict(self, image, with_heatmap: bool = True) -> Prediction:
        pre = self.preprocess(image)
        feats = self.extractor(pre.crop[None])
        probs, _logits, ood = self.scores(feats)
        return self._finish(pre, probs[0], ood[0], feats, with_heatmap)

    def predict_many(
        self, images, batch_size: int = 16, progress=None, with_heatmap: bool = False
    ) -> list[Prediction | InvalidImage]:
        """Batch prediction (heatmaps on request); undecodable images come back as InvalidImage instances."""
        out: list = []
        images = list(images)
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            pres = []
            for im in chunk:
                try:
                    pres.append(self.preprocess(im))
                except InvalidImage as exc:
                    pres.append(exc)
            ok = [p for p in pres if isinstance(p, Preprocessed)]
            if ok:
                feats = self.extractor(np.stack([p.crop for p in ok]))
                probs, _l, ood = self.scores(feats)
            it = iter(range(len(ok)))
            for p in pres:
                if isinstance(p, Preprocessed):
                    j = next(it)
                    out.append(self._finish(p, probs[j], ood[j], feats[j : j + 1], with_heatmap))
                else:
                    out.append(p)
            if progress:
                progress(min(start + batch_size, len(images)), len(images))
        return out

    def heatmap(self, image) -> np.ndarray:
        """Grad-CAM overlay (uint8 RGB) for the top class."""
        pre = self.preprocess(image)
        feats = self.extractor(pre.crop[None])
        probs, _l, _o = self.scores(feats)
        return gradcam.overlay(pre.crop, gradcam.gradcam(self.top, feats, int(np.argmax(probs[0]))))
