"""Server-side PNG pictures of the agreement statistics (matplotlib, Agg; no pyplot global state)."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def _pretty(label):
    """A model or reviewer label in the reader's language."""
    from diagnosis.models import Label

    from .models import ReviewLabel

    for choices in (Label, ReviewLabel):
        if label in choices.values:
            return str(choices(label).label)
    return label.replace("_", " ").capitalize()


def confusion_png(stats) -> bytes:
    """Heatmap: rows = model label, columns = reviewer label; cell text = count; diagonal outlined."""
    rows, cols = stats["model_labels"], stats["reviewer_labels"]
    counts = [[stats["matrix"][r][c] for c in cols] for r in rows]
    fig = _figure(7, 5.2)
    ax = fig.add_subplot()
    image = ax.imshow(counts, cmap="Blues", vmin=0, vmax=max(1, max(max(r) for r in counts)))
    ax.set_xticks(range(len(cols)), [_pretty(c) for c in cols], rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), [_pretty(r) for r in rows])
    ax.set_xlabel(_("Reviewer's label"))
    ax.set_ylabel(_("Model's label"))
    agreement = stats["agreement"]
    ax.set_title(
        ngettext("Model vs reviewer: %(total)d review, agreement %(agreement)s",
                 "Model vs reviewer: %(total)d reviews, agreement %(agreement)s", stats["total"])
        % {"total": stats["total"], "agreement": f"{agreement:.0%}" if agreement is not None else _("n/a")}
    )
    peak = max(1, max(max(r) for r in counts))
    for i, row in enumerate(counts):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", color="white" if value > peak / 2 else "#1d2430")
            if rows[i] == cols[j]:
                ax.add_patch(_square(j, i))
    from matplotlib.ticker import MaxNLocator

    fig.colorbar(image, ax=ax, label=_("reviews"), ticks=MaxNLocator(integer=True))
    return _png(fig)


def _square(x, y):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor="#2f6fb0", linewidth=2)


def timeline_png(stats) -> bytes:
    """Agreement rate per period, one line per model version, plus per-class rates as bars."""
    fig = _figure(9, 4.2)
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    series: dict[str, list[dict]] = {}
    for point in stats["timeline"]:
        series.setdefault(point["version"], []).append(point)
    periods = sorted({p["period"] for p in stats["timeline"]})
    position = {period: i for i, period in enumerate(periods)}  # numeric x: no categorical-axis guessing
    for version, points in sorted(series.items()):
        xs = [position[p["period"]] for p in points]
        ys = [100 * p["agreement"] for p in points]
        left.plot(xs, ys, marker="o", label=f"{version}")
        for x, y, p in zip(xs, ys, points, strict=True):
            left.annotate(f"n={p['usable']}", (x, y), textcoords="offset points", xytext=(0, 6), ha="center",
                          fontsize=7)
    if periods:
        left.set_xticks(range(len(periods)), periods)
        left.set_xlim(-0.5, len(periods) - 0.5)
    left.set_ylim(0, 112)
    left.set_yticks(range(0, 101, 20))
    left.set_ylabel(_("Agreement (%)"))
    starts = {"day": _("Review day (start)"), "week": _("Review week (start)"), "month": _("Review month (start)")}
    left.set_xlabel(starts.get(stats["period"], stats["period"]))
    left.set_title(_("Agreement over time, per model version"))
    if series:
        left.legend(fontsize=8, loc="lower right")
        left.tick_params(axis="x", labelrotation=30, labelsize=8)
    else:
        left.text(0.5, 0.5, _("No usable reviews yet"), ha="center", va="center", transform=left.transAxes)
    classes = list(stats["per_class"])
    confirmed = [100 * (stats["per_class"][c]["confirmed_rate"] or 0) for c in classes]
    found = [100 * (stats["per_class"][c]["found_rate"] or 0) for c in classes]
    xs = list(range(len(classes)))
    right.bar([x - 0.2 for x in xs], confirmed, width=0.4, label=_("model's label confirmed"))
    right.bar([x + 0.2 for x in xs], found, width=0.4, label=_("reviewer's label found"))
    right.set_xticks(list(xs), [_pretty(c) for c in classes])
    right.set_ylim(0, 125)
    right.set_yticks(range(0, 101, 20))
    right.set_title(_("Per-class agreement (%)"))
    right.legend(fontsize=8, loc="upper right")
    return _png(fig)


def _bar_with_interval(ax, y, item, colour, label=None):
    """One figure (a review.measures interval) as a dot with its interval as a line; nothing when unknown."""
    if item["value"] is None:
        return
    value = 100 * item["value"]
    if item["low"] is not None:
        ax.plot([100 * item["low"], 100 * item["high"]], [y, y], color=colour, linewidth=3, alpha=0.5)
    ax.plot([value], [y], "o", color=colour, label=label)


def versions_png(versions) -> bytes:
    """Per version: accuracy and macro-F1 with their intervals (left), recall per class (right)."""
    fig = _figure(10, 1.2 + 0.7 * max(1, len(versions)))
    left, right = fig.subplots(1, 2, width_ratios=[1, 1])
    names = [f"{v['version']} ({_role_name(v['role'])}, n={v['figures']['n']})" for v in versions]
    ys = list(range(len(versions)))[::-1]
    for y, v in zip(ys, versions, strict=True):
        first = y == ys[0]
        _bar_with_interval(left, y + 0.12, v["figures"]["accuracy"], "#2f6fb0", _("accuracy") if first else None)
        _bar_with_interval(left, y - 0.12, v["figures"]["macro_f1"], "#c0504d", _("macro-F1") if first else None)
    for ax in (left, right):
        ax.set_yticks(ys, names if ax is left else [""] * len(ys))
        ax.set_xlim(0, 100)
        ax.set_ylim(-0.7, len(versions) - 0.3)
        ax.grid(axis="x", alpha=0.3)
    left.set_xlabel(_("Reviewed scans, per cent (lines: 95 per cent intervals)"))
    left.set_title(_("Each model version against the reviewers"))
    if versions:
        left.legend(fontsize=8, loc="lower left")
    else:
        left.text(50, 0, _("No model version judged a reviewed scan yet"), ha="center", va="center")
    classes = list(versions[0]["figures"]["recall"]) if versions else []
    colours = ["#2f6fb0", "#c0504d", "#4f9d4f", "#8064a2"]
    step = 0.8 / max(1, len(classes))
    for y, v in zip(ys, versions, strict=True):
        for j, c in enumerate(classes):
            offset = 0.4 - step / 2 - j * step
            _bar_with_interval(right, y + offset, v["figures"]["recall"][c], colours[j % len(colours)],
                               _pretty(c) if y == ys[0] else None)
    right.set_xlabel(_("recall per class (%)"))
    right.set_title(_("Found by the model, per reviewer's class"))
    if classes:
        right.legend(fontsize=8, loc="lower left", ncols=2)
    return _png(fig)


def _role_name(role):
    return {"active": _("active"), "shadow": _("shadow"), "past": _("past"), "registered": _("registered")}.get(
        role, role)


def drift_png(report) -> bytes:
    """The latest drift report: the result mix and the skin-tone mix, last days against the weeks before."""
    fig = _figure(10, 3.6)
    axes = fig.subplots(1, 2)
    checks = {c["name"]: c for c in (report.checks if report else [])}
    for ax, name, title in ((axes[0], "result mix", _("Results")), (axes[1], "skin-tone mix", _("Skin tone (ITA)"))):
        check = checks.get(name)
        if not check or not check.get("recent"):
            ax.text(0.5, 0.5, _("Not enough scans yet"), ha="center", va="center", transform=ax.transAxes)
            ax.set_title(title)
            continue
        cats = check.get("categories") or list(check["recent"])  # stored dicts lose their key order
        xs = list(range(len(cats)))
        ax.bar([x - 0.2 for x in xs], [100 * check["baseline"][c] for c in cats], width=0.4,
               label=_("the %(days)d days before") % {"days": round((report.recent_start - report.baseline_start)
                                                                     .total_seconds() / 86400)}, color="#9db7d5")
        ax.bar([x + 0.2 for x in xs], [100 * check["recent"][c] for c in cats], width=0.4,
               label=_("the last %(days)d days") % {"days": round((report.recent_end - report.recent_start)
                                                                 .total_seconds() / 86400)}, color="#2f6fb0")
        ax.set_xticks(xs, [_pretty(c) for c in cats], rotation=25, ha="right", fontsize=8)
        ax.set_ylabel(_("Share of scans (per cent)"))
        verdict = _("significant change") if check.get("drifted") else _("no significant change")
        p = check.get("p_value")
        ax.set_title(f"{title}: {verdict}" + (f" (p={p:.2g})" if p is not None else ""))
        ax.legend(fontsize=8)
    return _png(fig)
