"""Evaluation reports: figures overall, per source and per skin-tone group, as JSON, text and pictures."""

from __future__ import annotations

import numpy as np

from . import metrics

#: Individual typology angle bands (Chardon et al. 1991; Del Bino et al. 2013), lightest first.
ITA_GROUPS = (
    ("very_light", 55.0),
    ("light", 41.0),
    ("intermediate", 28.0),
    ("tan", 10.0),
    ("brown", -30.0),
    ("dark", -1e9),
)
#: UTKFace's race field (third part of its file names), as the dataset's authors name the groups.
UTKFACE_GROUPS = {"0": "white", "1": "black", "2": "asian", "3": "indian", "4": "other"}


def ita_group(ita: float | None) -> str:
    if ita is None or not np.isfinite(ita):
        return "unknown"
    for name, floor in ITA_GROUPS:
        if ita > floor:
            return name
    return "dark"


def utkface_group(path: str) -> str | None:
    """UTKFace's group from ``utkface__<part>__<age>_<gender>_<race>_<date>.jpg``; None for other files."""
    name = str(path).rsplit("/", 1)[-1]
    if not name.startswith("utkface__"):
        return None
    fields = name.split("__")[-1].split("_")
    return UTKFACE_GROUPS.get(fields[2]) if len(fields) > 3 else None


def evaluation_report(eval_items, preds, probs, classes, groups: dict | None = None):
    """Metrics overall, per source and per group; ``preds`` are final labels (incl. abstentions).

    ``groups``: {grouping name: [group of each item]} (e.g. skin tone), reported like sources.
    """
    y_true = [it.label for it in eval_items]
    conf = probs.max(axis=1) if len(probs) else np.zeros(0)
    argm = [classes[i] for i in probs.argmax(axis=1)] if len(probs) else []
    rep = metrics.summarize(y_true, preds, classes, conf, argm)
    rep["per_source"] = _by(eval_items, [it.source for it in eval_items], y_true, preds, classes, conf, argm)
    for grouping, keys in (groups or {}).items():
        rep[f"per_{grouping}"] = _by(eval_items, keys, y_true, preds, classes, conf, argm)
    return rep


def _by(items, keys, y_true, preds, classes, conf, argm):
    out = {}
    for key in sorted({k for k in keys if k is not None}):
        sel = [i for i, k in enumerate(keys) if k == key]
        r = metrics.summarize(
            [y_true[i] for i in sel], [preds[i] for i in sel], classes, conf[sel], [argm[i] for i in sel]
        )
        r["called"] = {c: sum(int(preds[i] == c) for i in sel) / len(sel) for c in (*classes, "uncertain", "no_skin")}
        out[key] = r
    return out


def refusal_report(sources, preds) -> dict:
    """For photos with no face or skin: how often each outcome came out, per source and overall."""
    out = {}
    for src in sorted(set(sources)) + ["all"]:
        sel = [p for s, p in zip(sources, preds, strict=True) if src in ("all", s)]
        if sel:
            given = sum(p not in ("uncertain", "no_skin") for p in sel)
            out[src] = {"n": len(sel), "given_a_class": given / len(sel), "no_skin": sel.count("no_skin") / len(sel)}
    return out


def format_report(rep, title: str = "") -> str:
    lines = [title] if title else []
    lines += [
        f"images: {rep['n']}",
        f"accuracy: {rep['accuracy']:.4f}",
        f"macro-F1: {rep['macro_f1']:.4f}",
        f"ECE: {rep.get('ece', float('nan')):.4f}",
        f"abstained: {rep['abstained']}",
        "",
        f"{'class':<10} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}",
    ]
    for c, m in rep["per_class"].items():
        lines.append(f"{c:<10} {m['precision']:9.3f} {m['recall']:7.3f} {m['f1']:6.3f} {m['support']:8d}")
    cm = rep["confusion_matrix"]
    lines += [
        "",
        "confusion matrix (rows: true, columns: predicted)",
        " " * 10 + "".join(f"{c[:9]:>10}" for c in cm["columns"]),
    ]
    for lab, row in zip(cm["labels"], cm["matrix"], strict=False):
        lines.append(f"{lab:<10}" + "".join(f"{v:>10d}" for v in row))
    for key, heading in (("per_source", "source"), ("per_utkface_group", "UTKFace group"), ("per_tone", "tone (ITA)")):
        for name, r in (rep.get(key) or {}).items():
            called = ", ".join(f"{c} {v:.2f}" for c, v in r.get("called", {}).items() if v)
            lines += [
                "",
                f"{heading} {name}: n={r['n']} accuracy {r['accuracy']:.4f} macro-F1 {r['macro_f1']:.4f} "
                f"ECE {r.get('ece', float('nan')):.4f}",
                f"  called: {called}",
            ]
            if key == "per_source":
                for c, m in r["per_class"].items():
                    if m["support"]:
                        lines.append(
                            f"  {c:<10} P {m['precision']:.3f} R {m['recall']:.3f} F1 {m['f1']:.3f} n={m['support']}"
                        )
    for name, r in (rep.get("refusal") or {}).items():
        lines.append(f"no face or skin, {name}: n={r['n']} given a class {r['given_a_class']:.3f}")
    return "\n".join(lines) + "\n"


def plot_confusion(rep, path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.array(rep["confusion_matrix"]["matrix"])
    cols, rows = rep["confusion_matrix"]["columns"], rep["confusion_matrix"]["labels"]
    fig, ax = plt.subplots(figsize=(1.2 * len(cols) + 2, 1.0 * len(rows) + 1.5))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(
                j, i, str(cm[i, j]), ha="center", va="center", color="white" if cm[i, j] > cm.max() / 2 else "black"
            )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title}accuracy {rep['accuracy']:.3f}  macro-F1 {rep['macro_f1']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def format_lesions(figures: dict) -> str:
    """``evaluate``'s lesion figures as text: the marked photos' scores, then the counts found elsewhere."""
    m = figures["marked"]

    def f(v, spec=".3f"):
        return "n/a" if v is None else format(v, spec)

    lines = [
        "== acne lesions (photos with marked lesions) ==",
        f"photos: {m['photos']} ({m['not_judged']} not judged: counted as none found)",
        f"count MAE: {f(m['count_mae'], '.2f')}  bias: {f(m['count_bias'], '+.2f')}  "
        f"Pearson r: {f(m['count_pearson_r'])}",
        f"grade accuracy: {f(m.get('grade_accuracy'))}  within one grade: {f(m.get('grade_within_one'))}",
        f"boxes: precision {f(m['box_precision'])} (predicted centres inside a marked lesion), "
        f"recall {f(m['box_recall'])} (marked lesions found)",
    ]
    if figures.get("counts_elsewhere"):
        lines.append("lesions found on other photos (label/source: median, 90th percentile, photos):")
        for key, c in figures["counts_elsewhere"].items():
            lines.append(f"  {key}: {c['median']:.0f}, {c['p90']:.0f}, {c['photos']}")
    return "\n".join(lines)
