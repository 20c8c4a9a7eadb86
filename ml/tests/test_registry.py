"""ModelVersion registration/activation and the runtime predictor cache (Django DB)."""

import json
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from ml import runtime
from ml.core.artifact import SHIPPED_MODEL_DIR
from ml.models import ModelVersion
from ml.services import register_model

from .conftest import SAMPLES

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_runtime():
    runtime.clear_cache()
    yield
    runtime.clear_cache()


def test_register_is_idempotent_and_activates_one(tiny_artifact, tmp_path):
    out = tiny_artifact[0]
    v1, created = register_model(out, activate=True)
    assert created and v1.active and v1.classes == ["acne", "eczema", "healthy", "rosacea"]
    v1b, created = register_model(out, activate=True)
    assert not created and v1b.pk == v1.pk
    assert ModelVersion.objects.count() == 1
    # a second, different artifact: activating it deactivates the first
    other = tmp_path / "tiny-model"
    shutil.copytree(out, other)
    m = json.loads((out / "metadata.json").read_text())
    m["temperature"] = m["temperature"] * 1.5
    (other / "metadata.json").write_text(json.dumps(m))
    v2, created = register_model(other, activate=True)
    assert created and v2.name != v1.name
    assert list(ModelVersion.objects.filter(active=True)) == [v2]


def test_register_model_command(tiny_artifact, capsys):
    call_command("register_model", str(tiny_artifact[0]), "--activate")
    call_command("register_model", str(tiny_artifact[0]), "--activate")
    assert ModelVersion.objects.count() == 1 and ModelVersion.objects.get().active
    assert "already registered" in capsys.readouterr().out


def test_register_rejects_a_broken_artifact(tmp_path):
    with pytest.raises(CommandError):
        call_command("register_model", str(tmp_path))


def test_get_predictor_without_active_version_raises():
    with pytest.raises(runtime.ModelUnavailable):
        runtime.get_predictor()


def test_get_predictor_loads_once_and_reports_missing_artifact(tiny_artifact, tmp_path):
    art = tmp_path / "copy"
    shutil.copytree(tiny_artifact[0], art)
    version, _ = register_model(art, activate=True)
    p1 = runtime.get_predictor()
    assert runtime.get_predictor() is p1
    assert p1.version == version.name
    runtime.clear_cache()
    (art / "model.npz").unlink()
    with pytest.raises(runtime.ModelUnavailable):
        runtime.get_predictor()


SHIPPED = SHIPPED_MODEL_DIR


def test_shipped_model_is_small_registers_and_judges_real_photos():
    """The committed artifact on the committed base: a head of a few hundred KB, a real face is healthy,
    a cat and a cup are refused."""
    size = sum(p.stat().st_size for p in SHIPPED.iterdir())
    assert size <= 2 * 2**20
    call_command("register_model", str(SHIPPED), "--activate")
    predictor = runtime.get_predictor()
    assert predictor.classes == ["acne", "eczema", "healthy", "rosacea"]
    sample = Image.open(SAMPLES / "astronaut_face.jpg").convert("RGB")
    close = sample.crop((98, 4, 254, 199)).resize((480, 600), Image.LANCZOS)  # her face fills the photo
    p = predictor.predict(close)
    assert p.label == "healthy" and not p.quality["no_face"]
    assert p.heatmap_jpeg[:2] == b"\xff\xd8"
    far = predictor.predict(sample, with_heatmap=False)  # a 95 px face crop: too small to judge (issue 29)
    assert (far.label, far.reason) == ("uncertain", "too_small")
    for name in ("chelsea_cat.jpg", "coffee_cup.jpg"):
        assert predictor.predict(str(SAMPLES / name), with_heatmap=False).label == "no_skin", name
