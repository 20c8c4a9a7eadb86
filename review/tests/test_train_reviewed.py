"""train_model --reviewed: consented reviewed scans become one more source, held out on its own."""

import io
import json
import tempfile
from pathlib import Path

import pytest
from django.core.management import call_command
from PIL import Image

from accounts.services import update_profile
from diagnosis.models import CONDITIONS
from diagnosis.tests.factories import make_scan
from ml.tests.synth import skin_image
from review import services

pytestmark = pytest.mark.django_db


def _jpeg(array):
    out = io.BytesIO()
    Image.fromarray(array).save(out, "JPEG", quality=92)
    return out.getvalue()


def test_reviewed_scans_are_one_more_source_in_leave_one_source_out(user, other_user, reviewer, tiny_dataset,
                                                                     tmp_path, capsys):
    update_profile(user, consent_training=True)
    for i, label in enumerate(CONDITIONS * 2):
        scan = make_scan(user, status="done", label="acne", photo=_jpeg(skin_image(label, 96, seed=500 + i)))
        services.save_review(scan=scan, reviewer=reviewer, label=label)
    no_consent = make_scan(other_user, status="done", label="acne", photo=_jpeg(skin_image("acne", 96, seed=9)))
    services.save_review(scan=no_consent, reviewer=reviewer, label="acne")
    data, negatives = tiny_dataset
    out = tmp_path / "with-reviews"
    scratch_before = set(Path(tempfile.gettempdir()).glob("facediag-reviewed-*"))
    call_command("train_model", "--data", str(data), "--negatives", str(negatives), "--reviewed",
                 "--input-size", "32", "--views", "1", "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
                 "--head-grid", "10,0.2,0")  # one head setting: the test is about the reviewed source, not selection
    assert "--reviewed: 8 reviewed photos added as source facediag_review" in capsys.readouterr().out
    evaluation = json.loads((out / "evaluation.json").read_text())
    held_out = evaluation["leave_one_source_out"]["per_source"]
    assert set(held_out) == {"src0", "src1", "facediag_review"} and held_out["facediag_review"]["n"] == 8
    assert set(Path(tempfile.gettempdir()).glob("facediag-reviewed-*")) == scratch_before  # copies of photos gone
