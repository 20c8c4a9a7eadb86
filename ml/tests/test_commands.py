"""The management commands: predict_image (non-face never confident), evaluate_model, train_model."""

import json

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from ml import runtime
from ml.services import register_model

from .synth import non_face_images

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_tiny(tiny_artifact):
    runtime.clear_cache()
    register_model(tiny_artifact[0], activate=True)
    yield tiny_artifact[0]
    runtime.clear_cache()


def test_predict_image_json_on_non_face_images(active_tiny, tmp_path, capsys):
    paths = []
    for name, arr in non_face_images().items():
        p = tmp_path / f"{name}.png"
        Image.fromarray(arr).save(p)
        paths.append(str(p))
    call_command("predict_image", *paths, "--json")
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert len(lines) == len(paths)
    for row in lines:
        assert set(row) == {"path", "label", "reason", "probabilities", "quality", "lesions", "model_version"}
        judged = row["reason"] == "low_confidence"  # uncertain between conditions, but skin the model judged
        assert (row["lesions"] is None) != judged
        assert row["label"] in {"uncertain", "no_skin"}, row
        assert row["model_version"] == "tiny-vgg16-test"


def test_predict_image_text_output(active_tiny, tiny_dataset, capsys):
    img = next((tiny_dataset[0] / "acne").glob("*.jpg"))
    call_command("predict_image", str(img))
    out = capsys.readouterr().out
    assert "why:" in out and "probabilities:" in out and "quality flags:" in out


def test_evaluate_model_writes_json_and_plot(active_tiny, tiny_dataset, tmp_path, capsys):
    js, png = tmp_path / "e.json", tmp_path / "cm.png"
    call_command("evaluate_model", "--data", str(tiny_dataset[0]), "--json", str(js), "--plot", str(png))
    rep = json.loads(js.read_text())
    assert {"accuracy", "macro_f1", "ece", "per_class", "confusion_matrix", "per_source"} <= set(rep)
    assert set(rep["per_source"]) == {"src0", "src1"}
    assert png.read_bytes()[:4] == b"\x89PNG"
    out = capsys.readouterr().out
    assert "macro-F1" in out and "source src0" in out
    assert "held-out sources (leave one source out, from training)" in out and "tone (ITA)" in out


def test_train_model_command(tiny_dataset, tmp_path, capsys):
    data, negatives = tiny_dataset
    out = tmp_path / "cmd-model"
    call_command(
        "train_model",
        "--data", str(data),
        "--negatives", str(negatives),
        "--input-size", "32",
        "--views", "1",
        "--out", str(out),
        "--cache-dir", str(tmp_path / "cache"),
        "--head-grid", "10,0.2,0;15,0.3,1e-4",  # two settings: the selection still chooses
    )
    assert (out / "model.npz").exists() and (out / "metadata.json").exists()
    text = capsys.readouterr().out
    assert "leave-one-source-out" in text and "held out src0" in text and "caching VGG16 features" in text
    assert "== leave one source out ==" in text and "artifact written" in text
    assert "(10, 0.2, 0.0)" in text and "(15, 0.3, 0.0001)" in text and "(12, 0.4" not in text
    # a second run on the same images reads the features back instead of recomputing them
    again = tmp_path / "cmd-model-2"
    call_command("train_model", "--data", str(data), "--negatives", str(negatives), "--input-size", "32",
                 "--views", "1", "--out", str(again), "--cache-dir", str(tmp_path / "cache"), "--head-grid", "10,0.2,0")
    text = capsys.readouterr().out
    assert "VGG16 features read from" in text and "caching VGG16 features" not in text
    assert (again / "model.npz").exists()


def test_train_model_refuses_a_malformed_head_grid(tiny_dataset, tmp_path):
    data, _negatives = tiny_dataset
    for grid in ("10,0.2", "ten,0.2,0", "10,1.5,0"):
        with pytest.raises(CommandError, match="head-grid"):
            call_command("train_model", "--data", str(data), "--out", str(tmp_path / "x"), "--head-grid", grid)


def test_evaluate_model_reports_lesions_where_the_data_marks_them(active_tiny, tiny_lesion_data, tmp_path, capsys):
    js = tmp_path / "e.json"
    call_command("evaluate_model", "--data", str(tiny_lesion_data), "--json", str(js))
    marked = json.loads(js.read_text())["lesions"]["marked"]
    assert marked["photos"] == 30 and marked["marked_lesions"] == 115  # 1..7 spots on 30 photos
    expected = {"count_mae", "count_pearson_r", "grade_accuracy", "box_precision", "box_recall", "not_judged"}
    assert expected <= set(marked)
    out = capsys.readouterr().out
    assert "acne lesions (photos with marked lesions)" in out and "count MAE" in out


def test_evaluate_model_without_marked_lesions_has_none(active_tiny, tiny_dataset, tmp_path):
    js = tmp_path / "e.json"
    call_command("evaluate_model", "--data", str(tiny_dataset[0]), "--json", str(js))
    assert json.loads(js.read_text())["lesions"] is None


def test_train_lesions_command_adds_a_head_to_an_artifact(tiny_artifact_dir, tiny_lesion_data, tmp_path, capsys):
    import shutil

    from ml.core import lesion_model

    art = tmp_path / "art"
    shutil.copytree(tiny_artifact_dir, art)
    (art / lesion_model.WEIGHTS_FILE).unlink()
    call_command("train_lesions", "--data", str(tiny_lesion_data), "--model", str(art), "--epochs", "2",
                 "--mosaics", "2", "--negatives-per-source", "2", "--cache-dir", str(tmp_path / "cache"))
    assert lesion_model.load(art) is not None
    assert "lesion head written to" in capsys.readouterr().out


def test_train_lesions_command_needs_marked_lesions(tiny_artifact_dir, tiny_dataset):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no acne04_lesions.csv"):
        call_command("train_lesions", "--data", str(tiny_dataset[0]), "--model", str(tiny_artifact_dir))
