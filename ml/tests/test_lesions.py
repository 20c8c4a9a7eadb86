"""The lesion readout: its data, the head's numpy forward pass and decoding, the scores, training, and the
findings a predictor gives in the photo's own pixels."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from ml.core import artifact, lesion_eval, lesion_model
from ml.core.inference import Predictor
from ml.core.lesions import LesionFindings, grade_of

from .synth import spotted_skin


def test_grade_of_follows_hayashi():
    assert [grade_of(n) for n in (0, 1, 5, 6, 20, 21, 50, 51, 300)] == [None, 0, 0, 1, 1, 2, 2, 3, 3]
    assert grade_of(3, (2, 4, 6)) == 1


def test_findings_json_round_trip():
    found = LesionFindings(count=2, grade=0, boxes=((1.04, 2.0, 3.0, 4.0, 0.91234), (5, 6, 7, 8, 0.5)))
    data = found.to_json()
    assert data == {"count": 2, "grade": 0, "boxes": [[1.0, 2.0, 3.0, 4.0, 0.912], [5.0, 6.0, 7.0, 8.0, 0.5]]}
    back = LesionFindings.from_json(json.loads(json.dumps(data)))
    assert back.count == 2 and back.grade_name == "mild" and back.boxes[1] == (5.0, 6.0, 7.0, 8.0, 0.5)
    assert LesionFindings.from_json(None) is None


def test_conv3x3_same_matches_keras():
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 6, 4)).astype(np.float32)
    layer = keras.layers.Conv2D(3, 3, padding="same")
    expected = layer(x[None]).numpy()[0]
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(lesion_model.conv3x3_same(x, kernel, bias).reshape(5, 6, 3), expected, atol=1e-5)


def test_decode_finds_peaks_with_refined_centres_and_sizes():
    scores = np.zeros((6, 6), np.float32)
    scores[1, 1], scores[1, 2] = 0.9, 0.3  # a peak leaning right
    scores[4, 4] = 0.6
    scores[3, 0] = 0.2  # below the threshold
    sizes = np.full((6, 6, 2), 8.0, np.float32)
    sizes[4, 4] = 40.0  # past the crop's edge: cut there
    boxes = lesion_model.decode(scores, sizes, threshold=0.5, stride=8.0)
    assert len(boxes) == 2 and boxes[1][:4] == (16.0, 16.0, 48.0, 48.0)
    (x0, y0, x1, y1, s), second = boxes
    assert s == pytest.approx(0.9) and second[4] == pytest.approx(0.6)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    assert 12.0 < cx < 16.0 and cy == pytest.approx(12.0)  # cell (1, 1) centre is 12 px; pulled towards (1, 2)
    assert x1 - x0 == pytest.approx(8.0)


def test_heatmap_targets_put_a_peak_and_a_size_at_each_centre():
    heat, size_t, mask = lesion_model.heatmap_targets([[20.0, 12.0]], [[10.0, 6.0]], grid=4, stride=8.0)
    assert heat[1, 2] == 1.0 and heat.sum() > 1.0  # the Gaussian spreads around the peak
    assert mask.sum() == 1 and mask[1, 2] == 1
    np.testing.assert_allclose(size_t[1, 2], np.log([10.0, 6.0]))


def test_lesion_scores_count_centres_inside_marked_boxes():
    true = [[[0, 0, 10, 10], [20, 20, 30, 30]], [[0, 0, 4, 4]]]
    pred = [[[2, 2, 6, 6, 0.9], [40, 40, 44, 44, 0.8]], []]
    s = lesion_eval.lesion_scores(pred, true, true_grades=[0, 0], pred_grades=[0, None])
    assert s["box_precision"] == 0.5 and s["box_recall"] == pytest.approx(1 / 3, abs=1e-4)
    assert s["count_mae"] == 0.5 and s["count_bias"] == -0.5
    assert s["grade_accuracy"] == 1.0  # no lesions found reads as the mildest grade
    assert lesion_eval.count_summary([0, 0, 1, 9])["median"] == 0.5


def test_load_refuses_an_incomplete_head(tmp_path, tiny_artifact_dir):
    assert lesion_model.load(tmp_path) is None  # no head: no readout
    art = tmp_path / "art"
    shutil.copytree(tiny_artifact_dir, art)
    head = lesion_model.load(art)
    del head.weights["lesion_conv/kernel"]
    lesion_model.save(art, head)
    with pytest.raises(artifact.ArtifactError, match="lesion head lacks"):
        Predictor(art)


def test_the_lesion_head_is_part_of_the_artifact_checksum(tmp_path, tiny_artifact_dir):
    art = tmp_path / "art"
    shutil.copytree(tiny_artifact_dir, art)
    with_head = artifact.artifact_sha256(art)
    (art / lesion_model.WEIGHTS_FILE).unlink()
    assert artifact.artifact_sha256(art) != with_head


def test_tiny_training_chose_and_measured_its_head(tiny_artifact_dir):
    meta = json.loads((tiny_artifact_dir / lesion_model.METADATA_FILE).read_text())
    figures = meta["figures"]
    assert figures["data"]["acne04_photos"] == 30
    assert {t["threshold"] for t in figures["threshold_trials"]} >= {0.15, 0.7}
    assert meta["threshold"] in {t["threshold"] for t in figures["threshold_trials"]}
    for split in ("acne04_choose", "acne04_test"):
        assert {"count_mae", "count_pearson_r", "box_precision", "box_recall", "grade_accuracy"} <= set(figures[split])


@pytest.fixture(scope="module")
def tiny_predictor(tiny_artifact_dir):
    return Predictor(tiny_artifact_dir)


def _readout(predictor, image):
    """The lesion readout of one photo, whatever the verdict (the tiny classifier never saw spotted skin)."""
    pre = predictor.preprocess(image)
    out = predictor.network(pre.crop[None], predictor.skin_weights([pre]))
    return predictor.lesions(out, 0, pre)


def test_findings_map_crop_boxes_to_the_photos_own_pixels():
    head = lesion_model.LesionHead(weights={}, grade_upper=(1, 2, 3))
    # a 32 px crop of the photo's box (100, 50)-(420, 370) in a photo decoded at half its size
    found = head.findings([(8, 8, 16, 16, 0.9)], crop_box=(100, 50, 420, 370), crop_size=32, photo_scale=2.0)
    assert found.boxes == ((360.0, 260.0, 520.0, 420.0, 0.9),) and found.count == 1 and found.grade == 0


def test_a_plateau_of_equal_scores_is_one_lesion():
    scores = np.zeros((5, 5), np.float32)
    scores[1:3, 1:4] = 1.0
    assert len(lesion_model.decode(scores, np.full((5, 5, 2), 4.0), threshold=0.5, stride=8.0)) == 1


def test_findings_lie_on_the_photo_at_its_uploaded_size(tiny_predictor, tmp_path):
    from ml.core.preprocess import DECODE_SIDE

    photo, _boxes = spotted_skin(64, 6, seed=7)
    side = 2 * DECODE_SIDE  # decoded at a reduced size: boxes still in the upload's pixels
    path = tmp_path / "big.jpg"
    Image.fromarray(photo).resize((side, side), Image.NEAREST).save(path, quality=90)
    found = _readout(tiny_predictor, str(path))
    assert found is not None and found.count == len(found.boxes) > 0
    assert found.grade == grade_of(found.count, tiny_predictor.lesion_head.grade_upper)
    boxes = np.array([b[:4] for b in found.boxes])
    assert boxes.min() >= 0 and boxes.max() <= side
    assert boxes.max() > DECODE_SIDE  # not in the decoded copy's pixels


def test_the_tiny_head_finds_more_on_spotted_skin_than_on_clear_skin(tiny_predictor):
    clear = sum(_readout(tiny_predictor, spotted_skin(64, 0, seed=2000 + i)[0]).count for i in range(4))
    spotted = sum(_readout(tiny_predictor, spotted_skin(64, 7, seed=2000 + i)[0]).count for i in range(4))
    assert spotted > clear


def test_a_judged_photo_carries_its_lesions(tiny_predictor, tiny_dataset):
    preds = tiny_predictor.predict_many([str(p) for p in sorted((tiny_dataset[0] / "acne").glob("*.jpg"))])
    judged = [p for p in preds if p.label in tiny_predictor.classes or p.reason == "low_confidence"]
    assert judged, "the tiny model judges its own training photos"
    assert all(p.lesions is not None for p in judged)
    assert all(p.lesions is None for p in preds if p not in judged)


def test_no_lesions_on_a_photo_the_model_does_not_judge(tiny_predictor):
    grey = np.full((96, 96, 3), 128, np.uint8)  # no colour, no skin: never judged
    pred = tiny_predictor.predict(grey, with_heatmap=False)
    assert pred.label == "uncertain" and pred.reason == "no_colour"
    assert pred.lesions is None


def test_both_runtimes_give_the_lesion_head_the_same_maps(tiny_artifact_dir, tiny_predictor):
    photo, _ = spotted_skin(128, 5, seed=11)
    on_tf = Predictor(tiny_artifact_dir, runtime="tensorflow")
    maps = []
    for predictor in (on_tf, tiny_predictor):
        pre = predictor.preprocess(photo)
        maps.append(predictor.network(pre.crop[None], predictor.skin_weights([pre])).maps4[0])
    assert maps[0].shape == maps[1].shape == (512, 4, 4)
    assert np.corrcoef(maps[0].ravel(), maps[1].ravel())[0, 1] > 0.95  # float against int8 block4_conv3
    assert _readout(on_tf, photo) is not None


def test_many_lesions_are_no_reassurance():
    from ml.core.decision import with_lesion_evidence

    assert with_lesion_evidence("healthy", "confident", 12, 10) == ("acne", "lesions_found")
    assert with_lesion_evidence("healthy", "confident", 9, 10) == ("healthy", "confident")
    assert with_lesion_evidence("rosacea", "confident", 40, 10) == ("rosacea", "confident")  # only "healthy" moves
    assert with_lesion_evidence("healthy", "confident", 40, None) == ("healthy", "confident")  # no measured limit


def test_a_predictor_applies_its_heads_healthy_limit(tmp_path, tiny_artifact_dir, tiny_dataset):
    art = tmp_path / "art"
    shutil.copytree(tiny_artifact_dir, art)
    head = lesion_model.load(art)
    head.healthy_limit = 1
    lesion_model.save(art, head)
    photos = [str(p) for p in sorted((tiny_dataset[0] / "healthy").glob("*.jpg"))]
    plain = Predictor(tiny_artifact_dir).predict_many(photos)
    strict = Predictor(art).predict_many(photos)
    moved = 0
    for before, after in zip(plain, strict, strict=True):
        if before.label == "healthy" and before.lesions is not None and before.lesions.count >= 1:
            assert (after.label, after.reason) == ("acne", "lesions_found")
            moved += 1
        else:
            assert (after.label, after.reason) == (before.label, before.reason)
    assert moved, "some healthy verdict came with lesions on the tiny model"
