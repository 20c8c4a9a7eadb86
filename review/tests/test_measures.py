"""review.measures: the figures agree with ml.core.metrics, intervals cover them, the paired gate decides."""

import numpy as np
import pytest

from ml.core import CLASSES
from ml.core.metrics import summarize
from review.measures import Judged, compare, figures, format_comparison


def judged(rows):
    out = Judged(CLASSES)
    for i, (truth, label, top, argmax, tone) in enumerate(rows):
        out.add(i, truth, label, top, argmax, tone)
    return out


def random_rows(n, accuracy, seed, tones=("light", "dark")):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        truth = str(rng.choice(CLASSES))
        r = rng.random()
        label = truth if r < accuracy else ("uncertain" if r < accuracy + 0.05 else str(rng.choice(CLASSES)))
        argmax = truth if label == truth else str(rng.choice(CLASSES))
        rows.append((truth, label, float(rng.uniform(0.4, 1.0)), argmax, str(rng.choice(tones))))
    return rows


def test_point_figures_match_ml_core_metrics():
    rows = random_rows(300, 0.7, seed=1) + [("unusable", "no_skin", 0.9, "acne", "light"),
                                            ("unusable", "acne", 0.8, "acne", "dark")]
    got = figures(judged(rows), n_boot=200)
    usable = [r for r in rows if r[0] != "unusable"]
    ref = summarize([r[0] for r in usable], [r[1] for r in usable], CLASSES)
    assert got["n"] == 300 and got["n_unusable"] == 2 and got["abstained_on_unusable"] == 0.5
    assert got["accuracy"]["value"] == pytest.approx(ref["accuracy"], abs=1e-4)
    assert got["macro_f1"]["value"] == pytest.approx(ref["macro_f1"], abs=1e-4)
    for c in CLASSES:
        assert got["recall"][c]["value"] == pytest.approx(ref["per_class"][c]["recall"], abs=1e-4)
        assert got["recall"][c]["n"] == ref["per_class"][c]["support"]
    assert got["uncertain_rate"]["value"] == pytest.approx(ref["abstained"]["uncertain"] / 300, abs=1e-4)
    for name in ("accuracy", "macro_f1", "uncertain_rate", "signed_calibration_error"):
        item = got[name]
        assert item["low"] <= item["value"] <= item["high"] and item["high"] - item["low"] < 0.25
    gap = np.mean([top - (argmax == truth) for truth, _label, top, argmax, _tone in usable])
    assert got["signed_calibration_error"]["value"] == pytest.approx(gap, abs=1e-4)
    assert set(got["per_tone"]) == {"light", "dark"}
    assert sum(t["n"] for t in got["per_tone"].values()) == 300


def test_healthy_called_a_condition_and_an_empty_version():
    rows = [("healthy", "acne", 0.9, "acne", "x"), ("healthy", "healthy", 0.9, "healthy", "x"),
            ("healthy", "uncertain", 0.4, "eczema", "x"), ("acne", "healthy", 0.7, "healthy", "x")]
    got = figures(judged(rows), n_boot=100)
    assert got["healthy_called_condition"]["value"] == pytest.approx(1 / 3, abs=1e-4)
    assert got["healthy_n"] == 3
    empty = figures(judged([]))
    assert empty["n"] == 0 and empty["accuracy"]["value"] is None and empty["per_tone"] == {}


def test_the_interval_narrows_with_more_reviews():
    small = figures(judged(random_rows(40, 0.7, seed=2)), n_boot=500)["accuracy"]
    large = figures(judged(random_rows(2000, 0.7, seed=2)), n_boot=500)["accuracy"]
    assert (large["high"] - large["low"]) < (small["high"] - small["low"]) / 3


def test_the_gate_compares_on_the_scans_both_judged():
    active = judged(random_rows(400, 0.70, seed=3))
    same = judged(active_rows := random_rows(400, 0.70, seed=3))
    assert compare(same, active, min_reviewed=100)["passed"]
    # a candidate that abstains on every acne photo: recall acne drops to 0
    worse = judged([(t, "uncertain" if t == "acne" else label, top, a, tone) for t, label, top, a, tone in active_rows])
    result = compare(worse, active, min_reviewed=100)
    failed = {c["name"] for c in result["checks"] if not c["passed"]}
    assert not result["passed"] and "recall acne" in failed and "macro-F1" in failed
    assert "healthy called a condition" not in failed
    # only the scans both judged count, and they must be enough
    fewer = judged(random_rows(400, 0.70, seed=3)[:50])
    result = compare(fewer, active, min_reviewed=100)
    assert result["n"] == 50 and not result["passed"] and result["checks"][0]["name"] == "reviewed scans"


def test_a_small_dip_within_the_interval_passes_and_the_table_says_so():
    rows = random_rows(300, 0.75, seed=4)
    active = judged(rows)
    flipped = 0
    dipped = []
    for truth, label, top, argmax, tone in rows:  # two wrong answers more, spread over two classes
        if label == truth and flipped < 2 and truth in ("acne", "rosacea"):
            label, flipped = "eczema", flipped + 1
        dipped.append((truth, label, top, argmax, tone))
    result = compare(judged(dipped), active, min_reviewed=100)
    assert result["passed"], result
    table = format_comparison(result, "cand", "act")
    assert "cand (candidate) against act (active) on 300 usable reviewed scans" in table
    assert "FAIL" not in table and "macro-F1" in table


def test_a_perfect_score_on_few_reviews_has_an_honest_interval():
    """Issue 31: 30 of 30 right printed "100% (100–100)" (a bootstrap of identical answers); the Wilson score
    interval says what 30 reviews can tell: "100% (89–100)"."""
    from review.templatetags.review_extras import interval

    rows = [("acne", "acne", 0.9, "acne", "light")] * 30
    got = figures(judged(rows), n_boot=200)
    assert got["accuracy"]["value"] == 1.0 and got["accuracy"]["high"] == 1.0
    assert got["accuracy"]["low"] == pytest.approx(0.8865, abs=1e-4)
    assert interval(got["accuracy"]) == "100% (89–100)"
    assert interval(got["recall"]["acne"]) == "100% (89–100)" and got["recall"]["acne"]["n"] == 30
    assert interval(got["uncertain_rate"]) == "0% (0–11)"  # none abstained: not "(0–0)" either
    assert got["recall"]["eczema"] == {"value": None, "low": None, "high": None, "n": 0}


def test_wilson_matches_the_textbook_values():
    from review.measures import wilson

    low, high = wilson(8, 10)  # 95 %: 0.490 to 0.943 (Wilson, 1927; Newcombe, 1998, table I)
    assert (round(low, 3), round(high, 3)) == (0.49, 0.943)
    low, high = wilson(0, 20)
    assert low == 0.0 and round(high, 3) == 0.161
    assert wilson(0, 0) is None


def test_healthy_called_a_condition_is_a_share_of_the_healthy_reviews():
    rows = [("healthy", "acne", 0.9, "acne", "light")] * 2 + [("healthy", "healthy", 0.9, "healthy", "light")] * 8
    rows += [("acne", "acne", 0.9, "acne", "light")] * 40
    got = figures(judged(rows), n_boot=200)
    assert got["healthy_n"] == 10 and got["healthy_called_condition"]["value"] == 0.2
    from review.measures import wilson

    assert (got["healthy_called_condition"]["low"], got["healthy_called_condition"]["high"]) == tuple(
        round(b, 4) for b in wilson(2, 10))


def test_the_gate_s_healthy_difference_has_an_interval_even_when_neither_version_errs():
    """Both versions called no healthy scan a condition: the bootstrap said "[+0.000, +0.000]"; Newcombe's
    paired score interval says what 20 healthy scans can tell."""
    from review.measures import newcombe_paired, wilson

    rows = [("healthy", "healthy", 0.9, "healthy", "light")] * 20 + [("acne", "acne", 0.9, "acne", "light")] * 20
    result = compare(judged(rows), judged(rows), min_reviewed=10, n_boot=200)
    (check,) = [c for c in result["checks"] if c["name"] == "healthy called a condition"]
    upper = round(wilson(0, 20)[1], 4)
    assert check["difference"] == {"value": 0.0, "low": -upper, "high": upper} and check["passed"]
    text = format_comparison(result, "cand", "act")
    assert f"[-{upper:.3f}, +{upper:.3f}]" in text and "Newcombe" in text
    # It holds the point, narrows with agreement between the versions, and flags a clearly worse candidate.
    low, high = newcombe_paired(0, 10, 0, 30)  # the candidate errs on 10 of 40 the active got right
    assert 0 < low < 0.25 < high < 0.5
    assert newcombe_paired(0, 0, 0, 0) is None


def test_a_candidate_that_calls_more_healthy_skin_a_condition_is_refused():
    active = [("healthy", "healthy", 0.9, "healthy", "light")] * 30 + [("acne", "acne", 0.9, "acne", "light")] * 30
    worse = [("healthy", "acne", 0.9, "acne", "light")] * 10 + [("healthy", "healthy", 0.9, "healthy", "light")] * 20
    worse += [("acne", "acne", 0.9, "acne", "light")] * 30
    result = compare(judged(worse), judged(active), min_reviewed=10, n_boot=200)
    (check,) = [c for c in result["checks"] if c["name"] == "healthy called a condition"]
    assert check["difference"]["low"] > 0 and not check["passed"] and not result["passed"]
