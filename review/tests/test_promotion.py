"""The promotion gate on reviewed scans built here: it refuses a worse candidate, accepts a better one,
needs reviewed scans, can be forced only with a reason, audits everything; the rollback is one command."""

import io

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from accounts.services import update_profile
from diagnosis.models import CONDITIONS
from diagnosis.storage import read_bytes
from diagnosis.tests.factories import make_scan
from ml.models import ModelVersion
from ml.services import register_model
from ml.tests.synth import skin_image
from review import services
from review.models import AuditEvent, ModelResult

pytestmark = pytest.mark.django_db


def _jpeg(array):
    out = io.BytesIO()
    Image.fromarray(array).save(out, "JPEG", quality=92)
    return out.getvalue()


def _run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def right_model(model_variants):
    """The "right" model loaded once for the module (no database involved), and two generated skin photos per
    condition that it calls that condition (the session's tiny model is trained afresh, so they are searched
    for)."""
    from ml.core.inference import Predictor

    right = Predictor(model_variants["right"])
    photos = []
    for label in CONDITIONS:
        candidates = [_jpeg(skin_image(label, 96, seed=seed)) for seed in range(24)]
        called = right.predict_many(candidates)
        photos += [photo for photo, p in zip(candidates, called, strict=True) if p.label == label][:2]
    assert len(photos) == 8
    return right, photos


@pytest.fixture
def reviewed_world(user, reviewer, model_variants, right_model, fresh_models, settings):
    """Eight consented scans of generated skin, two that the "right" model calls each condition, reviewed with
    the labels it gives them; "rotated-1" is active and disagrees with the reviewers on every scan. Every
    version is re-scored on them with the command an operator runs."""
    settings.MODEL_PROMOTION_MIN_REVIEWED = 6
    update_profile(user, consent_training=True)
    versions = {key: register_model(path)[0] for key, path in model_variants.items()}
    register_model(model_variants["rotated-1"], activate=True)
    right, photos = right_model
    for photo in photos:  # reviewed with what the "right" model calls the stored photo (re-encoded on upload)
        scan = make_scan(user, status="done", label="acne", photo=photo, model_version=versions["rotated-1"])
        label = right.predict(read_bytes(scan.first_photo.image.name)).label
        services.save_review(scan=scan, reviewer=reviewer, label=label)
    for version in versions.values():
        assert f"{version.name}: 8 of 8 reviewed scans scored" in _run("rescore_reviewed", version.name)
    return {key: ModelVersion.objects.get(pk=v.pk) for key, v in versions.items()}


def test_the_gate_accepts_a_better_candidate_and_refuses_a_worse_one(reviewed_world):
    right, worse = reviewed_world["right"], reviewed_world["rotated-2"]
    out = _run("promote_model", right.name)
    assert "macro-F1" in out and "pass" in out and "FAIL" not in out
    assert ModelVersion.objects.get(active=True) == right

    with pytest.raises(CommandError) as refused:
        _run("promote_model", worse.name)
    assert refused.value.returncode == 1 and "refused" in str(refused.value)
    assert ModelVersion.objects.get(active=True) == right

    events = list(AuditEvent.objects.filter(action__startswith="model.").order_by("id").values_list("action", "detail"))
    assert [action for action, _detail in events] == ["model.activated", "model.activated", "model.promoted",
                                                      "model.promotion_refused"]
    promoted, refusal = events[2][1], events[3][1]
    assert promoted["version"] == right.name and not promoted["forced"] and promoted["comparison"]["passed"]
    assert refusal["version"] == worse.name and refusal["previous"] == right.name
    checks = {c["name"]: c for c in refusal["comparison"]["checks"]}
    assert checks["macro-F1"]["candidate"] == 0.0 and checks["macro-F1"]["active"] == 1.0
    assert not checks["macro-F1"]["passed"] and not checks["healthy called a condition"]["passed"]
    assert all(not c["passed"] for name, c in checks.items() if name.startswith("recall "))


def test_the_refusal_prints_the_comparison(reviewed_world, capsys):
    call_command("promote_model", reviewed_world["right"].name)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("promote_model", reviewed_world["rotated-2"].name, stdout=out)
    table = out.getvalue()
    assert "tiny-rotated-2 (candidate) against tiny-right (active) on 8 usable reviewed scans" in table
    for row in ("reviewed scans", "macro-F1", "recall acne", "healthy called a condition"):
        assert row in table
    assert "FAIL" in table and "+0.000" not in table.split("macro-F1")[1].split("\n")[0]


def test_a_version_never_scored_on_reviewed_scans_is_refused(reviewed_world, model_variants, tmp_path):
    from ml.tests.factories import variant_artifact

    fresh, _ = register_model(variant_artifact(model_variants["right"], tmp_path / "fresh", name="tiny-fresh"))
    with pytest.raises(CommandError) as refused:
        _run("promote_model", fresh.name)
    assert refused.value.returncode == 1 and "reviewed scans" in str(refused.value)
    assert not ModelVersion.objects.get(pk=fresh.pk).active


def test_force_needs_a_reason_and_is_audited_and_rollback_is_one_command(reviewed_world):
    right, worse = reviewed_world["right"], reviewed_world["rotated-2"]
    _run("promote_model", right.name)
    with pytest.raises(CommandError, match="--reason"):
        _run("promote_model", worse.name, "--force")
    out = _run("promote_model", worse.name, "--force", "--reason", "the reviewers' labels were wrong")
    assert "forced past the gate" in out and ModelVersion.objects.get(active=True) == worse
    forced = AuditEvent.objects.filter(action="model.promoted").latest("id").detail
    assert forced["forced"] and forced["reason"] == "the reviewers' labels were wrong"

    assert "tiny-right is active again" in _run("rollback_model", "--reason", "forced one misbehaved")
    assert ModelVersion.objects.get(active=True) == right
    rolled = AuditEvent.objects.filter(action="model.rolled_back").get().detail
    assert rolled == {"version": right.name, "previous": worse.name, "reason": "forced one misbehaved"}


def test_rescoring_uses_only_consented_reviewed_scans_with_their_photo(reviewed_world, user, other_user, reviewer):
    right = reviewed_world["right"]
    unconsented = make_scan(other_user, status="done", label="acne")
    services.save_review(scan=unconsented, reviewer=reviewer, label="acne")
    unreviewed = make_scan(user, status="done", label="acne")
    assert "0 of 0 reviewed scans scored" in _run("rescore_reviewed", right.name)  # the 8 are scored already
    assert not ModelResult.objects.filter(scan__in=[unconsented, unreviewed]).exists()
    assert "8 of 8" in _run("rescore_reviewed", right.name, "--replace")


def test_a_staff_action_in_the_admin_promotes_through_the_gate(reviewed_world, client, django_user_model):
    admin = django_user_model.objects.create_superuser(email="root@example.com", password="correct horse battery")
    client.force_login(admin)
    url = "/admin/ml/modelversion/"
    worse, right = reviewed_world["rotated-2"], reviewed_world["right"]
    page = client.post(url, {"action": "promote_through_gate", "_selected_action": [right.pk]}, follow=True)
    assert "The version tiny-right is active now" in page.content.decode()
    page = client.post(url, {"action": "promote_through_gate", "_selected_action": [worse.pk]}, follow=True)
    assert "Promotion of tiny-rotated-2 refused" in page.content.decode()
    assert ModelVersion.objects.get(active=True) == right
    assert AuditEvent.objects.filter(action="model.promoted", actor=admin).count() == 1


def test_reviewers_cannot_promote_from_the_admin(reviewed_world, client, reviewer):
    reviewer.is_staff = True
    reviewer.save()
    client.force_login(reviewer)
    right = reviewed_world["right"]
    client.post("/admin/ml/modelversion/", {"action": "promote_through_gate", "_selected_action": [right.pk]})
    assert not ModelVersion.objects.get(pk=right.pk).active


def test_with_no_active_version_there_is_nothing_to_compare_with():
    from ml.tests.factories import ModelVersionFactory

    first = ModelVersionFactory(name="v-first")
    out = _run("promote_model", "v-first")
    assert "no active version to compare with" in out and ModelVersion.objects.get(pk=first.pk).active
    with pytest.raises(CommandError, match="already the active version"):
        _run("promote_model", "v-first")
    with pytest.raises(CommandError, match="no version was active before"):
        _run("rollback_model")
