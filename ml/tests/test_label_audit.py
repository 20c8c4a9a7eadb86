"""The label audit: cleanlab finds flipped labels from held-out probabilities; training reads the decisions."""

import numpy as np
import pytest

from ml.core import data, label_audit
from ml.core.data import Item


def test_the_audit_flags_labels_that_held_out_probabilities_contradict():
    rng = np.random.default_rng(0)
    n, k = 400, 4
    truth = rng.integers(0, k, n)
    probs = np.full((n, k), 0.05)
    probs[np.arange(n), truth] = 0.85
    probs += rng.uniform(0, 0.05, (n, k))
    given = truth.copy()
    flipped = rng.choice(n, 12, replace=False)
    given[flipped] = (truth[flipped] + 1) % k
    sources = ["a" if i % 2 else "b" for i in range(n)]
    rows = label_audit.audit(given, probs, sources, ["acne", "eczema", "healthy", "rosacea"])
    found = {r["index"] for r in rows}
    assert len(set(flipped.tolist()) & found) >= 10 and len(found) <= 20  # most flips, few false alarms
    first = rows[0]
    assert first["suggested"] == ["acne", "eczema", "healthy", "rosacea"][truth[first["index"]]]
    per_source = label_audit.flagged_per_source(rows, sources)
    assert sum(f for f, _n in per_source.values()) == len(rows) and per_source["a"][1] == 200


def test_training_reads_the_decisions_excluding_and_relabelling(tmp_path):
    items = [
        Item(str(tmp_path / "acne" / "web__a.jpg"), "acne", "web"),
        Item(str(tmp_path / "acne" / "web__b.jpg"), "acne", "web"),
        Item(str(tmp_path / "eczema" / "web__c.jpg"), "eczema", "web"),
        Item(str(tmp_path / "nonface" / "imagenet__d.jpg"), data.REJECT_LABEL, "imagenet"),
    ]
    csv = tmp_path / "decisions.csv"
    csv.write_text(
        "path,decision,label,reason\n"
        "acne/web__a.jpg,exclude,,no lesion visible\n"
        "eczema/web__c.jpg,relabel,acne,comedones and pustules\n"
        "acne/web__b.jpg,keep,,looked at: acne\n"
        "nonface/imagenet__d.jpg,exclude,,shows a face\n"
    )
    kept, counts = data.apply_label_decisions(items, data.read_label_decisions(csv))
    assert [(it.path.rsplit("/", 1)[-1], it.label) for it in kept] == [("web__b.jpg", "acne"), ("web__c.jpg", "acne")]
    assert counts == {"excluded": 2, "relabelled": 1}
    csv.write_text("path,decision,label,reason\nacne/web__a.jpg,drop,,?\n")
    with pytest.raises(ValueError, match="unknown decision"):
        data.read_label_decisions(csv)
    csv.write_text("path,decision,label,reason\nacne/web__a.jpg,relabel,,?\n")
    with pytest.raises(ValueError, match="without a label"):
        data.read_label_decisions(csv)


def test_the_committed_decisions_are_valid_and_name_real_classes():
    if not data.LABEL_DECISIONS.is_file():
        pytest.skip("no label decisions committed")
    decisions = data.read_label_decisions(data.LABEL_DECISIONS)
    assert decisions
    for path, (decision, label) in decisions.items():
        assert path.count("/") == 1, path
        assert decision != "relabel" or label in ("acne", "eczema", "healthy", "rosacea", data.REJECT_LABEL)


def test_training_writes_held_out_predictions_that_the_audit_command_reads(tiny_artifact, tiny_dataset, tmp_path):
    import csv
    import io

    from django.core.management import call_command

    art, meta, _evaluation = tiny_artifact
    rows, names = label_audit.read_predictions(art / "heldout_predictions.csv.gz")
    assert names == [*meta["classes"], data.REJECT_LABEL]
    assert len(rows) == meta["data_summary"]["n_images"]
    for row in rows[:5]:
        assert abs(sum(float(row[f"p_{n}"]) for n in names) - 1.0) < 1e-3 and row["path"].count("/") == 1
    out = io.StringIO()
    call_command("audit_labels", predictions=str(art / "heldout_predictions.csv.gz"), out=str(tmp_path / "audit"),
                 data=[str(d) for d in tiny_dataset], stdout=out)
    assert "images flagged; per source" in out.getvalue() and "src0" in out.getvalue()
    with open(tmp_path / "audit" / "flagged.csv", newline="") as fh:
        flagged = list(csv.DictReader(fh))
    assert all(r["given"] != r["suggested"] for r in flagged)
    assert len(list((tmp_path / "audit").glob("flagged-*.png"))) == -(-len(flagged) // 30)
