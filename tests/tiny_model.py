"""The one tiny model of a test run: 32 px input, trained by the real training code on generated images.

Under pytest-xdist the controller starts ``python -m tests.tiny_model <folder>`` as soon as the session starts,
holding the folder's lock, so the model trains while the workers run the tests that need none; the first
worker that needs it waits on the lock (conftest.tiny_artifact_dir). One process (``-n 0``) trains it in place.
"""

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

INPUT_SIZE = 32
NAME = "tiny-vgg16-test"


def model_dir(shared: Path) -> Path:
    return shared / "tiny-model" / "tiny-vgg16"


def lock_path(shared: Path) -> Path:
    return shared / "tiny-model.lock"


def make_skin_data(root: Path):
    """-> (generated skin images, 4 classes x 10 from sources src0/src1; photos with no skin, neg0/neg1)."""
    from ml.tests.synth import make_dataset, make_negatives

    return make_dataset(root / "data", per_class=10, size=64), make_negatives(root / "negatives", per_source=4)


def make_lesion_data(root: Path):
    """-> a generated skin4-like folder with marked lesions (``ml.tests.synth.make_lesion_dataset``)."""
    from ml.tests.synth import make_lesion_dataset

    return make_lesion_dataset(root / "skin4")


def train_tiny_model(out: Path, data, negatives, lesion_data):
    from ml.core.train import train
    from ml.core.training.lesions import train as train_lesions

    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    train([data], partial, negative_dirs=[negatives], input_size=INPUT_SIZE, views=2, name=NAME,
          head_grid=((25, 0.2, 0.0),), log=lambda *_: None)
    # and its lesion head, trained by the real lesion training on generated spotted skin
    train_lesions(lesion_data, partial, input_size=INPUT_SIZE, epochs=25, hidden=16, n_mosaics=8,
                  negatives_per_source=4, log=lambda *_: None)
    # Generated skin has no faces: without this, "healthy needs a face" would make every healthy reading of the
    # tiny model "can't tell" (ml/tests/test_photo_gates.py tests the rule itself).
    meta_path = partial / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["thresholds"]["healthy_needs_face"] = False
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True))
    partial.rename(out)  # complete or absent: a worker never sees half a model


def start_in_background(shared: Path) -> subprocess.Popen:
    """Takes the lock and hands it to a training process: it is released when that process ends."""
    shared.mkdir(parents=True, exist_ok=True)
    lock = open(lock_path(shared), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    log = open(shared / "tiny-model.log", "wb")
    try:
        return subprocess.Popen([sys.executable, "-m", "tests.tiny_model", str(shared)], pass_fds=(lock.fileno(),),
                                cwd=Path(__file__).resolve().parent.parent, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    finally:
        lock.close()  # the child's copy of the descriptor keeps the lock
        log.close()


def main(shared: Path):
    out = model_dir(shared)
    if not (out / "metadata.json").exists():
        data = shared / "tiny-model-data"
        train_tiny_model(out, *make_skin_data(data), make_lesion_data(data / "lesions"))
    print(f"tiny model ready in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
