"""Deploys never overrule the promotion gate (issue 31): the run command, Compose and the Kubernetes migrate
Job activate the shipped model only on a fresh install; a forced activation needs a reason; every
activation, promotion and rollback from the command line records who ran it."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from facediag_site.lib.operators import command_actor
from ml.core.artifact import SHIPPED_MODEL_DIR
from ml.models import ModelVersion
from review.models import AuditEvent

pytestmark = pytest.mark.django_db

REPO = SHIPPED_MODEL_DIR.parents[2]
DEPLOY_FILES = ("scripts/_prepare.sh", "docker-compose.yml", "k8s/base/migrate-job.yaml")


def _run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_deploys_register_the_shipped_model_without_forcing_it():
    for name in DEPLOY_FILES:
        lines = [line for line in (REPO / name).read_text().splitlines() if "register_model" in line]
        assert lines and all("--activate-if-none" in line for line in lines), name
        assert not any(re.search(r"--activate(\s|$)", line) for line in lines), name


def test_a_deploy_after_a_promotion_leaves_the_promoted_version_active(model_variants, fresh_models):
    shipped, candidate = str(model_variants["right"]), str(model_variants["rotated-1"])
    assert ", active)" in _run("register_model", shipped, "--activate-if-none")  # a fresh install serves it
    _run("register_model", candidate)
    _run("promote_model", "tiny-rotated-1", "--force", "--reason", "gate tested elsewhere", "--actor", "alice")
    out = _run("register_model", shipped, "--activate-if-none")  # the next deploy
    assert "tiny-rotated-1 stays active" in out
    assert ModelVersion.objects.get(active=True).name == "tiny-rotated-1"
    events = list(AuditEvent.objects.filter(action__startswith="model.").order_by("id")
                  .values_list("action", "actor_name", "detail"))
    assert [(action, who) for action, who, _detail in events] == [
        ("model.activated", command_actor()), ("model.activated", "alice"), ("model.promoted", "alice")]
    assert events[0][2]["via"] == "register_model --activate-if-none"


def test_a_forced_activation_needs_a_reason_and_records_who(model_variants, fresh_models):
    first, other = str(model_variants["right"]), str(model_variants["rotated-1"])
    _run("register_model", first, "--activate")  # a first install may force: nothing is replaced
    with pytest.raises(CommandError, match="--reason"):
        _run("register_model", other, "--activate")
    assert list(ModelVersion.objects.values_list("name", "active")) == [("tiny-right", True)]  # nothing kept
    out = _run("register_model", other, "--activate", "--reason", "v7 crashes", "--actor", "bob")
    assert "replaced without the promotion gate" in out
    forced = AuditEvent.objects.filter(action="model.activated").latest("id")
    assert (forced.actor_name, forced.actor) == ("bob", None)
    assert forced.detail == {"version": "tiny-rotated-1", "previous": "tiny-right",
                             "via": "register_model --activate", "reason": "v7 crashes"}

    assert "tiny-right is active again" in _run("rollback_model", "--reason", "bob was wrong")
    rolled = AuditEvent.objects.filter(action="model.rolled_back").get()
    assert rolled.actor_name == command_actor() and rolled.detail["reason"] == "bob was wrong"
    assert str(rolled).endswith(f"by {command_actor()}")


def test_the_command_actor_is_the_os_user_unless_given():
    assert command_actor(" carol ") == "carol"
    assert command_actor(None) and command_actor("") == command_actor(None)
