"""Shadow versions, dated activations and the activation signal (ml knows nothing of scans)."""

import io
import json
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction

from ml import runtime, selectors
from ml.models import ModelVersion
from ml.services import ShadowNotAllowed, activate_version, register_model, set_shadow
from ml.signals import model_activated

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_runtime():
    runtime.clear_cache()
    yield
    runtime.clear_cache()


@pytest.fixture
def two_artifacts(tiny_artifact, tmp_path):
    first = tiny_artifact[0]
    second = tmp_path / "second"
    shutil.copytree(first, second)
    meta = json.loads((second / "metadata.json").read_text())
    meta["name"] = "tiny-second"
    (second / "metadata.json").write_text(json.dumps(meta))
    return first, second


def _run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_register_shadow_and_stop(two_artifacts):
    first, second = two_artifacts
    assert _run("register_model", str(first), "--activate").endswith(", active)\n")
    assert _run("register_model", str(second), "--shadow").startswith("registered: tiny-second")
    assert _run("register_model", str(second), "--shadow").endswith(", shadow)\n")
    assert selectors.shadow_version().name == "tiny-second" and selectors.active_version().name != "tiny-second"
    assert "no shadow version (was tiny-second)" in _run("shadow_model", "--stop")
    assert selectors.shadow_version() is None
    assert "tiny-second runs in shadow" in _run("shadow_model", "tiny-second")
    with pytest.raises(CommandError, match="cannot be its own shadow"):
        _run("shadow_model", selectors.active_version().name)
    with pytest.raises(CommandError, match="no registered version"):
        _run("shadow_model", "nope")


def test_one_shadow_at_most_and_never_the_active_one(two_artifacts):
    first, second = two_artifacts
    active, _ = register_model(first, activate=True)
    other, _ = register_model(second)
    with pytest.raises(ShadowNotAllowed):
        set_shadow(active)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=active.pk).update(shadow=True)
    set_shadow(other)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(name="x", artifact_path="/x", sha256="f" * 64, shadow=True)
    activate_version(other)  # the shadow promoted: it stops being the shadow
    other.refresh_from_db()
    assert other.active and not other.shadow and selectors.shadow_version() is None


def test_activation_is_dated_and_announced_with_the_previous_version(two_artifacts):
    first, second = two_artifacts
    heard = []

    def listener(sender, version, previous, via, actor=None, **kwargs):
        heard.append((version.name, previous.name if previous else None, via))

    model_activated.connect(listener, dispatch_uid="test-listener")
    try:
        one, _ = register_model(first, activate=True)
        two, _ = register_model(second, activate=True)
        activate_version(one, via="test")
    finally:
        model_activated.disconnect(dispatch_uid="test-listener")
    assert heard == [(one.name, None, "register_model --activate"), (two.name, one.name, "register_model --activate"),
                     (one.name, two.name, "test")]
    assert selectors.previous_version() == ModelVersion.objects.get(pk=two.pk)
    assert "replaced without the promotion gate" in _run("register_model", str(second), "--activate",
                                                         "--reason", "test")


def test_the_shadow_predictor_is_loaded_once_and_let_go_when_stopped(two_artifacts):
    first, second = two_artifacts
    register_model(first, activate=True)
    assert runtime.get_shadow_predictor() is None
    register_model(second, shadow=True)
    shadow = runtime.get_shadow_predictor()
    assert shadow is runtime.get_shadow_predictor() and shadow.version == "tiny-second"
    assert runtime.get_predictor() is not shadow
    set_shadow(None)
    assert runtime.get_shadow_predictor() is None and runtime._shadow_cache["predictor"] is None
