"""The classifier network on OpenVINO: uint8 crops -> (block5_conv3 maps, penultimate, logits).

The graph is built here, op by op, from the same numpy weights the TensorFlow path loads (the VGG16 base
and the artifact's trained layers), so nothing is converted, downloaded or cached on disk and the worker
needs no TensorFlow import. It computes what ``build_trunk`` + ``build_top`` compute:

* the VGG "caffe" preprocessing (RGB -> BGR, ImageNet mean removed) folded into the graph: the input is
  the uint8 RGB crop batch (N, S, S, 3);
* VGG16 blocks 1-5 (3x3 conv + ReLU, 2x2 max pooling; block 5's pooling is ``padding="same"``);
* global average pooling (of block 5, and of block 4 where the head reads it), Dense(256, ReLU) (the
  penultimate activations) and Dense(n) (the logits).

Outputs keep the Keras layout: the block-5 maps come back NHWC for the closed-form heatmap.
Where int8 pays (``int8_pays``: int8 dot products, VNNI or AMX, or no bf16 either, as on plain AVX2) blocks
1-4 run in int8 (the committed recipe) and block 5 with the head in float32, as two compiled models
(``INFERENCE_PRECISION_HINT`` per model: the CPU plugin has no per-layer precision); with bf16 but no int8,
blocks 1-4 in bfloat16; elsewhere all in float32. See ``PRECISIONS``.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .model import MIN_WEIGHT_SUM, POOLINGS, VGG_BLOCKS, head_inputs, needs_skin_weights
from .preprocess import VGG_MEAN_BGR

logger = logging.getLogger(__name__)


def available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def _fake_quantize(o, x, int8: dict | None, key: str):
    """The activation quantiser an int8 recipe holds for ``key`` (a FakeQuantize: int8 kernels follow)."""
    if not int8 or f"fq/{key}/input_low" not in int8:
        return x
    lo_hi = [o.constant(np.asarray(int8[f"fq/{key}/{p}"], np.float32)) for p in FQ_PARTS]
    return o.fake_quantize(x, *lo_hi, int(int8[f"fq/{key}/levels"]), name=f"{key}/fq")


def _conv_relu(o, x, kernel_hwio: np.ndarray, bias: np.ndarray, name: str, int8: dict | None = None):
    w = np.ascontiguousarray(np.transpose(kernel_hwio.astype(np.float32), (3, 2, 0, 1)))  # OIHW
    if int8 and f"w/{name}/scale" in int8:  # symmetric per-output-channel int8 weights
        scale = np.asarray(int8[f"w/{name}/scale"], np.float32).reshape(-1, 1, 1, 1)
        qmax = int(int8[f"w/{name}/qmax"])
        low, high = (-qmax * scale).astype(np.float32), (qmax * scale).astype(np.float32)
        # FakeQuantize's rounding, in float32 as OpenVINO folds it: the very int8 weights NNCF wrote
        wq = (np.round((w - low) / (high - low) * np.float32(2 * qmax)) - qmax).clip(-qmax, qmax).astype(np.int8)
        weights = o.multiply(o.convert(o.constant(wq), "f32"), o.constant(scale), name=f"{name}/weights")
    else:
        weights = o.constant(w)
    if int8 and f"b/{name}" in int8:  # the bias as bias correction left it
        bias = np.asarray(int8[f"b/{name}"], np.float32)
    y = o.convolution(x, weights, [1, 1], [1, 1], [1, 1], [1, 1], name=name)
    y = o.add(y, o.constant(bias.astype(np.float32).reshape(1, -1, 1, 1)), name=f"{name}_bias")
    return _fake_quantize(o, o.relu(y, name=f"{name}_relu"), int8, f"{name}_relu")


FQ_PARTS = ("input_low", "input_high", "output_low", "output_high")


def build_model(
    input_size: int,
    base_weights: dict,
    trained: dict,
    n_out: int,
    part: str = "all",
    int8=None,
    kinds=None,
    maps4: bool = False,
):
    """An ``openvino.Model`` (dynamic batch). ``part="all"``: uint8 crops -> outputs ``conv`` (N, h, w, 512),
    ``block4`` (N, 512, h, w: the block-4 pooled maps, for the heatmap), ``pen`` (N, 256) and ``logits``
    (N, n_out), float32. ``part="trunk"``: uint8 crops -> ``block4``; ``part="top"``: ``block4`` -> ``conv``,
    ``pen`` and ``logits`` (block 5 and the head); ``part="pooled"``: uint8 crops -> the pooled features
    ``kinds`` (N, 512 each; default ``model.POOLINGS``), what training caches (no head);
    ``part="pooled_top"``: ``block4`` -> the same.
    ``kinds``: what the head reads (an artifact's ``head_inputs``; by default by the head's size). Pooling over
    the skin weights adds an input ``skin_weights`` (N, 1, h, w), at block 4's resolution.
    ``int8``: a quantisation recipe (``ml.core.openvino_int8.recipe_from_model``): int8 weights, activation
    quantisers and corrected biases where it has them.
    ``maps4``: the parts that run block 4 also return ``maps4`` (N, 512, S/8, S/8), block4_conv3 before its
    pooling, what the lesion readout reads (``lesion_model``); ``part="maps4"``: uint8 crops -> ``maps4`` only."""
    import openvino as ov
    import openvino.opset13 as o

    def layer(name):
        if f"{name}/kernel" in trained:
            return np.asarray(trained[f"{name}/kernel"], np.float32), np.asarray(trained[f"{name}/bias"], np.float32)
        k, b = base_weights[name]
        return np.asarray(k, np.float32), np.asarray(b, np.float32)

    pooled_only = part in ("pooled", "pooled_top")
    if pooled_only:
        kinds = tuple(kinds or POOLINGS)
    elif part not in ("trunk", "maps4"):
        kinds = head_inputs(layer("head_dense")[0].shape[0], kinds)
    hw = input_size // 16
    top = part in ("top", "pooled_top")
    if top:
        inp = o.parameter([-1, 512, hw, hw], ov.Type.f32, name="block4")
        x = inp
    else:
        inp = o.parameter([-1, input_size, input_size, 3], ov.Type.u8, name="image")
        x = o.convert(inp, ov.Type.f32)
        x = o.subtract(x, o.constant(VGG_MEAN_BGR[::-1].reshape(1, 1, 1, 3).copy()), name="preprocess")  # RGB
        x = _fake_quantize(o, x, int8, "preprocess")
        x = o.transpose(x, o.constant(np.array([0, 3, 1, 2], np.int64)))
    inputs = [inp]
    conv = None
    block4 = inp  # the "top" part's input; the others set it after block 4
    conv4 = None
    for b, (_filters, n) in enumerate(VGG_BLOCKS, start=1):
        if (top and b < 5) or (part in ("trunk", "maps4") and b == 5):
            continue
        for i in range(1, n + 1):
            name = f"block{b}_conv{i}"
            k, bias = layer(name)
            if name == "block1_conv1":
                k = k[:, :, ::-1, :]  # the kernel expects BGR: reverse its input channels instead of the image
            x = _conv_relu(o, x, k, bias, name, int8)
        if b == 5:
            conv = x
            break  # block 5's own pooling only feeds "gap5" (below)
        if b == 4:
            conv4 = x.output(0) if hasattr(x, "output") else x
            conv4.get_tensor().set_names({"maps4"})
            if part == "maps4":
                return ov.Model([conv4], [inp], "facediag_vgg16_maps4")
        x = o.max_pool(x, [2, 2], [1, 1], [0, 0], [0, 0], [2, 2], auto_pad="valid", name=f"block{b}_pool").output(0)
        if b == 4:
            block4 = x
    if part == "trunk":
        x.get_tensor().set_names({"block4"})
        return ov.Model([x, conv4] if maps4 else [x], [inp], "facediag_vgg16_trunk")
    hw_axes = o.constant(np.array([2, 3], np.int64))
    pooled = {}
    if "gap5" in kinds:  # block 5 pools "same" (TensorFlow pads at the end: SAME_UPPER), then the mean
        pool5 = o.max_pool(conv, [2, 2], [1, 1], [0, 0], [0, 0], [2, 2], auto_pad="same_upper", name="block5_pool")
        pooled["gap5"] = o.reduce_mean(pool5.output(0), hw_axes, keep_dims=False, name="gap")
    if "gap4" in kinds:
        pooled["gap4"] = o.reduce_mean(block4, hw_axes, keep_dims=False, name="gap4")
    if needs_skin_weights(kinds):
        weights = o.parameter([-1, 1, hw, hw], ov.Type.f32, name="skin_weights")
        inputs.append(weights)
        total = o.maximum(o.reduce_sum(weights, hw_axes, keep_dims=False), o.constant(np.float32(MIN_WEIGHT_SUM)))
        for kind, maps in (("skin5", conv), ("skin4", block4)):
            summed = o.reduce_sum(o.multiply(maps, weights), hw_axes, keep_dims=False)
            pooled[kind] = o.divide(summed, total, name=kind)
    if pooled_only:
        outs = []
        for kind in kinds:
            pooled[kind].output(0).get_tensor().set_names({kind})
            outs.append(pooled[kind].output(0))
        return ov.Model(outs, inputs, "facediag_vgg16_pooled")
    head_in = pooled[kinds[0]] if len(kinds) == 1 else o.concat([pooled[k] for k in kinds], axis=1)
    w1, b1 = layer("head_dense")
    pen = o.relu(o.add(o.matmul(head_in, o.constant(w1), False, False, name="head_dense"), o.constant(b1)), name="pen")
    w2, b2 = layer("head_logits")
    logits = o.add(o.matmul(pen, o.constant(w2), False, False, name="head_logits"), o.constant(b2), name="logits")
    conv_nhwc = o.transpose(conv, o.constant(np.array([0, 2, 3, 1], np.int64)), name="conv")
    outs = [conv_nhwc, pen, logits]
    names = ["conv", "pen", "logits"]
    if not top:  # one model for the whole network: block 4's maps come out too (the two-stage net has them)
        outs.append(block4.node if hasattr(block4, "node") else block4)
        names.append("block4")
        if maps4:
            outs.append(conv4)
            names.append("maps4")
    results = []
    for node, name in zip(outs, names, strict=True):
        out = node.output(0) if hasattr(node, "output") else node
        out.get_tensor().set_names({name})
        results.append(out)
    return ov.Model(results, inputs, "facediag_vgg16" if part == "all" else "facediag_vgg16_top")


def cpu_has_bf16() -> bool:
    from .inference import bf16_supported

    return bf16_supported()


#: Precision modes: "mixed" runs blocks 1-4 in bf16 and block 5 + the head in float32 (the same split as
#: the TensorFlow path; the held-out decisions stay those of float32), "bf16" all of it in bf16 (~5 ms
#: faster per image; with vgg16-skin-v2 it moved 2 of 940 held-out decisions at the uncertain margin), "f32"
#: all float32, "int8" blocks 1-4 in int8 from the committed recipe (``INT8_RECIPE``) and block 5 + head in
#: float32 (the default).
PRECISIONS = ("mixed", "bf16", "f32", "int8")

#: What NNCF's accuracy-controlled quantisation changed in blocks 1-4 of the committed base (see
#: ``ml/core/openvino_int8.py``): calibrated and validated on training images only.
INT8_RECIPE = Path(__file__).with_name("openvino_int8_trunk.npz")


def cpu_flags() -> set:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_has_int8() -> bool:
    """int8 dot products in hardware (VNNI or AMX)."""
    return bool(cpu_flags() & {"avx512_vnni", "avx_vnni", "amx_int8"})


def int8_pays() -> bool:
    """Whether int8 blocks 1-4 beat the float alternative on this CPU: with int8 dot products always; without
    them only where there is no bf16 either (plain AVX2: int8 through 16-bit pair sums still ran blocks 1-4
    twice as fast as float32 on a 2-core EPYC, 2026-11-27), never against bf16 alone."""
    return cpu_has_int8() or not cpu_has_bf16()


def int8_recipe(base_id: str | None):
    """The committed int8 recipe as a dict, or None when it is missing or made for another base."""
    if not INT8_RECIPE.is_file():
        return None
    with np.load(INT8_RECIPE, allow_pickle=False) as z:
        recipe = {k: z[k] for k in z.files}
    if base_id and str(recipe.get("meta/base_weights_id", "")) != base_id:
        return None
    return recipe


def choose_precision(requested: str | None = None, base_id: str | None = None) -> str:
    """``requested``, else ``FACEDIAG_INFERENCE_PRECISION``, else the default ("int8"). "int8" needs a CPU where
    it pays (``int8_pays``) and a recipe for this base, else it is "mixed"; "mixed" and "bf16" need bf16, else
    they are "f32"."""
    name = (requested or os.environ.get("FACEDIAG_INFERENCE_PRECISION", "") or DEFAULT_PRECISION).strip().lower()
    if name not in PRECISIONS:
        raise ValueError(f"unknown precision {name!r}; choose one of {', '.join(PRECISIONS)}")
    if name == "int8":
        if not int8_pays() or int8_recipe(base_id) is None:
            logger.warning("int8 inference needs a CPU where it pays and a recipe for this base: using bf16/float32")
            name = "mixed"
    if name in ("mixed", "bf16") and not cpu_has_bf16():
        name = "f32"
    return name


#: int8 where it pays (``int8_pays``): on vgg16-skin-v5's whole held-out split (940 photos, AVX2 only) it agrees
#: with float32 on top-1 for every photo and on 939 final labels, at 173 ms instead of 357 (``bench/inference.py``).
DEFAULT_PRECISION = "int8"


class NetOutput(NamedTuple):
    """What the network returns for a batch, numpy float32: block5_conv3 maps (N, h, w, 512), the penultimate
    activations (N, 256), the logits (N, n_out), block 4's pooled maps (N, 512, h, w; for the heatmap) and,
    where a readout needs them, block4_conv3's maps before pooling (N, 512, 2h, 2w; the lesion readout)."""

    conv: np.ndarray
    pen: np.ndarray
    logits: np.ndarray
    block4: np.ndarray | None = None
    maps4: np.ndarray | None = None


class OpenVINONet:
    """Compiled once per process; ``__call__(crops_uint8, skin_weights=None) -> NetOutput``.

    ``stages``: ``[(model, precision), ...]`` run one after the other (a stage reads the network's inputs and
    the outputs of the stages before it, by name), ``precision`` one of "bf16", "f32", "int8" (an int8 IR:
    what stayed in float runs in bf16 where the CPU has it). Every stage is compiled twice: LATENCY (one
    stream, every core on one image) for single images, THROUGHPUT for batches (the batch split across
    the streams, one request each, run together).
    """

    def __init__(self, stages, threads: int | None = None):
        import openvino as ov
        import openvino.properties as props
        import openvino.properties.hint as hints

        self.core = ov.Core()
        threads = threads or int(os.environ.get("FACEDIAG_INFERENCE_THREADS", "0") or 0)
        self._latency, self._throughput = [], []
        for model, precision in stages:
            config = {}
            if precision == "f32" or not cpu_has_bf16():
                config[hints.inference_precision] = ov.Type.f32
            else:
                config[hints.inference_precision] = ov.Type.bf16
            if threads:
                config[props.inference_num_threads] = threads
            lat = {**config, hints.performance_mode: hints.PerformanceMode.LATENCY}
            thr = {**config, hints.performance_mode: hints.PerformanceMode.THROUGHPUT}
            self._latency.append(self.core.compile_model(model, "CPU", lat))
            self._throughput.append(self.core.compile_model(model, "CPU", thr))
        self._inputs = [[port.any_name for port in c.inputs] for c in self._latency]
        self._outputs = [[port.any_name for port in c.outputs] for c in self._latency]
        self.needs_skin_weights = any("skin_weights" in names for names in self._inputs)
        self.streams = min(int(c.get_property(props.num_streams)) for c in self._throughput)
        self._local = threading.local()

    @classmethod
    def for_artifact(
        cls,
        input_size,
        base_weights,
        trained,
        n_out,
        precision: str | None = None,
        threads=None,
        base_id=None,
        kinds=None,
        maps4: bool = False,
    ):
        """The network of an artifact in ``precision`` (see ``choose_precision``); ``kinds``: its head inputs;
        ``maps4``: also return block4_conv3's maps (a lesion readout reads them)."""
        precision = choose_precision(precision, base_id)
        recipe = int8_recipe(base_id) if precision == "int8" else None
        if precision in ("mixed", "int8"):
            stages = [
                (build_model(input_size, base_weights, trained, n_out, part="trunk", int8=recipe, maps4=maps4),
                 precision),
                (build_model(input_size, base_weights, trained, n_out, part="top", kinds=kinds), "f32"),
            ]
        else:
            stages = [(build_model(input_size, base_weights, trained, n_out, kinds=kinds, maps4=maps4), precision)]
        net = cls(stages, threads=threads)
        net.precision = precision
        net.dtype = {
            "mixed": "bfloat16 blocks 1-4, float32 block 5 and head",
            "int8": "int8 blocks 1-4, float32 block 5 and head",
            "bf16": "bfloat16",
            "f32": "float32",
        }[precision]
        return net

    precision = "custom"
    dtype = "custom"

    def _requests(self):
        reqs = getattr(self._local, "reqs", None)
        if reqs is None:
            n = max(1, self.streams)
            reqs = self._local.reqs = (
                [c.create_infer_request() for c in self._latency],
                [[c.create_infer_request() for c in self._throughput] for _ in range(n)],
            )
        return reqs

    def _feeds(self, stage: int, values: dict) -> dict:
        return {name: values[name] for name in self._inputs[stage]}

    def _keep(self, stage: int, request, values: dict) -> None:
        for i, name in enumerate(self._outputs[stage]):
            values[name] = np.array(request.get_output_tensor(i).data)

    def _run(self, chain, values: dict) -> dict:
        for stage, req in enumerate(chain):
            req.infer(self._feeds(stage, values))
            self._keep(stage, req, values)
        return values

    def outputs(self, crops_uint8: np.ndarray) -> dict:
        """Every output of a network without skin weights (a feature extractor, e.g. ``part="maps4"``) by name."""
        single, _many = self._requests()
        return self._run(single, {"image": np.ascontiguousarray(np.asarray(crops_uint8, np.uint8))})

    def __call__(self, crops_uint8: np.ndarray, skin_weights: np.ndarray | None = None) -> NetOutput:
        """``skin_weights``: (N, h, w) at block 4's resolution, where the head pools over the skin."""
        crops = np.ascontiguousarray(np.asarray(crops_uint8, np.uint8))
        if crops.ndim == 3:
            crops = crops[None]
        if len(crops) == 0:
            raise ValueError("no crops")
        values = {"image": crops}
        if self.needs_skin_weights:
            if skin_weights is None:
                raise ValueError("this network pools over the skin: pass the crops' skin weights")
            weights = np.asarray(skin_weights, np.float32)
            values["skin_weights"] = np.ascontiguousarray(weights.reshape(len(crops), 1, *weights.shape[-2:]))
        single, many = self._requests()
        if len(crops) < 2 * len(many) or len(many) == 1:
            return _output(self._run(single, values))
        # each stream runs its share through every stage; the first stage of all of them together
        shares = [{k: part for k, part in zip(values, parts, strict=True)}
                  for parts in zip(*(np.array_split(v, len(many)) for v in values.values()), strict=True)]
        for stage in range(len(self._throughput)):
            for chain, share in zip(many, shares, strict=True):
                chain[stage].start_async(self._feeds(stage, share))
            for chain, share in zip(many, shares, strict=True):
                chain[stage].wait()
                self._keep(stage, chain[stage], share)
        outs = [_output(share) for share in shares]
        n = len(NetOutput._fields)
        return NetOutput(*(None if outs[0][i] is None else np.concatenate([o[i] for o in outs]) for i in range(n)))


def _output(values: dict) -> NetOutput:
    return NetOutput(values["conv"], values["pen"], values["logits"], values.get("block4"), values.get("maps4"))
