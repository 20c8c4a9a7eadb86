"""Label audit: which training images probably carry the wrong label, from held-out-source probabilities.

Every image's probabilities come from a head that never saw its source (``selection.leave_one_source_out``),
so an image the other sources' heads confidently call something else is a candidate for a wrong label.
cleanlab's confident learning (Northcutt et al., 2021) ranks the candidates; a person looks at each and
writes a decision (``data.LABEL_DECISIONS``), which training reads. Many candidates are right labels that
the model misreads on an unfamiliar source: those are kept, with the reason written down too.
"""

from __future__ import annotations

from collections import Counter

import numpy as np


def find_label_issues(labels, probs) -> np.ndarray:
    """Indices of likely label issues, most likely first (cleanlab's ``find_label_issues``, pruned by the
    estimated noise rate, ranked by self-confidence). ``labels``: class indices (N,); ``probs``: (N, K)."""
    from cleanlab.filter import find_label_issues as cleanlab_find

    probs = np.asarray(probs, np.float64)
    probs = probs / probs.sum(axis=1, keepdims=True)
    return np.asarray(
        cleanlab_find(np.asarray(labels), probs, return_indices_ranked_by="self_confidence"), dtype=np.int64
    )


def audit(labels, probs, sources, classes) -> list[dict]:
    """One row per flagged image: its index, source, given label, the label its held-out probabilities
    suggest, and the probability of each."""
    labels, probs = np.asarray(labels), np.asarray(probs, np.float64)
    rows = []
    for i in find_label_issues(labels, probs):
        rows.append(
            {
                "index": int(i),
                "source": sources[i],
                "given": classes[labels[i]],
                "suggested": classes[int(probs[i].argmax())],
                "p_given": round(float(probs[i, labels[i]]), 3),
                "p_suggested": round(float(probs[i].max()), 3),
            }
        )
    return rows


def flagged_per_source(rows, sources) -> dict[str, tuple[int, int]]:
    """{source: (flagged, images)}."""
    flagged, total = Counter(r["source"] for r in rows), Counter(sources)
    return {s: (flagged.get(s, 0), n) for s, n in sorted(total.items())}


def read_predictions(path) -> tuple[list[dict], list[str]]:
    """The rows of a training run's ``heldout_predictions.csv.gz`` and its output names (``p_<name>``)."""
    import csv
    import gzip

    with gzip.open(path, "rt", newline="") as fh:
        reader = csv.DictReader(fh)
        names = [f[2:] for f in reader.fieldnames or [] if f.startswith("p_")]
        return list(reader), names


def audit_predictions(path) -> tuple[list[dict], list[dict], list[str]]:
    """``audit`` of a ``heldout_predictions.csv.gz``: -> (flagged rows with their ``path``, all rows, names)."""
    rows, names = read_predictions(path)
    index = {n: i for i, n in enumerate(names)}
    usable = [r for r in rows if r["label"] in index]
    labels = np.array([index[r["label"]] for r in usable])
    probs = np.array([[float(r[f"p_{n}"]) for n in names] for r in usable])
    flagged = audit(labels, probs, [r["source"] for r in usable], names)
    for row in flagged:
        row["path"] = usable[row["index"]]["path"]
    return flagged, usable, names
