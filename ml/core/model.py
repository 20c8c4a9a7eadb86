"""VGG16 transfer model, split in two parts.

* ``trunk``: VGG16 blocks 1-4 (ImageNet weights, frozen; never stored in the artifact).
* ``top``: VGG16 block 5 (fine-tuned) + the new classification head
  (GlobalAveragePooling -> Dropout -> Dense(256, relu) -> Dropout -> Dense(n) logits).

The trunk can be built in bfloat16 (AMX) for inference and feature caching; the top
runs in float32. ``top`` has three outputs: block5_conv3 activations (Grad-CAM),
the penultimate 256-d features (out-of-distribution score) and the logits.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

VGG_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
HIDDEN = 256
DROPOUT = 0.4


def conv_names(blocks=range(1, 6)):
    return [f"block{b}_conv{i}" for b in blocks for i in range(1, VGG_BLOCKS[b - 1][1] + 1)]


def sha256_file(path, chunk=1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


#: The ImageNet VGG16 convolutional base, float16, committed with the repository (see ml/weights/README.md).
SHIPPED_BASE_WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "vgg16_imagenet_notop_fp16.npz"


def read_base_weights(path) -> dict[str, list[np.ndarray]]:
    """{layer_name: [kernel, bias]} (float32) from the Keras notop ``.h5`` or our float16 ``.npz``."""
    if str(path).endswith(".npz"):
        with np.load(path, allow_pickle=False) as z:
            return {n: [z[f"{n}/kernel"].astype(np.float32), z[f"{n}/bias"].astype(np.float32)] for n in conv_names()}
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        for name in conv_names():
            g = f[name]
            names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["weight_names"]]
            out[name] = [np.asarray(g[n]) for n in names]
    return out


def base_weights_id(weights: dict[str, list[np.ndarray]]) -> str:
    """Identity of a base: sha256 of its weights rounded to float16, so the float32 Keras file and the
    float16 file made from it share one id (what an artifact records and checks)."""
    h = hashlib.sha256()
    for name in conv_names():
        for part, arr in zip(("kernel", "bias"), weights[name], strict=True):
            a = np.ascontiguousarray(np.asarray(arr).astype(np.float16))
            h.update(f"{name}/{part}{a.shape}".encode())
            h.update(a.tobytes())
    return h.hexdigest()


def export_base_weights(h5_path, out_path) -> str:
    """Write the float16 ``.npz`` base from the Keras float32 ``.h5``; returns its id."""
    weights = read_base_weights(h5_path)
    arrays = {}
    for name in conv_names():
        arrays[f"{name}/kernel"] = weights[name][0].astype(np.float16)
        arrays[f"{name}/bias"] = weights[name][1].astype(np.float16)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_path, **arrays)
    return base_weights_id(weights)


def random_base_weights(seed: int = 0) -> dict[str, list[np.ndarray]]:
    """Glorot-initialised VGG16 conv weights (only when asked for with ``"random"``; never downloads)."""
    rng = np.random.default_rng(seed)
    out, cin = {}, 3
    for b, (cout, n) in enumerate(VGG_BLOCKS, start=1):
        for i in range(1, n + 1):
            lim = np.sqrt(6.0 / (9 * cin + 9 * cout))
            out[f"block{b}_conv{i}"] = [
                rng.uniform(-lim, lim, size=(3, 3, cin, cout)).astype(np.float32),
                np.zeros(cout, np.float32),
            ]
            cin = cout
    return out


def load_base_weights(path=None) -> tuple[dict[str, list[np.ndarray]], str]:
    """(weights, id) from ``path``; the base committed with the repository when ``path`` is None.

    A missing file is an error, never a silent fallback: a model on the wrong base gives wrong answers.
    """
    if path == "random":
        weights = random_base_weights()
        return weights, base_weights_id(weights)
    path = Path(path) if path else SHIPPED_BASE_WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(f"VGG16 base weights not found at {path}")
    weights = read_base_weights(path)
    return weights, base_weights_id(weights)


def build_trunk(input_size: int, base_weights=None, dtype: str = "float32"):
    """VGG16 blocks 1-4: (S, S, 3) caffe-preprocessed -> block4_pool (S/16, S/16, 512)."""
    import keras

    inp = keras.Input((input_size, input_size, 3), name="image")
    x = inp
    for b in range(1, 5):
        x = _vgg_block(x, b, dtype)
    trunk = keras.Model(inp, x, name=f"vgg16_trunk_{dtype}")
    trunk.trainable = False
    if base_weights is not None:
        for name in conv_names(range(1, 5)):
            trunk.get_layer(name).set_weights(base_weights[name])
    return trunk


def _vgg_block(x, b, dtype):
    from keras import layers

    filters, n = VGG_BLOCKS[b - 1]
    for i in range(1, n + 1):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{b}_conv{i}", dtype=dtype)(x)
    return layers.MaxPooling2D(2, 2, name=f"block{b}_pool", dtype=dtype)(x)


def feature_hw(input_size: int) -> int:
    return input_size // 16


#: The pooled features a head can read, 512 each. "gap5" and "gap4" average block 5 (after its 2x2 max pool) and
#: block 4 over the whole crop (the heads up to vgg16-skin-v5); "skin5" and "skin4" average block5_conv3 and
#: block 4 over the crop's skin weights (``preprocess.skin_weights``: the face oval without the eyes and the mouth,
#: or the whole crop without a face), so only the skin of the face decides, and the heatmap shows where.
POOLINGS = ("gap5", "gap4", "skin5", "skin4")
#: What new heads read, in this order (block 5 for the whole-face look, block 4 for finer textures).
HEAD_INPUTS = ("skin5", "skin4")
#: What a head reads when its artifact does not say (older models): by its number of inputs.
LEGACY_HEAD_INPUTS = ("gap5", "gap4")


def head_inputs(n_features: int, kinds=None) -> tuple[str, ...]:
    """The pooled features a head with ``n_features`` inputs reads: ``kinds`` (an artifact's ``head_inputs``)
    checked against the size, else ``LEGACY_HEAD_INPUTS[:n_features // 512]``."""
    if kinds:
        kinds = tuple(kinds)
        if any(k not in POOLINGS for k in kinds) or 512 * len(kinds) != int(n_features):
            raise ValueError(f"a head of {n_features} inputs cannot read {kinds}")
        return kinds
    count, rest = divmod(int(n_features), 512)
    if rest or not 1 <= count <= len(LEGACY_HEAD_INPUTS):
        raise ValueError(f"a head reads 512 x 1..{len(LEGACY_HEAD_INPUTS)} features, not {n_features}")
    return LEGACY_HEAD_INPUTS[:count]


def needs_skin_weights(kinds) -> bool:
    return any(k.startswith("skin") for k in kinds)


def head_n_features(trained: dict) -> int:
    return int(np.shape(trained["head_dense/kernel"])[0])


def build_top(
    input_size: int, n_classes: int, base_weights=None, dropout: float = DROPOUT, n_features: int = 512, kinds=None
):
    """Block 5 + head, float32: block4_pool features (and, for skin pooling, the skin weights at the same
    resolution, (hw, hw, 1)) -> [block5_conv3, penultimate, logits]."""
    import keras
    from keras import layers

    kinds = head_inputs(n_features, kinds)
    hw = feature_hw(input_size)
    inp = keras.Input((hw, hw, 512), name="block4_features")
    inputs = [inp]
    x = inp
    for i in range(1, 4):
        x = layers.Conv2D(512, 3, padding="same", activation="relu", name=f"block5_conv{i}")(x)
    conv = x
    pooled = {}
    if "gap5" in kinds:
        pool5 = layers.MaxPooling2D(2, 2, padding="same", name="block5_pool")(conv)
        pooled["gap5"] = layers.GlobalAveragePooling2D(name="gap")(pool5)
    if "gap4" in kinds:
        pooled["gap4"] = layers.GlobalAveragePooling2D(name="gap4")(inp)
    if needs_skin_weights(kinds):
        weights = keras.Input((hw, hw, 1), name="skin_weights")
        inputs.append(weights)
        masked_mean = _masked_mean_layer()
        pooled["skin5"] = masked_mean(name="skin5")([conv, weights])
        pooled["skin4"] = masked_mean(name="skin4")([inp, weights])
    x = pooled[kinds[0]] if len(kinds) == 1 else layers.Concatenate(name="head_input")([pooled[k] for k in kinds])
    pen, logits = _head(x, n_classes, dropout)
    top = keras.Model(inputs if len(inputs) > 1 else inp, [conv, pen, logits], name="vgg16_top")
    if base_weights is not None:
        for name in conv_names([5]):
            top.get_layer(name).set_weights(base_weights[name])
    return top


#: The smallest total skin weight a map is divided by (a crop whose weights are all but zero pools to ~0).
MIN_WEIGHT_SUM = 1e-3


def _masked_mean_layer():
    """A Keras layer: ([maps (N, h, w, C), weights (N, h, w, 1)]) -> the weighted mean over h, w (N, C)."""
    import keras
    from keras import ops

    class MaskedMean(keras.layers.Layer):
        def call(self, inputs):
            maps, weights = inputs
            total = ops.maximum(ops.sum(weights, axis=(1, 2)), MIN_WEIGHT_SUM)
            return ops.sum(maps * weights, axis=(1, 2)) / total

    return MaskedMean


def masked_mean(maps: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The same in numpy: maps (N, h, w, C), weights (N, h, w) -> (N, C)."""
    w = np.asarray(weights, np.float32)[..., None]
    return (np.asarray(maps, np.float32) * w).sum(axis=(1, 2)) / np.maximum(w.sum(axis=(1, 2)), MIN_WEIGHT_SUM)


def _head(x, n_classes, dropout, l2=0.0):
    from keras import layers, regularizers

    reg = regularizers.L2(l2) if l2 else None
    x = layers.Dropout(dropout, name="head_dropout1")(x)
    pen = layers.Dense(HIDDEN, activation="relu", name="head_dense", kernel_regularizer=reg)(x)
    x = layers.Dropout(dropout, name="head_dropout2")(pen)
    logits = layers.Dense(n_classes, name="head_logits", kernel_regularizer=reg)(x)
    return pen, logits


def build_head(n_classes: int, dropout: float = DROPOUT, l2: float = 0.0, n_features: int = 512):
    """The head alone on pooled features (512-d block 5 by default)."""
    import keras

    inp = keras.Input((n_features,), name="pooled")
    pen, logits = _head(inp, n_classes, dropout, l2)
    return keras.Model(inp, logits, name="head")


HEAD_LAYERS = ("head_dense", "head_logits")
#: Layers an artifact may carry: the head always, block 5 only when it was really fine-tuned.
TRAINED_LAYERS = (*conv_names([5]), *HEAD_LAYERS)


def get_trained_weights(top, layers=HEAD_LAYERS) -> dict[str, np.ndarray]:
    out = {}
    for name in layers:
        k, b = top.get_layer(name).get_weights()
        out[f"{name}/kernel"], out[f"{name}/bias"] = k, b
    return out


def set_trained_weights(top, weights: dict[str, np.ndarray]) -> None:
    """Set the layers present in ``weights``; the others keep the base weights."""
    for name in TRAINED_LAYERS:
        if f"{name}/kernel" not in weights:
            continue
        layer = top.get_layer(name)
        layer.set_weights(
            [np.asarray(weights[f"{name}/kernel"], np.float32), np.asarray(weights[f"{name}/bias"], np.float32)]
        )


def build_full_model(
    input_size: int, n_classes: int, base_weights, trained: dict | None, dtype: str = "float32", kinds=None
):
    """The whole classifier as one plain Keras model (image [, skin weights (hw, hw, 1)] -> logits); the fp32
    reference."""
    import keras

    trunk = build_trunk(input_size, base_weights, dtype=dtype)
    n_features = head_n_features(trained) if trained else 512
    top = build_top(input_size, n_classes, base_weights, n_features=n_features, kinds=kinds)
    if trained is not None:
        set_trained_weights(top, trained)
    inp = keras.Input((input_size, input_size, 3), name="image")
    feats = trunk(inp)
    if dtype != "float32":
        feats = keras.layers.Activation("linear", dtype="float32", name="to_float32")(feats)
    if len(top.inputs) == 1:
        return keras.Model(inp, top(feats)[2], name="facediag_vgg16")
    hw = feature_hw(input_size)
    weights = keras.Input((hw, hw, 1), name="skin_weights")
    return keras.Model([inp, weights], top([feats, weights])[2], name="facediag_vgg16")
