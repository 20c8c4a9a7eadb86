"""Two-phase training on cached frozen-base features.

1. Preprocess every image once (face crop / central crop) with ``preprocess.preprocess``.
2. Cache VGG16 block4_pool features (bf16 trunk on AMX CPUs, stored float16) for one clean
   view and ``views - 1`` photo-style augmented views of each training image.
3. Phase one: the head on the frozen, pooled block-5 features of all cached views.
4. Phase two: fine-tune block 5 + head on the cached block-4 tensors (one random view per
   image per epoch) at a low learning rate, with class weights; keep the best epoch on validation.
5. Round the trained weights to float16 (what is shipped), fit the temperature, the uncertain
   and OOD thresholds on validation data, evaluate on the held-out test split, save the artifact.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from . import artifact, augment, calibration, data, decision, metrics
from .inference import FeatureExtractor
from .model import build_head, build_top, get_trained_weights, load_base_weights, set_trained_weights
from .preprocess import InvalidImage, preprocess


def _git_commit() -> str | None:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        return None


class _Clock:
    def __init__(self, log):
        self.t0 = time.time()
        self.log = log

    def __call__(self, msg):
        self.log(f"[{time.time() - self.t0:7.1f}s] {msg}")


def class_weights(y, n_classes):
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 0.0)
    return w.astype(np.float32)


def train(
    data_dirs,
    out_dir,
    epochs: int = 4,
    head_epochs: int = 60,
    input_size: int = 224,
    views: int = 3,
    base_weights_path=None,
    name: str | None = None,
    seed: int = 0,
    batch_size: int = 32,
    fine_tune_lr: float = 1e-5,
    head_lr: float = 1e-3,
    test_frac: float = 0.15,
    val_frac: float = 0.15,
    workers: int = 2,
    log=print,
):
    import keras
    import tensorflow as tf

    clock = _Clock(log)
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    name = name or out_dir.name
    items = data.collect(data_dirs)
    if not items:
        raise ValueError("no images found")
    present = sorted({it.label for it in items})
    from . import CLASSES

    classes = [c for c in CLASSES if c in present] if set(present) <= set(CLASSES) else present
    cidx = {c: i for i, c in enumerate(classes)}
    n_cls = len(classes)
    clock(f"{len(items)} images, classes {classes}; sources {dict(Counter(it.source for it in items))}")

    # 1. preprocess all images once (threads: OpenCV releases the GIL)
    def prep(it):
        try:
            return preprocess(it.path, size=input_size)
        except InvalidImage:
            return None

    with ThreadPoolExecutor(max_workers=max(1, workers)) as ex:
        pres = list(ex.map(prep, items))
    bad = [it.path for it, p in zip(items, pres, strict=False) if p is None]
    keep = [i for i, p in enumerate(pres) if p is not None]
    items = [items[i] for i in keep]
    pres = [pres[i] for i in keep]
    y_all = np.array([cidx[it.label] for it in items])
    face_rate = _face_rates(items, pres)
    clock(f"preprocessed; {len(bad)} undecodable; face detection rate per source: " + json.dumps(face_rate))

    split = data.stratified_split(items, test_frac, val_frac, seed)
    tr, va, te = split["train"], split["val"], split["test"]
    if not va:
        va = tr[: max(1, len(tr) // 5)]
    clock(f"split: train {len(tr)}, val {len(va)}, test {len(te)}")

    # 2. cache block4 features
    base, base_sha = load_base_weights(base_weights_path)
    extractor = FeatureExtractor(input_size, base, fast=True)
    clock(f"feature extractor dtype: {extractor.dtype}")
    hw = input_size // 16
    crops = np.stack([p.crop for p in pres])
    f_train = np.zeros((len(tr), views, hw, hw, 512), np.float16)
    n_total = len(tr) * views + len(va) + len(te)
    done, t_cache = 0, time.time()
    chunk = 64
    for v in range(views):
        for s in range(0, len(tr), chunk):
            idx = tr[s : s + chunk]
            batch = crops[idx] if v == 0 else np.stack([augment.augment(crops[i], rng) for i in idx])
            f_train[s : s + len(idx), v] = extractor(batch).astype(np.float16)
            done += len(idx)
            _progress(clock, "caching features", done, n_total, t_cache)
    f_val = extractor(crops[va]).astype(np.float16)
    f_test = extractor(crops[te]).astype(np.float16) if te else np.zeros((0, hw, hw, 512), np.float16)
    done = n_total
    clock(f"cached {n_total} feature maps ({(f_train.nbytes + f_val.nbytes + f_test.nbytes) / 2**20:.0f} MiB)")
    y_tr, y_va, _y_te = y_all[tr], y_all[va], y_all[te]
    cw = class_weights(y_tr, n_cls)
    clock(f"class weights: { {c: round(float(w), 3) for c, w in zip(classes, cw, strict=False)} }")

    # 3. phase one: head on pooled frozen block-5 features
    top = build_top(input_size, n_cls, base)
    pool_model = keras.Model(top.input, top.get_layer("gap").output)

    @tf.function(reduce_retracing=True, autograph=False)
    def pooled(x):
        return pool_model(x, training=False)

    def pool_all(f):
        out = np.zeros((len(f), 512), np.float32)
        for s in range(0, len(f), 128):
            out[s : s + 128] = pooled(tf.constant(f[s : s + 128], tf.float32)).numpy()
        return out

    p_train = pool_all(f_train.reshape((-1, hw, hw, 512))).reshape(len(tr), views, 512)
    p_val = pool_all(f_val)
    clock("pooled block-5 features computed")
    head = build_head(n_cls)
    head.compile(
        optimizer=keras.optimizers.Adam(head_lr),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    xh = p_train.reshape(-1, 512)
    yh = np.repeat(y_tr, views)
    head.fit(
        xh,
        yh,
        sample_weight=cw[yh],
        validation_data=(p_val, y_va, cw[y_va]),
        epochs=head_epochs,
        batch_size=64,
        verbose=0,
        shuffle=True,
        callbacks=[
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=8, restore_best_weights=True),
            keras.callbacks.LambdaCallback(
                on_epoch_end=lambda e, logs: clock(
                    f"phase 1 epoch {e + 1}/{head_epochs}: loss {logs['loss']:.4f} acc {logs['accuracy']:.3f} "
                    f"val_loss {logs['val_loss']:.4f} val_acc {logs['val_accuracy']:.3f}"
                )
            ),
        ],
    )
    for lname in ("head_dense", "head_logits"):
        top.get_layer(lname).set_weights(head.get_layer(lname).get_weights())
    val_loss, val_f1 = _val_scores(top, f_val, y_va, cw, n_cls)
    clock(f"phase 1 done: val loss {val_loss:.4f}, val macro-F1 {val_f1:.3f}")

    # 4. phase two: fine-tune block 5 + head
    for layer in top.layers:
        layer.trainable = layer.name.startswith("block5_conv") or layer.name.startswith("head_")
    opt = keras.optimizers.Adam(fine_tune_lr)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    trainable = top.trainable_variables
    cw_t = tf.constant(cw)

    @tf.function(reduce_retracing=True, autograph=False)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            logits = top(x, training=True)[2]
            loss = loss_fn(y, logits, sample_weight=tf.gather(cw_t, y))
        grads = tape.gradient(loss, trainable)
        opt.apply_gradients(zip(grads, trainable, strict=False))
        return loss

    best = {"loss": val_loss, "f1": val_f1, "weights": get_trained_weights(top), "epoch": 0}
    history = [{"epoch": 0, "val_loss": val_loss, "val_macro_f1": val_f1}]
    for epoch in range(1, epochs + 1):
        t_ep = time.time()
        order = rng.permutation(len(tr))
        vsel = rng.integers(0, views, size=len(tr))
        losses = []
        for s in range(0, len(order), batch_size):
            b = order[s : s + batch_size]
            x = tf.constant(f_train[b, vsel[b]], tf.float32)
            losses.append(float(train_step(x, tf.constant(y_tr[b]))))
        val_loss, val_f1 = _val_scores(top, f_val, y_va, cw, n_cls)
        history.append(
            {"epoch": epoch, "train_loss": float(np.mean(losses)), "val_loss": val_loss, "val_macro_f1": val_f1}
        )
        improved = val_loss < best["loss"]
        if improved:
            best = {"loss": val_loss, "f1": val_f1, "weights": get_trained_weights(top), "epoch": epoch}
        clock(
            f"phase 2 epoch {epoch}/{epochs}: train loss {np.mean(losses):.4f} val loss {val_loss:.4f} "
            f"val macro-F1 {val_f1:.3f} ({time.time() - t_ep:.0f}s){' *best' if improved else ''}"
        )
    # 5. float16 weights (what ships), calibration, thresholds
    shipped = {k: v.astype(np.float16).astype(np.float32) for k, v in best["weights"].items()}
    set_trained_weights(top, shipped)
    clock(f"best epoch {best['epoch']} (val loss {best['loss']:.4f}); weights rounded to float16")

    @tf.function(reduce_retracing=True, autograph=False)
    def run_top(x):
        _c, pen, logits = top(x, training=False)
        return pen, logits

    def outputs(f):
        pens, logs = [], []
        for s in range(0, len(f), 128):
            p, lg = run_top(tf.constant(f[s : s + 128], tf.float32))
            pens.append(p.numpy())
            logs.append(lg.numpy())
        if not pens:
            return np.zeros((0, 256)), np.zeros((0, n_cls))
        return np.concatenate(pens), np.concatenate(logs).astype(np.float64)

    pen_tr, _ = outputs(f_train[:, 0])
    pen_va, log_va = outputs(f_val)
    temperature = calibration.fit_temperature(log_va, y_va)
    probs_va = calibration.softmax(log_va, temperature)
    centroids = calibration.class_centroids(pen_tr, y_tr, n_cls)
    ood_va = calibration.ood_score(pen_va, centroids)
    ood_tr = calibration.ood_score(pen_tr, centroids)
    noface_skin = [pres[i].skin_ratio for i in tr if not pres[i].face_found]
    thresholds = decision.default_thresholds()
    thresholds.update(
        {
            "uncertain": calibration.choose_uncertain_threshold(probs_va, y_va),
            "ood": float(max(np.quantile(np.concatenate([ood_tr, ood_va]), 0.995) * 1.25, 1e-6)),
            # 1st percentile of the training close-ups, kept within [0.08, 0.2]
            "min_skin_ratio_no_face": float(
                np.clip(np.quantile(noface_skin, 0.01), 0.08, decision.MIN_SKIN_RATIO_NO_FACE)
                if noface_skin
                else decision.MIN_SKIN_RATIO_NO_FACE
            ),
        }
    )
    clock(f"temperature {temperature:.3f}; thresholds {json.dumps(thresholds)}")

    # 6. held-out evaluation with the same decision rules as the Predictor
    report = {}
    eval_set = te if te else va
    f_eval = f_test if te else f_val
    pen_te, log_te = outputs(f_eval)
    probs_te = calibration.softmax(log_te, temperature)
    ood_te = calibration.ood_score(pen_te, centroids)
    preds = []
    for j, i in enumerate(eval_set):
        p = pres[i]
        preds.append(decision.decide(list(probs_te[j]), classes, decision.signals(p), ood_te[j], thresholds)[0])
    eval_items = [items[i] for i in eval_set]
    report = evaluation_report(eval_items, preds, probs_te, classes)
    report["split"] = "test" if te else "val"
    clock(
        f"held-out: accuracy {report['accuracy']:.3f} macro-F1 {report['macro_f1']:.3f} ECE {report['ece']:.3f} "
        f"abstained {report['abstained']}"
    )

    # 7. save
    out_dir.mkdir(parents=True, exist_ok=True)
    data.write_list(out_dir / "heldout_test.csv", [items[i] for i in te])
    metadata = {
        "name": name,
        "classes": classes,
        "input_size": input_size,
        "preprocessing": "exif+rgb; haar face crop (25% margin) or central crop (8% border); resize; vgg caffe",
        "base_weights_sha256": base_sha,
        "base_weights_file": Path(base_weights_path).name if base_weights_path else None,
        "temperature": temperature,
        "thresholds": thresholds,
        "trained_layers": "block5_conv1-3 + head (float16)",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "training": {
            "epochs_fine_tune": epochs,
            "best_epoch": best["epoch"],
            "head_epochs_max": head_epochs,
            "views": views,
            "seed": seed,
            "fine_tune_lr": fine_tune_lr,
            "head_lr": head_lr,
            "batch_size": batch_size,
            "history": history,
            "wall_time_s": round(time.time() - clock.t0, 1),
            "feature_dtype": extractor.dtype,
        },
        "data_summary": {
            "data_dirs": [
                str(Path(d).resolve()) for d in ([data_dirs] if isinstance(data_dirs, (str, Path)) else data_dirs)
            ],
            "n_images": len(items),
            "undecodable": len(bad),
            "per_class": dict(Counter(it.label for it in items)),
            "per_source": {
                f"{k[0]}/{k[1]}": v for k, v in sorted(Counter((it.source, it.label) for it in items).items())
            },
            "split": {"train": len(tr), "val": len(va), "test": len(te)},
            "face_detection_rate": face_rate,
        },
        "metrics": {
            "heldout": {k: report[k] for k in ("accuracy", "macro_f1", "ece", "n", "abstained")},
            "per_class": report["per_class"],
            "val_macro_f1": best["f1"],
        },
    }
    artifact.save(out_dir, shipped, metadata, extra_arrays={"ood_centroids": centroids})
    with open(out_dir / "evaluation.json", "w") as f:
        json.dump(report, f, indent=2, default=float)
    (out_dir / "evaluation.txt").write_text(format_report(report))
    try:
        plot_confusion(report, out_dir / "confusion_matrix.png")
    except Exception as exc:  # plotting is a nicety
        clock(f"confusion plot failed: {exc}")
    clock(f"saved artifact to {out_dir}")
    return metadata, report


def _progress(clock, what, done, total, t0):
    step = max(1, total // 20)
    if done % step < 64 or done == total:
        rate = done / max(time.time() - t0, 1e-6)
        clock(f"{what}: {done}/{total} ({rate:.1f} img/s, ETA {(total - done) / max(rate, 1e-6):.0f}s)")


def _val_scores(top, f_val, y_va, cw, n_cls):
    import tensorflow as tf

    logits = []
    for s in range(0, len(f_val), 128):
        logits.append(top(tf.constant(f_val[s : s + 128], tf.float32), training=False)[2].numpy())
    logits = np.concatenate(logits).astype(np.float64)
    p = calibration.softmax(logits)
    w = cw[y_va]
    loss = float(np.sum(-np.log(np.clip(p[np.arange(len(y_va)), y_va], 1e-12, 1)) * w) / np.sum(w))
    cls = list(range(n_cls))
    summ = metrics.summarize(list(y_va), list(p.argmax(1)), cls, extra=())
    return loss, summ["macro_f1"]


def _face_rates(items, pres):
    out = {}
    for src in sorted({it.source for it in items}):
        sel = [p for it, p in zip(items, pres, strict=False) if it.source == src and p is not None]
        out[src] = {"n": len(sel), "face_rate": round(sum(p.face_found for p in sel) / max(1, len(sel)), 3)}
    return out


def evaluation_report(eval_items, preds, probs, classes):
    """Metrics overall and per source; ``preds`` are final labels (incl. abstentions)."""
    y_true = [it.label for it in eval_items]
    conf = probs.max(axis=1) if len(probs) else np.zeros(0)
    argm = [classes[i] for i in probs.argmax(axis=1)] if len(probs) else []
    rep = metrics.summarize(y_true, preds, classes, conf, argm)
    rep["per_source"] = {}
    for src in sorted({it.source for it in eval_items}):
        sel = [i for i, it in enumerate(eval_items) if it.source == src]
        rep["per_source"][src] = metrics.summarize(
            [y_true[i] for i in sel], [preds[i] for i in sel], classes, conf[sel], [argm[i] for i in sel]
        )
    return rep


def format_report(rep) -> str:
    lines = [
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
    for src, r in (rep.get("per_source") or {}).items():
        lines += [
            "",
            f"source {src}: n={r['n']} accuracy {r['accuracy']:.4f} macro-F1 {r['macro_f1']:.4f} "
            f"ECE {r.get('ece', float('nan')):.4f} abstained {r['abstained']}",
        ]
        for c, m in r["per_class"].items():
            if m["support"]:
                lines.append(f"  {c:<10} P {m['precision']:.3f} R {m['recall']:.3f} F1 {m['f1']:.3f} n={m['support']}")
    return "\n".join(lines) + "\n"


def plot_confusion(rep, path) -> None:
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
    ax.set_title(f"accuracy {rep['accuracy']:.3f}  macro-F1 {rep['macro_f1']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
