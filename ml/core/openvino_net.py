"""The classifier network on OpenVINO: uint8 crops -> (block5_conv3 maps, penultimate, logits).

The graph is built here, op by op, from the same numpy weights the TensorFlow path loads (the VGG16 base
and the artifact's trained layers), so nothing is converted, downloaded or cached on disk and the worker
needs no TensorFlow import. It computes what ``build_trunk`` + ``build_top`` compute:

* the VGG "caffe" preprocessing (RGB -> BGR, ImageNet mean removed) folded into the graph: the input is
  the uint8 RGB crop batch (N, S, S, 3);
* VGG16 blocks 1-5 (3x3 conv + ReLU, 2x2 max pooling; block 5's pooling is ``padding="same"``);
* global average pooling, Dense(256, ReLU) (the penultimate activations) and Dense(n) (the logits).

Outputs keep the Keras layout: the block-5 maps come back NHWC for the closed-form heatmap.
On a CPU with native bf16 (AVX512_BF16 or AMX) the plugin runs in bfloat16 (``INFERENCE_PRECISION_HINT``);
elsewhere in float32. ``precision`` forces one ("bf16", "f32").
"""

from __future__ import annotations

import os
import threading

import numpy as np

from .model import VGG_BLOCKS
from .preprocess import VGG_MEAN_BGR


def available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def _conv_relu(o, x, kernel_hwio: np.ndarray, bias: np.ndarray, name: str):
    w = np.ascontiguousarray(np.transpose(kernel_hwio.astype(np.float32), (3, 2, 0, 1)))  # OIHW
    y = o.convolution(x, o.constant(w), [1, 1], [1, 1], [1, 1], [1, 1], name=name)
    y = o.add(y, o.constant(bias.astype(np.float32).reshape(1, -1, 1, 1)))
    return o.relu(y, name=f"{name}_relu")


def build_model(input_size: int, base_weights: dict, trained: dict, n_out: int):
    """An ``openvino.Model`` (dynamic batch) with outputs ``conv`` (N, h, w, 512), ``pen`` (N, 256) and
    ``logits`` (N, n_out), float32."""
    import openvino as ov
    import openvino.opset13 as o

    def layer(name):
        if f"{name}/kernel" in trained:
            return np.asarray(trained[f"{name}/kernel"], np.float32), np.asarray(trained[f"{name}/bias"], np.float32)
        k, b = base_weights[name]
        return np.asarray(k, np.float32), np.asarray(b, np.float32)

    image = o.parameter([-1, input_size, input_size, 3], ov.Type.u8, name="image")
    x = o.convert(image, ov.Type.f32)
    x = o.subtract(x, o.constant(VGG_MEAN_BGR[::-1].reshape(1, 1, 1, 3).copy()))  # RGB order
    x = o.transpose(x, o.constant(np.array([0, 3, 1, 2], np.int64)))
    conv = None
    for b, (_filters, n) in enumerate(VGG_BLOCKS, start=1):
        for i in range(1, n + 1):
            name = f"block{b}_conv{i}"
            k, bias = layer(name)
            if name == "block1_conv1":
                k = k[:, :, ::-1, :]  # the kernel expects BGR: reverse its input channels instead of the image
            x = _conv_relu(o, x, k, bias, name)
        if b == 5:
            conv = x
        # blocks 1-4 pool "valid"; block 5 pools "same" (TensorFlow pads at the end: SAME_UPPER)
        pad = "same_upper" if b == 5 else "valid"
        x = o.max_pool(x, [2, 2], [1, 1], [0, 0], [0, 0], [2, 2], auto_pad=pad, name=f"block{b}_pool").output(0)
    gap = o.reduce_mean(x, o.constant(np.array([2, 3], np.int64)), keep_dims=False, name="gap")
    w1, b1 = layer("head_dense")
    pen = o.relu(o.add(o.matmul(gap, o.constant(w1), False, False, name="head_dense"), o.constant(b1)), name="pen")
    w2, b2 = layer("head_logits")
    logits = o.add(o.matmul(pen, o.constant(w2), False, False, name="head_logits"), o.constant(b2), name="logits")
    conv_nhwc = o.transpose(conv, o.constant(np.array([0, 2, 3, 1], np.int64)), name="conv")
    outs = [conv_nhwc, pen, logits]
    for node, name in zip(outs, ("conv", "pen", "logits"), strict=True):
        node.output(0).get_tensor().set_names({name})
    return ov.Model([n.output(0) for n in outs], [image], "facediag_vgg16")


def cpu_has_bf16() -> bool:
    from .inference import bf16_supported

    return bf16_supported()


class OpenVINONet:
    """Compiled once per process; ``__call__(crops_uint8) -> (conv, pen, logits)`` as numpy float32.

    Two compiled models share the graph: LATENCY (one stream, every core on one image) for single
    images, THROUGHPUT for batches (the batch split across streams, one request each, run together).
    """

    def __init__(self, model, precision: str | None = None, threads: int | None = None):
        import openvino as ov
        import openvino.properties.hint as hints

        self.core = ov.Core()
        if precision is None:
            precision = "bf16" if cpu_has_bf16() else "f32"
        self.precision = precision
        self.dtype = {"bf16": "bfloat16", "f32": "float32", "int8": "int8"}.get(precision, precision)
        config = {}
        if precision in ("bf16", "f32"):
            config[hints.inference_precision] = ov.Type.bf16 if precision == "bf16" else ov.Type.f32
        elif cpu_has_bf16():  # an int8 model: whatever stays in float runs in bf16 where the CPU has it
            config[hints.inference_precision] = ov.Type.bf16
        threads = threads or int(os.environ.get("FACEDIAG_INFERENCE_THREADS", "0") or 0)
        if threads:
            import openvino.properties as props

            config[props.inference_num_threads] = threads
        self._latency = self.core.compile_model(
            model, "CPU", {**config, hints.performance_mode: hints.PerformanceMode.LATENCY}
        )
        self._throughput = self.core.compile_model(
            model, "CPU", {**config, hints.performance_mode: hints.PerformanceMode.THROUGHPUT}
        )
        import openvino.properties as props

        self.streams = int(self._throughput.get_property(props.num_streams))
        self._local = threading.local()

    def _requests(self):
        reqs = getattr(self._local, "reqs", None)
        if reqs is None:
            reqs = self._local.reqs = (
                self._latency.create_infer_request(),
                [self._throughput.create_infer_request() for _ in range(max(1, self.streams))],
            )
        return reqs

    def __call__(self, crops_uint8: np.ndarray):
        crops = np.ascontiguousarray(np.asarray(crops_uint8, np.uint8))
        if crops.ndim == 3:
            crops = crops[None]
        single, many = self._requests()
        n = len(crops)
        if n == 0:
            raise ValueError("no crops")
        if n < 2 * len(many) or len(many) == 1:
            res = single.infer(crops)
            return tuple(np.array(res[i]) for i in range(3))
        parts = np.array_split(crops, len(many))
        for req, part in zip(many, parts, strict=True):
            req.start_async(part)
        outs = []
        for req in many:
            req.wait()
            outs.append([np.array(req.get_output_tensor(i).data) for i in range(3)])
        return tuple(np.concatenate([o[i] for o in outs]) for i in range(3))
