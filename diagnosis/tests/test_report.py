"""The PDF report for the doctor, opened with pypdf and read page by page."""

import io
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from diagnosis.models import Scan
from diagnosis.tests.factories import ScanFactory
from tests.support import face_like_jpeg

pytestmark = pytest.mark.django_db


def scan_at(owner, days_ago, label, note="", **fields):
    probabilities = {"acne": 0.1, "eczema": 0.1, "healthy": 0.1, "rosacea": 0.1}
    if label in probabilities:
        probabilities[label] = 0.7
    scan = ScanFactory(owner=owner, label=label, note=note, probabilities=probabilities, top_probability=0.7,
                       image=ContentFile(face_like_jpeg((320, 400), seed=days_ago), name="p.jpg"), image_width=320,
                       image_height=400, **fields)
    Scan.objects.filter(id=scan.id).update(created_at=timezone.now() - timedelta(days=days_ago))
    return scan


def pdf_of(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    return PdfReader(io.BytesIO(response.content))


def text_of(reader):
    return "\n".join(page.extract_text() for page in reader.pages)


def test_report_has_the_scans_photos_notes_chart_and_disclaimer(user_client, user, other_user):
    scan_at(user, 30, "acne", note="Before the new cleanser")
    scan_at(user, 15, "uncertain", quality={"too_dark": True})
    scan_at(user, 2, "healthy", note="Six weeks on the cleanser")
    scan_at(other_user, 3, "rosacea", note="someone else's note")
    reader = pdf_of(user_client.get(reverse("diagnosis:report")))
    text = text_of(reader)
    assert len(reader.pages) >= 2
    for expected in ("skin report", "Likely acne", "Looks healthy", "Can't tell from this photo",
                     "Before the new cleanser", "Six weeks on the cleanser", "screening aid, not a diagnosis",
                     "3 analysed scans", "Trend", "The photo is too dark"):
        assert expected in text, expected
    assert "someone else" not in text and "Likely rosacea" not in text
    images = sum(len(page.images) for page in reader.pages)
    assert images == 4  # the trend chart and three photos
    assert "Page 2" in reader.pages[1].extract_text()


def test_report_covers_only_the_chosen_period(user_client, user):
    scan_at(user, 40, "acne", note="old one")
    scan_at(user, 5, "rosacea", note="recent one")
    since = (timezone.localdate() - timedelta(days=10)).isoformat()
    text = text_of(pdf_of(user_client.get(reverse("diagnosis:report"), {"date_from": since})))
    assert "recent one" in text and "old one" not in text and "1 analysed scan " in text


def test_report_with_no_scans_says_so(user_client):
    text = text_of(pdf_of(user_client.get(reverse("diagnosis:report"))))
    assert "There are no analysed scans in this period." in text


def test_report_with_a_backwards_period_is_a_400_with_the_reason(user_client):
    response = user_client.get(reverse("diagnosis:report"), {"date_from": "2026-05-01", "date_to": "2026-04-01"})
    assert response.status_code == 400
    assert "must not be after" in response.content.decode()
    bad = user_client.get(reverse("diagnosis:report"), {"date_from": "not-a-date"})
    assert bad.status_code == 400


def test_history_page_offers_the_report(user_client):
    html = user_client.get(reverse("diagnosis:history")).content.decode()
    assert 'action="/scans/report.pdf"' in html and "Download PDF report" in html


def summary_table_lines(reader):
    """The summary table's lines as drawn on each page: (page, x, y, font, text); ReportLab draws each
    wrapped line of a cell at the cell's left edge (pypdf: cm's x), its font size 9."""
    lines = []
    for number, page in enumerate(reader.pages):
        def seen(text, cm, tm, font, size, number=number):
            if size == 9 and text.strip() and font:
                lines.append((number, cm[4] + tm[4], cm[5] + tm[5], font["/BaseFont"].lstrip("/"), text.strip()))
        page.extract_text(visitor_text=seen)
    return lines


@pytest.mark.parametrize("language", ["es", "en-gb"])
def test_no_summary_cell_runs_into_the_next_column(user_client, user, language):
    """Issue 32, point 2: in Spanish "Mayor coincidencia" ran into "Nota". Each line of each cell, measured with
    the font it is drawn in, ends before the next column's text begins (less the cells' padding)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from diagnosis import report
    from diagnosis.tests.factories import acne_scan

    user.language = language
    user.save(update_fields=["language"])
    acne_scan(user, 30, days_ago=8)  # "30 (severe)" / "30 (grave)"
    scan_at(user, 7, "uncertain", note="After a week on the new cream the redness on my left cheek went down "
                                       "a lot, the right one less so, and it itched")
    scan_at(user, 6, "no_skin")
    scan_at(user, 5, "rosacea", note="https://example.com/a-very-long-address-that-fits-in-no-column-of-the-table")
    scan_at(user, 4, "eczema", note="Nota")
    reader = pdf_of(user_client.get(reverse("diagnosis:report")))
    lines = summary_table_lines(reader)
    headings = [line for line in lines if line[3] == report.SUMMARY_BOLD_FONT]
    first_page = headings[0][0]
    starts = sorted({round(x, 2) for page, x, _y, _f, _t in headings if page == first_page})
    assert len(starts) == 5, headings  # date, result, top match, spots, note
    expected = {"es": "Fecha Resultado Mayor coincidencia Granos Nota", "en-gb": "Date Result Top match Spots Note"}
    assert " ".join(t for page, *_rest, t in headings if page == first_page) == expected[language]
    right_edge = report.cm * 2 + report.SUMMARY_WIDTH  # the page's left margin plus the table
    edges = [*starts[1:], right_edge + report.SUMMARY_CELL_PADDING]
    cells = 0
    for _page, x, _y, font, text in lines:
        column = max(i for i, start in enumerate(starts) if start <= round(x, 2))
        ends = x + stringWidth(text, font, report.SUMMARY_FONT_SIZE)
        assert ends <= edges[column] - 2 * report.SUMMARY_CELL_PADDING + 0.01, (text, ends, edges[column])
        cells += 1
    assert cells > 20
