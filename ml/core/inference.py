"""The inference entry point: ``Predictor.predict(image) -> Prediction`` (see docs/CONTRACTS.md)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from . import artifact, calibration, decision, gradcam, lesion_model, ood
from .lesions import LesionFindings
from .model import (
    build_top,
    build_trunk,
    feature_hw,
    head_inputs,
    head_n_features,
    load_base_weights,
    masked_mean,
    needs_skin_weights,
    set_trained_weights,
)
from .openvino_net import NetOutput
from .preprocess import (  # noqa: F401 (re-export)
    InvalidImage,
    Preprocessed,
    face_oval_mask,
    load_rgb,
    preprocess,
    vgg_input,
)

logger = logging.getLogger(__name__)

#: The network runtimes a Predictor can use; the first available one is the default.
RUNTIMES = ("openvino", "tensorflow")


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


def choose_runtime(requested: str | None = None) -> str:
    """The network runtime: ``requested``, else ``FACEDIAG_INFERENCE_RUNTIME``, else OpenVINO where it is
    installed. OpenVINO asked for but not importable falls back to TensorFlow (with a warning)."""
    from . import openvino_net

    name = (requested or os.environ.get("FACEDIAG_INFERENCE_RUNTIME", "") or RUNTIMES[0]).strip().lower()
    if name not in RUNTIMES:
        raise ValueError(f"unknown inference runtime {name!r}; choose one of {', '.join(RUNTIMES)}")
    if name == "openvino" and not openvino_net.available():
        if requested or os.environ.get("FACEDIAG_INFERENCE_RUNTIME"):
            logger.warning("OpenVINO is not installed: inference runs on TensorFlow")
        return "tensorflow"
    return name


class FeatureExtractor:
    """Frozen VGG16 blocks 1-4 as a compiled tf.function; bfloat16 (oneDNN/AMX) when the CPU supports it."""

    def __init__(self, input_size: int, base_weights, fast: bool = True, maps4: bool = False):
        import keras
        import tensorflow as tf

        self.dtype = "mixed_bfloat16" if (fast and bf16_supported()) else "float32"
        self.input_size = input_size
        self.model = build_trunk(input_size, base_weights, dtype=self.dtype)
        self.with_maps4 = maps4
        # block4_conv3 before its pooling comes out too where a lesion readout reads it
        model = (keras.Model(self.model.input, [self.model.output, self.model.get_layer("block4_conv3").output])
                 if maps4 else self.model)

        @tf.function(
            input_signature=[tf.TensorSpec([None, input_size, input_size, 3], tf.float32)],
            reduce_retracing=True,
            autograph=False,
        )
        def run(x):
            return tf.nest.map_structure(lambda t: tf.cast(t, tf.float32), model(x, training=False))

        self._run = run

    def __call__(self, crops_uint8: np.ndarray, batch_size: int = 16) -> np.ndarray:
        return self.extract(crops_uint8, batch_size)[0]

    def extract(self, crops_uint8: np.ndarray, batch_size: int = 16) -> tuple[np.ndarray, np.ndarray | None]:
        """-> (block 4's pooled features (N, h, w, 512), block4_conv3's maps (N, 512, 2h, 2w) or None)."""
        crops_uint8 = np.asarray(crops_uint8)
        feats, maps = [], []
        for i in range(0, len(crops_uint8), batch_size):
            out = self._run(vgg_input(crops_uint8[i : i + batch_size]))
            if self.with_maps4:
                feats.append(out[0].numpy())
                maps.append(np.moveaxis(out[1].numpy(), -1, 1))
            else:
                feats.append(out.numpy())
        if not feats:
            return np.zeros((0,), np.float32), None
        return np.concatenate(feats), (np.concatenate(maps) if maps else None)


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
    #: The lesion readout (``ml.core.lesions``): set on a judged photo when the model has a lesion head.
    lesions: LesionFindings | None = None

    #: The readouts with a JSON form, by name: what ``readouts_json`` writes (``predict_image --json``). A new
    #: readout is a typed field above and its name here.
    READOUT_FIELDS = ("lesions",)

    @property
    def reason_text(self) -> str:
        return decision.REASONS.get(self.reason, self.reason)

    def readouts_json(self) -> dict[str, object]:
        """Each readout's JSON (its ``to_json()``), None where the photo has none."""
        values = {name: getattr(self, name) for name in self.READOUT_FIELDS}
        return {name: value.to_json() if value is not None else None for name, value in values.items()}


class Predictor:
    """Loads an artifact on top of the VGG16 base weights and classifies images.

    ``base_weights_path`` None means the float16 base committed with the repository. ``precision``: the
    OpenVINO precision (``openvino_net.choose_precision``; default: the setting, else the CPU's best).
    """

    def __init__(
        self,
        artifact_dir,
        base_weights_path=None,
        fast: bool = True,
        strict_base: bool = True,
        runtime: str | None = None,
        precision: str | None = None,
    ):
        self.artifact_dir = Path(artifact_dir)
        self.metadata, trained, extra = artifact.load(self.artifact_dir)
        meta = self.metadata
        self.classes = list(meta["classes"])
        self.reject_class = meta.get("reject_class")
        self.input_size = int(meta["input_size"])
        self.temperature = float(meta["temperature"])
        # per photo, from its feature distance and whether a face was found (models since vgg16-skin-v6)
        self.adaptive_temperature = (
            calibration.AdaptiveTemperature.from_dict(meta["adaptive_temperature"])
            if meta.get("adaptive_temperature")
            else None
        )
        self.reject_temperature = float(meta.get("reject_temperature", 1.0))
        self.thresholds = decision.model_thresholds(meta["thresholds"])
        self.version = str(meta.get("name") or self.artifact_dir.name)
        try:
            base, base_id = load_base_weights(base_weights_path)
        except (FileNotFoundError, OSError, KeyError, ValueError) as exc:
            raise artifact.ArtifactError(f"VGG16 base weights unusable: {exc}") from exc
        expected = meta.get("base_weights_id")
        if strict_base and expected and expected != base_id:
            raise artifact.ArtifactError(
                f"base weights {base_id[:12]} do not match the artifact's {str(expected)[:12]}"
            )
        self._base, self._trained, self._fast = base, trained, fast
        self._n_out = len(self.classes) + (1 if self.reject_class else 0)
        #: The pooled features the head reads (``model.POOLINGS``) and what the feature distance reads.
        self.head_inputs = head_inputs(head_n_features(trained), meta.get("head_inputs"))
        self.skin_pooling = needs_skin_weights(self.head_inputs)
        self.distance_input = meta.get("distance_input", "gap5")
        # the head kernels of the closed-form heatmap, straight from the artifact (float32 as Keras holds them)
        self._w1 = np.asarray(trained["head_dense/kernel"], np.float32).astype(np.float64)
        self._w2 = np.asarray(trained["head_logits/kernel"], np.float32).astype(np.float64)
        # the skin photos' feature statistics for the "not skin" distance (``ml.core.ood``), where trained
        self._ood = {"means": extra["ood_means"], "precision": extra["ood_precision"]} if "ood_means" in extra else None
        # the lesion readout, where the artifact has a lesion head: it reads block4_conv3's maps of the same pass
        try:
            self.lesion_head = lesion_model.load(self.artifact_dir)
        except ValueError as exc:
            raise artifact.ArtifactError(str(exc)) from exc
        self._extractor: FeatureExtractor | None = None
        self._top: Any = None
        self._run_top: Any = None
        self.net: Any = None
        self.runtime = choose_runtime(runtime)
        if self.runtime == "openvino":
            from . import openvino_net

            precision = openvino_net.choose_precision(precision or (None if fast else "f32"), base_id)
            self.net = openvino_net.OpenVINONet.for_artifact(
                self.input_size, base, trained, self._n_out, precision=precision, base_id=base_id,
                kinds=self.head_inputs, maps4=self.lesion_head is not None,
            )
            self.precision = self.net.dtype
        else:
            self.precision = self.extractor.dtype + " blocks 1-4, float32 block 5 and head"
            self._build_top()

    # -- the TensorFlow pieces (the TensorFlow runtime, training, the Grad-CAM reference) --------
    @property
    def extractor(self) -> FeatureExtractor:
        """VGG16 blocks 1-4 on TensorFlow (built on first use)."""
        if self._extractor is None:
            self._extractor = FeatureExtractor(self.input_size, self._base, fast=self._fast,
                                               maps4=self.lesion_head is not None)
        return self._extractor

    @property
    def top(self):
        """Block 5 and the head as a Keras model (built on first use)."""
        if self._top is None:
            self._build_top()
        return self._top

    def _build_top(self):
        import tensorflow as tf

        top = build_top(
            self.input_size, self._n_out, self._base, n_features=head_n_features(self._trained), kinds=self.head_inputs
        )
        set_trained_weights(top, self._trained)
        hw = feature_hw(self.input_size)

        signature = [tf.TensorSpec([None, hw, hw, 512], tf.float32), tf.TensorSpec([None, hw, hw, 1], tf.float32)]

        @tf.function(
            input_signature=signature,
            reduce_retracing=True,
            autograph=False,
        )
        def run_top(f, w):
            return top([f, w] if len(top.inputs) > 1 else f, training=False)

        self._top, self._run_top = top, run_top

    # -- core steps -------------------------------------------------------------------------
    def skin_weights(self, pres) -> np.ndarray | None:
        """The crops' skin weights at block 4's resolution (N, h, w), where the head pools over the skin."""
        if not self.skin_pooling:
            return None
        side = feature_hw(self.input_size)
        return np.stack([p.skin_weights(side) for p in pres]).astype(np.float32)

    def network(self, crops_uint8: np.ndarray, skin_weights: np.ndarray | None = None) -> NetOutput:
        """uint8 RGB crops (N, S, S, 3) [and their skin weights] -> ``NetOutput`` (numpy) on the chosen runtime."""
        if self.net is not None:
            out = self.net(crops_uint8, skin_weights)
            return out._replace(logits=out.logits.astype(np.float64))
        features, maps4 = self.extractor.extract(crops_uint8)
        return self.forward(features, skin_weights)._replace(maps4=maps4)

    def forward(self, features: np.ndarray, skin_weights: np.ndarray | None = None) -> NetOutput:
        """block4 features (N, h, w, 512) [and skin weights (N, h, w)] -> ``NetOutput`` (TensorFlow)."""
        if self._run_top is None:
            self._build_top()
        features = np.asarray(features, np.float32)
        weights = np.ones(features.shape[:3], np.float32) if skin_weights is None else skin_weights
        conv, pen, logits = self._run_top(features, np.asarray(weights, np.float32)[..., None])
        return NetOutput(conv.numpy(), pen.numpy(), logits.numpy().astype(np.float64), features.transpose(0, 3, 1, 2))

    def feature_distances(self, out: NetOutput, skin_weights: np.ndarray | None = None) -> np.ndarray:
        """Each photo's distance from the skin photos (zeros without statistics), from the network's maps."""
        if self._ood is None:
            return np.zeros(len(out.conv))
        if self.distance_input == "skin5":
            pooled = masked_mean(out.conv, skin_weights)
        else:
            pooled = ood.pooled_from_conv(out.conv)
        return ood.score(pooled, self._ood)

    def temperatures(self, distances, pres):
        """The condition temperature of each photo: its own where the model has an adaptive one."""
        if self.adaptive_temperature is None:
            return self.temperature
        signals = calibration.adaptive_signals(distances, [p.face_found for p in pres])
        return self.adaptive_temperature.of(signals)

    def heatmap_map(self, out: NetOutput, j: int, class_index: int, skin_weights=None, pre=None) -> np.ndarray:
        """Where the head's evidence for ``class_index`` lies in photo ``j`` of a batch, in [0, 1]: at the crop's
        resolution for a head that pools over the skin (``pre`` gives the pixel weights), else (h, w)."""
        kinds = self.head_inputs
        block4 = None if out.block4 is None else out.block4[j]
        if self.skin_pooling and pre is not None:
            return gradcam.skin_heatmap(
                out.conv[j], out.pen[j], self._w1, self._w2, class_index, kinds, block4, pre.skin_weights()
            )
        weights = None if skin_weights is None else skin_weights[j]
        return gradcam.cam_from_head(out.conv[j], out.pen[j], self._w1, self._w2, class_index, kinds, block4, weights)

    def lesions(self, out: NetOutput, j: int, pre: Preprocessed) -> LesionFindings | None:
        """The lesions on photo ``j`` of a batch, in the photo's own pixels (None without a lesion head)."""
        if self.lesion_head is None or out.maps4 is None:
            return None
        visible = None
        if pre.oval is not None:  # only the face oval is shown to the model; the rest is blended away
            visible = face_oval_mask(self.input_size, pre.oval[:2], pre.oval[2:])
            grid = out.maps4.shape[-1]
            visible = cv2.resize(visible, (grid, grid), interpolation=cv2.INTER_AREA)
        boxes = self.lesion_head.find(out.maps4[j], self.input_size, visible)
        return self.lesion_head.findings(boxes, pre.box, self.input_size, float(pre.extras.get("scale", 1.0)))

    def _finish(self, pre: Preprocessed, probs, reject, heat_map=None, distance=0.0, lesions=None) -> Prediction:
        sig = {**decision.signals(pre), "feature_distance": float(distance)}
        label, reason = decision.decide(list(probs), self.classes, sig, float(reject), self.thresholds)
        judged = label in self.classes or reason == "low_confidence"
        lesion_findings = lesions() if (judged and lesions is not None) else None
        if lesion_findings is not None and self.lesion_head is not None:
            label, reason = decision.with_lesion_evidence(label, reason, lesion_findings.count,
                                                          self.lesion_head.healthy_limit)
        top_i = int(np.argmax(probs))
        heat = None
        if heat_map is not None:
            # Drawn on the crop as the photo shows it (not the masked input), so it lines up as an overlay.
            view = pre.unmasked if pre.unmasked is not None else pre.crop
            heat = gradcam.to_jpeg(gradcam.overlay(view, heat_map(top_i)))
        return Prediction(
            label=label,
            probabilities={c: float(p) for c, p in zip(self.classes, probs, strict=True)},
            quality=dict(pre.quality),
            model_version=self.version,
            top_probability=float(probs[top_i]),
            heatmap_jpeg=heat,
            reason=reason,
            lesions=lesion_findings,
            details={
                "argmax": self.classes[top_i],
                "reject": float(reject),
                "feature_distance": round(float(distance), 1),
                "skin_ratio": pre.skin_ratio,
                "colourfulness": pre.colourfulness,
                "ita": pre.extras.get("ita"),
                "face_found": pre.face_found,
                "crop_box": pre.box_fractions,  # where the crop (and the heatmap) sits on the photo
            },
        )

    # -- public API -------------------------------------------------------------------------
    def preprocess(self, image) -> Preprocessed:
        return preprocess(image, size=self.input_size)

    def predict(self, image, with_heatmap: bool = True) -> Prediction:
        return self.predict_many([image], batch_size=1, with_heatmap=with_heatmap, strict=True)[0]

    def predict_many(
        self, images, batch_size: int = 16, progress=None, with_heatmap: bool = False, strict: bool = False
    ) -> list[Prediction | InvalidImage]:
        """One prediction per image, in order; undecodable images come back as InvalidImage instances
        (raised instead when ``strict``). The network runs once per batch of ``batch_size``."""
        out: list = []
        images = list(images)
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            pres = []
            for im in chunk:
                try:
                    pres.append(self.preprocess(im))
                except InvalidImage as exc:
                    if strict:
                        raise
                    pres.append(exc)
            ok = [p for p in pres if isinstance(p, Preprocessed)]
            if ok:
                weights = self.skin_weights(ok)
                net = self.network(np.stack([p.crop for p in ok]), weights)
                distances = self.feature_distances(net, weights)
                probs, reject = calibration.split_scores(
                    net.logits, len(self.classes), self.temperatures(distances, ok), self.reject_temperature
                )
            it = iter(range(len(ok)))
            for p in pres:
                if isinstance(p, Preprocessed):
                    j = next(it)
                    heat_map = None
                    if with_heatmap:
                        def heat_map(c, j=j, net=net, weights=weights, pre=p):
                            return self.heatmap_map(net, j, c, weights, pre)
                    out.append(self._finish(p, probs[j], reject[j], heat_map, distances[j],
                                            lambda j=j, net=net, pre=p: self.lesions(net, j, pre)))
                else:
                    out.append(p)
            if progress:
                progress(min(start + batch_size, len(images)), len(images))
        return out

    def heatmap(self, image) -> np.ndarray:
        """Class activation overlay (uint8 RGB) for the top condition."""
        pre = self.preprocess(image)
        weights = self.skin_weights([pre])
        net = self.network(pre.crop[None], weights)
        top_i = int(np.argmax(net.logits[0, : len(self.classes)]))
        return gradcam.overlay(pre.crop, self.heatmap_map(net, 0, top_i, weights, pre))
