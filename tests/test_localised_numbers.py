"""Numbers meant for the browser are never localised: "0,6987" in a <meter>'s value, a data- attribute
or the charts' JSON is no number, and the Spanish result page showed every bar empty (issue 23, point 1).
The Spanish browser test that reads the meters' values is in tests/test_browser_pages.py."""

import json
import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from diagnosis.tests.factories import ScanFactory

pytestmark = pytest.mark.django_db

#: A decimal comma between digits: how Spanish writes 0.6987.
DECIMAL_COMMA = re.compile(r"\d,\d")
#: Attributes whose value is for people (dates such as "4 dic 2026, 12:26" have a space after the comma,
#: but a sentence may hold a localised number on purpose).
READ_BY_PEOPLE = {"alt", "title", "aria-label", "placeholder"}


class Attributes(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []  # (tag, attribute, value)
        self.scripts = []  # the text of <script type="application/json"> blocks
        self._in_json = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is not None and name not in READ_BY_PEOPLE:
                self.found.append((tag, name, value))
        self._in_json = tag == "script" and dict(attrs).get("type") == "application/json"

    def handle_data(self, data):
        if self._in_json:
            self.scripts.append(data)

    def handle_endtag(self, tag):
        self._in_json = False


def localised_numbers(html):
    parser = Attributes()
    parser.feed(html)
    bad = [(tag, name, value) for tag, name, value in parser.found if DECIMAL_COMMA.search(value)]
    for text in parser.scripts:  # json_script blocks: numbers are JSON numbers, never "0,5" strings
        bad += [("script", "json", v) for v in re.findall(r'"[^"]*"', text) if re.fullmatch(r'"-?\d+,\d+"', v)]
    return bad


@pytest.fixture
def spanish_reviewer(client, user):
    from review import services as review_services

    group, _ = review_services.ensure_reviewer_group()
    user.groups.add(group)
    user.language = "es"
    user.save(update_fields=["language"])
    client.force_login(user)
    return client


def test_no_page_writes_a_localised_number_into_an_attribute_or_json(spanish_reviewer, user, other_user):
    probabilities = {"acne": 0.6987, "eczema": 0.1234, "healthy": 0.1113, "rosacea": 0.0666}
    mine = ScanFactory(owner=user, label="acne", probabilities=probabilities, top_probability=0.6987,
                       heatmap_box=[0.125, 0.0833, 0.875, 0.7917])
    older = ScanFactory(owner=user, label="healthy", probabilities=probabilities, top_probability=0.6987)
    theirs = ScanFactory(owner=other_user, label="eczema", probabilities=probabilities, top_probability=0.6987)
    pages = [
        reverse("diagnosis:scan-detail", args=[mine.id]),
        reverse("diagnosis:history"),
        reverse("diagnosis:upload"),
        reverse("diagnosis:compare") + f"?scan={mine.id}&scan={older.id}",
        reverse("review:queue"),
        reverse("review:review-scan", args=[theirs.id]),
        reverse("review:dashboard"),
        reverse("profile"),
    ]
    for url in pages:
        response = spanish_reviewer.get(url)
        html = response.content.decode()
        assert response.status_code == 200 and '<html lang="es">' in html, url
        assert localised_numbers(html) == [], url
    # The meters carry the stored probability as the browser reads numbers.
    detail = spanish_reviewer.get(pages[0]).content.decode()
    assert re.findall(r'<meter[^>]*value="([^"]+)"', detail)[0] == "0.6987"
    review = spanish_reviewer.get(pages[5]).content.decode()
    assert "0.6987" in re.findall(r'<meter[^>]*value="([^"]+)"', review)
    # The chart's data: numbers are JSON numbers.
    chart = spanish_reviewer.get(reverse("diagnosis:chart-data"))
    assert not re.search(r'"-?\d+,\d+"', chart.content.decode())
    assert json.loads(chart.content)["points"][0]["probabilities"]["acne"] == 0.6987


def test_percentages_are_written_in_the_readers_language(client, user):
    """ "87 %" in Spanish (CLDR: a no-break space before the sign), "87%" in English: on the result page, the
    history list, the compare sentence and the PDF report (issue 32, point 1)."""
    from datetime import timedelta

    from django.utils import timezone

    from diagnosis.models import Scan

    client.force_login(user)
    before = ScanFactory(owner=user, label="acne", probabilities={"acne": 0.82, "eczema": 0.07, "healthy": 0.06,
                                                                  "rosacea": 0.05}, top_probability=0.82)
    Scan.objects.filter(id=before.id).update(created_at=timezone.now() - timedelta(days=3))
    after = ScanFactory(owner=user, label="acne", probabilities={"acne": 0.22, "eczema": 0.07, "healthy": 0.66,
                                                                 "rosacea": 0.05}, top_probability=0.66)
    result = reverse("diagnosis:scan-detail", args=[before.id])
    compare = reverse("diagnosis:compare") + f"?scan={before.id}&scan={after.id}"
    for language, written in (("en", "82%"), ("es", "82\u00a0%")):
        for url in (result, reverse("diagnosis:history"), compare):
            html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
            assert written in html, (language, url)
    assert "82 %" not in client.get(result, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    import io

    from pypdf import PdfReader

    for language, written in (("en", "82%"), ("es", "82\u00a0%")):
        pdf = client.get(reverse("diagnosis:report"), HTTP_ACCEPT_LANGUAGE=language)
        assert pdf.status_code == 200
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        assert written in text or written.replace("\u00a0", " ") in text, (language, text[:2000])
