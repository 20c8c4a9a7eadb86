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


#: What the head reads, in this order: the average-pooled block-5 features, then the average-pooled block-4
#: features (finer textures; with them, held-out-source macro-F1 rose from 0.51 to 0.59). A head whose first
#: kernel has 512 rows reads block 5 only (the models before vgg16-skin-v3).
HEAD_INPUTS = ("gap5", "gap4")


def head_inputs(n_features: int) -> tuple[str, ...]:
    """The pooled features a head with ``n_features`` inputs reads (512 per kind, ``HEAD_INPUTS`` order)."""
    kinds, rest = divmod(int(n_features), 512)
    if rest or not 1 <= kinds <= len(HEAD_INPUTS):
        raise ValueError(f"a head reads 512 x 1..{len(HEAD_INPUTS)} features, not {n_features}")
    return HEAD_INPUTS[:kinds]


def head_n_features(trained: dict) -> int:
    return int(np.shape(trained["head_dense/kernel"])[0])


def build_top(input_size: int, n_classes: int, base_weights=None, dropout: float = DROPOUT, n_features: int = 512):
    """Block 5 + head, float32: block4_pool features -> [block5_conv3, penultimate, logits]."""
    import keras
    from keras import layers

    hw = feature_hw(input_size)
    inp = keras.Input((hw, hw, 512), name="block4_features")
    x = inp
    for i in range(1, 4):
        x = layers.Conv2D(512, 3, padding="same", activation="relu", name=f"block5_conv{i}")(x)
    conv = x
    x = layers.MaxPooling2D(2, 2, padding="same", name="block5_pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    if "gap4" in head_inputs(n_features):
        x = layers.Concatenate(name="head_input")([x, layers.GlobalAveragePooling2D(name="gap4")(inp)])
    pen, logits = _head(x, n_classes, dropout)
    top = keras.Model(inp, [conv, pen, logits], name="vgg16_top")
    if base_weights is not None:
        for name in conv_names([5]):
            top.get_layer(name).set_weights(base_weights[name])
    return top


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


def build_full_model(input_size: int, n_classes: int, base_weights, trained: dict | None, dtype: str = "float32"):
    """The whole classifier as one plain Keras model (image -> logits); used as the fp32 reference."""
    import keras

    trunk = build_trunk(input_size, base_weights, dtype=dtype)
    top = build_top(input_size, n_classes, base_weights, n_features=head_n_features(trained) if trained else 512)
    if trained is not None:
        set_trained_weights(top, trained)
    inp = keras.Input((input_size, input_size, 3), name="image")
    feats = trunk(inp)
    if dtype != "float32":
        feats = keras.layers.Activation("linear", dtype="float32", name="to_float32")(feats)
    logits = top(feats)[2]
    return keras.Model(inp, logits, name="facediag_vgg16")
