"""The daily drift check: it flags an injected shift, stays quiet on an unchanged week, shows on the
dashboard and raises the alert gauge."""

import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from prometheus_client import CollectorRegistry, generate_latest

from ml.tests.factories import ModelVersionFactory
from review import metrics
from review.models import DriftReport
from review.tasks import check_drift

from .factories import add_scans, dark_filter_app, usual

pytestmark = pytest.mark.django_db

@pytest.fixture
def four_usual_weeks(user):
    rng = np.random.default_rng(7)
    version = ModelVersionFactory(active=True)
    add_scans(user, version, (7.1, 34.9), usual, 4 * 150, rng)
    return user, version, rng


def _gauges():
    registry = CollectorRegistry()
    metrics.register(registry)
    return generate_latest(registry).decode()


def test_an_unchanged_week_stays_quiet(four_usual_weeks):
    user, version, rng = four_usual_weeks
    add_scans(user, version, (0.1, 6.9), usual, 150, rng)
    result = check_drift.apply().get()
    report = DriftReport.objects.get()
    assert result == {"drifted": False, "recent": 150, "baseline": 600}
    ran = [c for c in report.checks if c["ran"]]
    assert len(ran) >= 12 and not any(c["drifted"] for c in ran)
    assert {c["test"] for c in ran} == {"Pearson's chi-squared test of homogeneity",
                                        "two-sample Kolmogorov-Smirnov test", "Fisher's exact test"}
    assert "facediag_drift_detected 0.0" in _gauges()


def test_an_injected_shift_is_flagged_shown_and_raises_the_alert(four_usual_weeks, reviewer_client):
    user, version, rng = four_usual_weeks
    add_scans(user, version, (0.1, 6.9), dark_filter_app, 150, rng)
    assert check_drift.apply().get()["drifted"] is True
    report = DriftReport.objects.get()
    flagged = {c["name"] for c in report.checks if c["drifted"]}
    assert {"result mix", "confidence", "quality: too_dark", "feature distance"} <= flagged
    assert "quality: blurry" not in flagged and "skin-tone mix" not in flagged  # what did not change
    gauges = _gauges()
    assert "facediag_drift_detected 1.0" in gauges
    assert 'facediag_drift_check_drifted{check="quality: too_dark"} 1.0' in gauges
    assert 'facediag_drift_check_drifted{check="quality: blurry"} 0.0' in gauges

    page = reviewer_client.get(reverse("review:dashboard")).content.decode()
    assert 'class="drift-alert"' in page and "Significant change" in page
    assert page.count('class="drifted"') == len(flagged)
    picture = reviewer_client.get(reverse("review:dashboard-drift"))
    assert picture.status_code == 200 and picture.content[:4] == b"\x89PNG"
    data = reviewer_client.get(reverse("review:dashboard-data")).json()
    assert data["drift"]["drifted"] is True


def test_a_change_in_one_skin_tone_group_alone_is_seen(four_usual_weeks):
    user, version, rng = four_usual_weeks

    def darker_skin_refused(rng):
        scan = usual(rng)
        if scan["tone"] in ("brown", "dark"):
            scan["label"] = "no_skin" if rng.random() < 0.6 else scan["label"]
        return scan

    add_scans(user, version, (0.1, 6.9), darker_skin_refused, 300, rng)
    check_drift.apply()
    report = DriftReport.objects.get()
    flagged = {c["name"] for c in report.checks if c["drifted"]}
    assert "no condition given, tone brown" in flagged
    assert not {"quality: too_dark", "quality: blurry", "skin-tone mix", "feature distance"} & flagged


def test_with_too_few_scans_nothing_is_claimed(user):
    rng = np.random.default_rng(1)
    version = ModelVersionFactory(active=True)
    add_scans(user, version, (8, 30), usual, 20, rng)
    add_scans(user, version, (0.1, 6), dark_filter_app, 20, rng)
    assert check_drift.apply().get()["drifted"] is False
    assert not any(c["ran"] for c in DriftReport.objects.get().checks)


def test_the_check_runs_daily_in_beat(settings):
    from celery.schedules import crontab

    entry = settings.CELERY_BEAT_SCHEDULE["check-drift"]
    assert entry["task"] == check_drift.name == "review.tasks.check_drift"
    assert isinstance(entry["schedule"], crontab) and entry["schedule"].hour == {4}


def test_identical_constant_windows_give_no_alarm_and_store_cleanly(user):
    """Degenerate data (one label, one confidence, no flags) must not produce NaN p-values or an alarm."""
    version = ModelVersionFactory(active=True)

    def same(rng):
        return {"label": "healthy", "top": 0.9, "flags": {}, "tone": "light", "distance": 4.0}

    rng = np.random.default_rng(3)
    add_scans(user, version, (8, 30), same, 120, rng)
    add_scans(user, version, (0.1, 6), same, 40, rng)
    assert check_drift.apply().get()["drifted"] is False
    report = DriftReport.objects.get()
    assert all(c["p_value"] == 1.0 for c in report.checks if c["ran"])


def test_the_command_exits_1_on_drift(four_usual_weeks):
    """Issue 31: `check_drift` exited 0 on drift, so a cron job or a CI step never noticed."""
    user, version, rng = four_usual_weeks
    add_scans(user, version, (0.1, 6.9), dark_filter_app, 150, rng)
    out = io.StringIO()
    with pytest.raises(CommandError, match="drift: a significant change") as drifted:
        call_command("check_drift", stdout=out)
    assert drifted.value.returncode == 1 and "DRIFT" in out.getvalue()


def test_the_command_never_says_no_change_when_it_ran_no_test(user):
    """Issue 31: with no baseline it ran no test, yet printed "no significant change"."""
    rng = np.random.default_rng(3)
    add_scans(user, ModelVersionFactory(active=True), (0.1, 6.9), usual, 40, rng)  # a recent week, no baseline
    out = io.StringIO()
    call_command("check_drift", stdout=out)
    assert "no significant change" not in out.getvalue()
    assert "no test ran" in out.getvalue() and "DRIFT_MIN_SCANS=30" in out.getvalue()
    assert "facediag_drift_checks_run 0.0" in _gauges()
