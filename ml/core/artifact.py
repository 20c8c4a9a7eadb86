"""The model artifact: ``model.npz`` (only what training changed, float16) + ``metadata.json``.

The ImageNet base is never stored in an artifact: it is the float16 file committed once under
``ml/weights/`` (or ``FACEDIAG_VGG16_WEIGHTS``), checked against ``base_weights_id`` in the metadata.
An artifact holds the head, and block 5 only when training really changed it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .model import HEAD_LAYERS, sha256_file

#: The model the repository ships: what the run command, Docker Compose and the benchmarks register and read.
SHIPPED_MODEL_DIR = Path(__file__).resolve().parents[1] / "artifacts" / "vgg16-skin-v6.1"

WEIGHTS_FILE = "model.npz"
METADATA_FILE = "metadata.json"
#: The lesion readout's files (``lesion_model.WEIGHTS_FILE``, ``METADATA_FILE``) where an artifact has them.
LESION_FILES = ("lesions.npz", "lesions.json")
FORMAT_VERSION = 1


class ArtifactError(RuntimeError):
    """The artifact is missing, incomplete or corrupt."""


def save(out_dir, trained: dict[str, np.ndarray], metadata: dict, extra_arrays: dict | None = None, dtype="float16"):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.asarray(v).astype(dtype) for k, v in trained.items()}
    for k, v in (extra_arrays or {}).items():
        arrays[f"extra/{k}"] = np.asarray(v, dtype=np.float32)
    np.savez_compressed(out / WEIGHTS_FILE, **arrays)
    meta = dict(metadata)
    meta["format_version"] = FORMAT_VERSION
    meta["weights_file"] = WEIGHTS_FILE
    meta["weights_sha256"] = sha256_file(out / WEIGHTS_FILE)
    with open(out / METADATA_FILE, "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True, default=_json_default)
    return out


def load(art_dir):
    """-> (metadata, trained weights as float32, extra arrays). Raises ArtifactError."""
    d = Path(art_dir)
    mpath, wpath = d / METADATA_FILE, d / WEIGHTS_FILE
    if not mpath.is_file() or not wpath.is_file():
        raise ArtifactError(f"artifact incomplete at {d}: need {METADATA_FILE} and {WEIGHTS_FILE}")
    try:
        meta = json.loads(mpath.read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"unreadable metadata: {exc}") from exc
    for key in ("classes", "input_size", "temperature", "thresholds"):
        if key not in meta:
            raise ArtifactError(f"metadata lacks {key!r}")
    if meta.get("weights_sha256") and meta["weights_sha256"] != sha256_file(wpath):
        raise ArtifactError("model.npz does not match the checksum in metadata.json")
    try:
        with np.load(wpath, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # zipfile/pickle/value errors of a corrupt file
        raise ArtifactError(f"unreadable weights: {exc}") from exc
    trained, extra = {}, {}
    for k, v in arrays.items():
        if k.startswith("extra/"):
            extra[k[6:]] = v.astype(np.float32)
        else:
            trained[k] = v.astype(np.float32)
    missing = [f"{n}/{p}" for n in HEAD_LAYERS for p in ("kernel", "bias") if f"{n}/{p}" not in trained]
    if missing:
        raise ArtifactError(f"weights missing: {missing}")
    n = len(meta["classes"]) + (1 if meta.get("reject_class") else 0)
    if trained["head_logits/kernel"].shape[-1] != n:
        raise ArtifactError("head size does not match the classes in metadata")
    return meta, trained, extra


def artifact_sha256(art_dir) -> str:
    """Checksum of the artifact (weights + metadata) used to identify a ModelVersion."""
    d = Path(art_dir)
    h = hashlib.sha256()
    for name in (WEIGHTS_FILE, METADATA_FILE):
        p = d / name
        if not p.is_file():
            raise ArtifactError(f"missing {p}")
        h.update(sha256_file(p).encode())
    for name in LESION_FILES:  # a lesion head is part of what the version answers (optional)
        p = d / name
        if p.is_file():
            h.update(f"{name}:{sha256_file(p)}".encode())
    return h.hexdigest()


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")
