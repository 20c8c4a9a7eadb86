"""The PDF report a person can take to their doctor: their scans over a period, the trend, the disclaimer.

Built on the server with ReportLab (platypus) and a matplotlib chart; reads only the owner's own scans.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Image as PdfImage
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from facediag_site.lib import dates
from facediag_site.lib.numbers import percent

from . import results, selectors
from .models import CONDITIONS, Scan
from .readouts import lesions as lesion_readout

#: A report covers at most this many scans (newest kept), so one request cannot build a huge file.
MAX_REPORT_SCANS = 100
PHOTO_SIDE_CM = 5.0
SIDE_PHOTO_CM = 2.4  # a multi-photo scan's left and right photos, under the front one


@dataclass(frozen=True)
class ReportPeriod:
    date_from: date | None
    date_to: date | None

    def describe(self) -> str:
        day = dates.day
        if self.date_from and self.date_to:
            return _("%(start)s to %(end)s") % {"start": day(self.date_from), "end": day(self.date_to)}
        if self.date_from:
            return _("from %(start)s") % {"start": day(self.date_from)}
        if self.date_to:
            return _("up to %(end)s") % {"end": day(self.date_to)}
        return _("all scans")


def report_scans(owner, period: ReportPeriod):
    """The finished scans of the period, oldest first (at most MAX_REPORT_SCANS, the newest ones)."""
    scans = selectors.scans_for_owner(owner, status=Scan.Status.DONE, date_from=period.date_from,
                                      date_to=period.date_to, with_photos=True)
    return list(reversed(list(scans[:MAX_REPORT_SCANS])))


#: At most this many dates under the trend chart, so they never overlap.
MAX_TREND_TICKS = 6


def time_ticks(moments: list[datetime], limit: int = MAX_TREND_TICKS) -> list[datetime]:
    """Where dates go under a chart over real time: at each scan when there are few, else ``limit`` moments
    evenly spaced from the first scan to the last (never crowded, whatever the gaps between scans)."""
    if len(moments) <= limit or moments[-1] == moments[0]:
        return list(moments)
    span = moments[-1] - moments[0]
    return [moments[0] + span * i / (limit - 1) for i in range(limit)]


def _date_axis(ax, moments: list[datetime], with_time: bool) -> list[float]:
    """Days since the first moment for each of ``moments`` (a plain number axis, so the dates below are the
    pages' own words: the person's time zone and date style), with the dates of ``time_ticks`` under it."""
    start = moments[0]
    ticks = time_ticks(moments)
    ax.set_xticks([(t - start).total_seconds() / 86400 for t in ticks],
                  [f"{dates.day(t)}\n{dates.time_of_day(t)}" if with_time else dates.day(t) for t in ticks],
                  fontsize=7.5)
    days = [(m - start).total_seconds() / 86400 for m in moments]
    span = max(days[-1], 1 / 24)
    ax.set_xlim(-0.03 * span, span * 1.03)
    return days


def trend_figure(scans):
    """Each condition's match over the scans that got a class, over real time as on the history page's chart
    (a scan a month later sits a month further right), straight lines between real scans; dates under it as
    the pages write them, with the time of day when the scans lie within two days. None without such scans."""
    points = [s for s in scans if s.label in CONDITIONS]
    if not points:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.2, 3.0), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    moments = [s.created_at for s in points]
    days = _date_axis(ax, moments, with_time=moments[-1] - moments[0] < timedelta(days=2))
    for condition in CONDITIONS:
        style = results.CHART_STYLES[condition]
        values = [100 * float(s.probabilities.get(condition, 0.0)) for s in points]
        ax.plot(days, values, color=style["colour"], marker=style["marker"], linewidth=1.6, markersize=4,
                label=results.condition_title(condition))
    ax.set_ylim(0, 100)
    ax.set_ylabel(_("Match (%)"))
    ax.grid(alpha=.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    return fig


def trend_chart_png(scans) -> bytes | None:
    return _png(trend_figure(scans))


def _png(fig) -> bytes | None:
    if fig is None:
        return None
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def lesion_points(scans) -> list[tuple]:
    """(scan, its front photo's findings) for the scans with a class and lesion findings, oldest first."""
    found = [(s, lesion_readout.findings(s.first_photo)) for s in scans if s.label in CONDITIONS]
    return [(s, f) for s, f in found if f is not None]


def lesion_figure(scans):
    """The spots counted on each scan over real time (a scan a month later sits a month further right, as on
    the history page), dates under it in the person's time zone and date style; None without findings."""
    points = lesion_points(scans)
    if not points:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.2, 2.6), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    moments = [s.created_at for s, _f in points]
    days = _date_axis(ax, moments, with_time=moments[-1] - moments[0] < timedelta(days=2))
    ax.plot(days, [f.count for _s, f in points], color=results.LESION_COLOUR, marker="o", linewidth=1.6,
            markersize=4)
    ax.set_ylim(bottom=0, top=max(5, max(f.count for _s, f in points) * 1.15))
    ax.set_ylabel(_("Spots (estimate)"))
    ax.grid(alpha=.3)
    return fig


def lesion_chart_png(scans) -> bytes | None:
    return _png(lesion_figure(scans))


def lesion_cell(scan) -> str:
    """The summary table's spots column: "14 (moderate)", "–" without findings."""
    found = lesion_readout.findings(scan.first_photo) if scan.label in CONDITIONS else None
    if found is None:
        return "–"
    name = lesion_readout.grade_name(found.grade) if scan.label == "acne" else ""
    return f"{found.count} ({name})" if name else str(found.count)


#: The summary table: its text's font and size, ReportLab's cell padding, and the width it fills (the page's).
SUMMARY_FONT, SUMMARY_BOLD_FONT, SUMMARY_FONT_SIZE = "Helvetica", "Helvetica-Bold", 9
SUMMARY_CELL_PADDING = 6  # points, left and right of each cell (ReportLab's default)
SUMMARY_WIDTH = 17 * cm
SUMMARY_NOTE_CHARACTERS = 120
LONGEST_WORD_SHARE = 0.2


def summary_rows(scans) -> list[list[str]]:
    """The summary table's text, the header row first: date, result, top match, spots, note."""
    rows = [[_("Date"), _("Result"), _("Top match"), _("Spots"), _("Note")]]
    for scan in scans:
        view = results.result_view(scan)
        top = percent(scan.top_probability) if view.has_class and scan.top_probability is not None else "–"
        rows.append([dates.when(scan.created_at), str(view.verdict), top, lesion_cell(scan),
                     scan.note[:SUMMARY_NOTE_CHARACTERS]])
    return rows


def _words(text: str) -> list[str]:
    """Where a paragraph may break a line: at spaces, never at a no-break space ("82\u00a0%" in Spanish)."""
    return re.split(r"[ \t\r\n]+", text.strip()) or [""]


def _text_width(text: str, font: str) -> float:
    return stringWidth(text, font, SUMMARY_FONT_SIZE)


def summary_column_widths(rows: list[list[str]], total: float = SUMMARY_WIDTH) -> list[float]:
    """Column widths from the text's measured widths, so that no cell's text runs into the next column
    ("Mayor coincidencia" ran into "Nota" in the Spanish report, issue 32 point 2). Each column is at least
    as wide as its longest word (cells wrap between words), and the room left goes first to the columns that
    need little more to hold their cells on one line; the note, the longest, wraps. Widths include padding."""
    fonts = [SUMMARY_BOLD_FONT] + [SUMMARY_FONT] * (len(rows) - 1)
    pad = 2 * SUMMARY_CELL_PADDING + 1  # a point's slack against rounding
    columns = range(len(rows[0]))
    # A word wider than LONGEST_WORD_SHARE of the table (a pasted link in a note) is broken inside instead.
    least = [min(max(_text_width(word, font) for row, font in zip(rows, fonts, strict=True)
                     for word in _words(row[i])) + pad, total * LONGEST_WORD_SHARE) for i in columns]
    # On one line if there is room: every cell but the headings, which may take two ("Mayor / coincidencia").
    whole = [max([least[i]] + [_text_width(row[i], SUMMARY_FONT) + pad for row in rows[1:]]) for i in columns]
    if sum(least) >= total:  # more long words than the page holds: shrink every column, and let them break
        return [total * w / sum(least) for w in least]
    widths = list(least)
    room = total - sum(least)
    wanting = sorted(columns, key=lambda i: whole[i] - least[i])
    for n, i in enumerate(wanting):
        share = room / (len(wanting) - n)  # an equal share of what is left; a column that needs less takes less
        given = min(whole[i] - least[i], share)
        widths[i] += given
        room -= given
    widths[wanting[-1]] += room  # the table spans the page: the widest column takes what nobody needed
    return widths


def summary_table(scans) -> Table:
    """Every scan of the report in a row; every cell a paragraph that wraps inside its column."""
    rows = summary_rows(scans)
    # spaceShrinkage 0: ReportLab otherwise fits a line up to 5 % of its spaces too long, and left-aligned
    # text then runs past the cell's edge (by 0.2 pt in "No se puede saber con esta" / "foto").
    cell = ParagraphStyle("summary", fontName=SUMMARY_FONT, fontSize=SUMMARY_FONT_SIZE, leading=11,
                          spaceShrinkage=0)
    head = ParagraphStyle("summary-head", parent=cell, fontName=SUMMARY_BOLD_FONT)
    note = ParagraphStyle("summary-note", parent=cell, textColor="#56606e")
    styled = [[Paragraph(escape(text), head) for text in rows[0]]]
    styled += [[Paragraph(escape(text), note if i == len(row) - 1 else cell) for i, text in enumerate(row)]
               for row in rows[1:]]
    table = Table(styled, colWidths=summary_column_widths(rows), repeatRows=1)
    table.setStyle(TableStyle([
        ("LEFTPADDING", (0, 0), (-1, -1), SUMMARY_CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), SUMMARY_CELL_PADDING),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#dde3ea")), ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def _photo_flowable(photo, side_cm):
    """``photo``: a ScanPhoto, or None."""
    if photo is None or not photo.image:
        return None
    try:
        with photo.image.open("rb") as f:
            data = io.BytesIO(f.read())
    except (OSError, ValueError):
        return None
    width, height = (photo.image_width or 1, photo.image_height or 1)
    scale = side_cm * cm / max(width, height)
    return PdfImage(data, width=width * scale, height=height * scale)


def build_report_pdf(owner, period: ReportPeriod) -> bytes:
    scans = report_scans(owner, period)
    styles = getSampleStyleSheet()
    small = ParagraphStyle("small", parent=styles["BodyText"], fontSize=8.5, leading=11, textColor="#56606e")
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=10, leading=13)
    note_style = ParagraphStyle("disclaimer", parent=body, backColor="#fff8e1", borderColor="#d08c17",
                                borderWidth=0.5, borderPadding=6, spaceBefore=6, spaceAfter=10)
    site = settings.SITE_NAME
    name = getattr(owner, "display_name", "") or owner.email

    story = [
        Paragraph(escape(_("%(site)s skin report") % {"site": site}), styles["Title"]),
        Paragraph(_("For <b>%(name)s</b> · period: %(period)s · %(count)s · made %(made)s") % {
            "name": escape(name), "period": escape(period.describe()),
            "count": ngettext("%(n)d analysed scan", "%(n)d analysed scans", len(scans)) % {"n": len(scans)},
            "made": dates.when(timezone.now())}, body),
        Paragraph(escape(_(settings.DISCLAIMER)), note_style),
    ]
    if not scans:
        story.append(Paragraph(escape(_("There are no analysed scans in this period.")), body))
    else:
        chart = trend_chart_png(scans)
        story.append(Paragraph(escape(_("Trend")), styles["Heading2"]))
        if chart:
            story.append(PdfImage(io.BytesIO(chart), width=17 * cm, height=17 * cm * 3.0 / 7.2))
            story.append(Paragraph(escape(_("How closely each scan matched each condition (only scans with a "
                                            "result).")), small))
        else:
            story.append(Paragraph(escape(_("No scan in this period got a result for each condition, so there "
                                            "is no trend.")), body))
        lesion_chart = lesion_chart_png(scans)
        if lesion_chart:
            story.append(Paragraph(escape(_("Spots counted")), styles["Heading2"]))
            story.append(PdfImage(io.BytesIO(lesion_chart), width=17 * cm, height=17 * cm * 2.6 / 7.2))
            story.append(Paragraph(escape(_("The acne spots the model counted on each scan's front photo, over "
                                            "time. Counts are estimates, not a diagnosis: light, angle and "
                                            "make-up change them.")), small))
        story.append(Paragraph(escape(_("Summary")), styles["Heading2"]))
        story.append(summary_table(scans))
        story.append(Paragraph(escape(_("Scans")), styles["Heading2"]))
        for scan in scans:
            story.append(KeepTogether(_scan_block(scan, styles, body, small)))
    out = io.BytesIO()

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.HexColor("#56606e"))
        canvas.drawString(2 * cm, 1.2 * cm, _("%(site)s · screening aid, not a diagnosis") % {"site": site})
        canvas.drawRightString(A4[0] - 2 * cm, 1.2 * cm, _("Page %(n)d") % {"n": doc.page})
        canvas.restoreState()

    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=1.8 * cm,
                            bottomMargin=2 * cm, title=_("%(site)s skin report") % {"site": site}, author=site)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _scan_block(scan, styles, body, small):
    view = results.result_view(scan)
    text = [Paragraph(f"<b>{escape(dates.when(scan.created_at))}: {escape(view.verdict)}</b>", body)]
    if view.has_class:
        text.append(Paragraph(" · ".join(f"{title} {percent(p)}" for _c, title, p in view.probabilities), body))
        spots = lesion_readout.lesion_view(scan.first_photo, scan.label)
        if spots is not None:
            estimate = _("%(summary)s (an estimate by the model)") % {"summary": spots.summary}
            text.append(Paragraph(f"<b>{escape(estimate)}</b>", body))
            if spots.see_a_doctor:
                text.append(Paragraph(escape(spots.see_a_doctor), body))
    else:
        text.append(Paragraph(escape(view.reason), body))
    for message in view.quality_messages:
        text.append(Paragraph(escape(_("Photo: %(message)s") % {"message": message}), small))
    if scan.note:
        text.append(Paragraph(escape(_("Note: %(note)s") % {"note": scan.note}), body))
    review = selectors.clinician_review(scan)
    if review is not None:
        reviewed = _("Reviewed by a clinician: %(label)s") % {"label": review.label_display}
        text.append(Paragraph(escape(reviewed), small))
    photos = selectors.scan_photos(scan)
    if len(photos) > 1:  # what each photo showed on its own; the result above combines them
        for reading in results.photo_result_views(photos):
            line = f"{reading.view_title}: {reading.verdict}"
            if reading.top_probability is not None:
                line += f" {percent(reading.top_probability)}"
            for _name, words in reading.readout_lines:
                line += f" · {words}"
            if not reading.counted:
                line += " (" + _("not counted: %(why)s") % {"why": reading.not_counted_because} + ")"
            text.append(Paragraph(escape(line), small))
    photo = _photo_flowable(photos[0].files if photos else None, PHOTO_SIDE_CM)
    column = [photo] if photo else [Paragraph(escape(_("Photo deleted under the retention policy.")), small)]
    side_photos = [_photo_flowable(p.files, SIDE_PHOTO_CM) for p in photos[1:]]
    if any(side_photos):
        row = Table([[p or "" for p in side_photos]], colWidths=[(SIDE_PHOTO_CM + 0.2) * cm] * len(side_photos))
        row.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        column.append(row)
    cells = [[column, text]]
    block = Table(cells, colWidths=[(PHOTO_SIDE_CM + 0.4) * cm, 17 * cm - (PHOTO_SIDE_CM + 0.4) * cm])
    block.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, 0), 0)]))
    return [block, Spacer(1, 0.4 * cm)]
